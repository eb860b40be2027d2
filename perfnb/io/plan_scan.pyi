"""Moved to perfnb.scan.plans (issue 13); this stub keeps the old import path typed."""

from perfnb.scan.plans import *  # noqa: F403
