"""Moved to perfnb.model.loadtest (issue 13); this stub keeps the old import path typed."""

from perfnb.io.loadtests import *  # noqa: F403
from perfnb.model.loadtest import *  # noqa: F403
