"""Moved to perfnb.model.plan (issue 13); this stub keeps the old import path typed."""

from perfnb.model.plan import *  # noqa: F403
