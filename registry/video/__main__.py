"""`python -m registry.video IN.mp4 --out OUT.mp4 …` (see cli.py)."""

import sys

from registry.video.cli import main

sys.exit(main())
