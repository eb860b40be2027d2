"""Finding rules grouped by domain; importing this package registers them all with :mod:`perfnb.findings`."""

from __future__ import annotations

# --- rule modules (one import per line; each registers its rules) ---
from perfnb.rules import (
    cache,  # noqa: F401
    history,  # noqa: F401
    loadtests,  # noqa: F401
    metrics,  # noqa: F401
    pg_stats,  # noqa: F401
    plans,  # noqa: F401
    profiles,  # noqa: F401
    regressions,  # noqa: F401
    vitals,  # noqa: F401
)
