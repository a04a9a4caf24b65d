"""`python -m registry.evaluation DATA --backbones … --methods … --metrics … --out DIR` (see cli.py)."""

import sys

from registry.evaluation.cli import main

sys.exit(main())
