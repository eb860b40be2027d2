"""Moved to perfnb.scan.metrics (issue 13); this stub keeps the old import path typed."""

from perfnb.scan.metrics import *  # noqa: F403
