"""`python -m registry.audit DATA --target CLASS …`: `cnnlens strategies` (see strategies_cli.py)."""

import sys

from registry.audit.strategies_cli import main

sys.exit(main())
