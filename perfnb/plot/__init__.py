"""Figures: Plotly for the interactive views, matplotlib for static export; never ``show()``.

Interactive views (one ``plot_*`` per view, each returning a ``plotly.graph_objects.Figure``):
:mod:`~perfnb.plot.flame` (flame graphs), :mod:`~perfnb.plot.plan_tree` (collapsible plan trees, HTML),
:mod:`~perfnb.plot.loadtest_views`, :mod:`~perfnb.plot.timeline`, :mod:`~perfnb.plot.vitals_views`;
:func:`perfnb.plot.interactive.show` displays one with plotly.js inlined once per kernel.
Static figures follow seaborn's ``plot_<thing>(data, *, ax=None, ...)`` returning the Axes:
:mod:`~perfnb.plot.profiles`, :mod:`~perfnb.plot.latency`, :mod:`~perfnb.plot.plans`,
:mod:`~perfnb.plot.trends`, :mod:`~perfnb.plot.vitals`.
"""

from __future__ import annotations
