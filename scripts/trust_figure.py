"""Write docs/trust.png, the README's faithfulness plot: Grad-CAM of the espresso against random maps.

python scripts/trust_figure.py
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import registry  # noqa: E402

if __name__ == "__main__":
    image = ROOT / "examples" / "coffee.png"
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE)
    result = registry.get_plugin("gradcam").run(backbone, image)
    score = registry.faithfulness(backbone, image, result, steps=20, baseline="blur")
    score.figure.save(ROOT / "docs" / "trust.png", optimize=True)
    print(
        f"deletion {score.deletion_auc:.3f} (random {score.random_deletion_auc:.3f}), insertion "
        f"{score.insertion_auc:.3f} "
        f"(random {score.random_insertion_auc:.3f}) in {score.seconds:.1f} s → docs/trust.png {score.figure.size}"
    )
