"""Write docs/comparison.png, the README's comparison figure: three backbones × the three seed methods.

python scripts/comparison_figure.py
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import registry  # noqa: E402

if __name__ == "__main__":
    comparison = registry.compare(
        ROOT / "examples" / "cat.png",
        backbones=["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"],
    )
    comparison.figure.save(ROOT / "docs" / "comparison.png", optimize=True)
    print(f"{len(comparison.cells)} maps in {comparison.seconds:.2f} s → docs/comparison.png {comparison.figure.size}")
