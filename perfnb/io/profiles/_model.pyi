"""Moved to perfnb.model.profile (issue 13); this stub keeps the old import path typed."""

from perfnb.model.profile import *  # noqa: F403
