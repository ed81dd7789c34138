"""``python -m scoring`` runs the psyscore command line."""

import sys

from scoring.cli import main

sys.exit(main())
