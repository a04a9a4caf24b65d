"""`python -m registry.audit DATA --target CLASS …`: `cnnlens strategies` (see cli.py)."""

import sys

from registry.audit.cli import main

sys.exit(main())
