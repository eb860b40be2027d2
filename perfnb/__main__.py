"""``python -m perfnb`` runs the command line."""

from __future__ import annotations

import sys

from perfnb.cli import main

sys.exit(main())
