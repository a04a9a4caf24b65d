"""Write docs/create.png, the README's Create picture: the cat sample, The Starry Night (bundled), the cat in its
style, and a DeepDream of the cat, side by side at a modest size.

python scripts/create_figure.py
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from PIL import Image, ImageDraw, ImageOps  # noqa: E402

import registry  # noqa: E402

SIDE = 192  # each panel's side in the strip

if __name__ == "__main__":
    backbone = registry.load_backbone(registry.DEFAULT_BACKBONE)
    cat = ROOT / "examples" / "cat.png"
    styled = registry.get_plugin("style_transfer").run(
        backbone,
        cat,
        style="starry-night",
        steps=100,
        size=SIDE,
        optimizer="adam",  # as docs/create.png was made
    )
    dreamed = registry.get_plugin("deep_dream").run(backbone, cat, layer="bn2", size=SIDE)
    panels = [
        (styled.images[1], "the cat sample"),
        (styled.images[2], "style: The Starry Night"),
        (styled.images[0], "style transfer"),
        (dreamed.images[0], "DeepDream of bn2"),
    ]
    strip = Image.new("RGB", (SIDE * len(panels), SIDE + 22), "white")
    draw = ImageDraw.Draw(strip)
    for index, (picture, caption) in enumerate(panels):
        fitted = ImageOps.fit(picture.convert("RGB"), (SIDE, SIDE), Image.Resampling.LANCZOS)
        strip.paste(fitted, (index * SIDE, 22))
        draw.text((index * SIDE + 6, 5), caption, fill="black")
    strip.save(ROOT / "docs" / "create.png", optimize=True)
    print(*styled.notes, *dreamed.notes, f"→ docs/create.png {strip.size}", sep="\n")
