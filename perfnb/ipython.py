"""IPython integration, imported only by ``%load_ext perfnb``.

It registers ``%perfnb_read PATH``, which loads a file with :func:`perfnb.read` into ``_perfnb`` and displays
its findings. Source modules may add their own helpers here (e.g. opening snakeviz on a profile).
"""

from __future__ import annotations

from typing import Any

__all__ = ["load"]


def load(ipython: Any) -> None:
    """Register perfnb's magics on *ipython*."""

    def perfnb_read(line: str) -> Any:
        import perfnb

        obj = perfnb.read(line.strip())
        ipython.user_ns["_perfnb"] = obj
        return perfnb.check(obj)

    ipython.register_magic_function(perfnb_read, "line", "perfnb_read")
