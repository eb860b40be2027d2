"""Model: the pure data objects every reader returns (Profile, Plan, LoadTest, Metrics, CacheStats …).

Models import only the core modules (:mod:`perfnb.errors`, :mod:`perfnb.schema`, :mod:`perfnb.units`,
:mod:`perfnb._html`). The conveniences that need a higher layer (``profile.hotspots()``, ``plan.plot()``,
``lt.check()``) are attached from above by :mod:`perfnb._bind`, the way pandas binds ``DataFrame.plot``.
"""

from __future__ import annotations
