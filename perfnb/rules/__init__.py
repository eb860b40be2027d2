"""Finding rules grouped by domain; importing this package registers them all with :mod:`perfnb.findings`."""

from __future__ import annotations

# --- rule modules (one import per line; each registers its rules) ---
