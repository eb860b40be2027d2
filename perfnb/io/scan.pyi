"""Moved to perfnb.scan.loadtest (issue 13); this stub keeps the old import path typed."""

from perfnb.scan.loadtest import *  # noqa: F403
