"""Fuzz targets for the plan readers: EXPLAIN JSON (raw and psql-framed), auto_explain logs, pg_stat_statements."""

from __future__ import annotations

from perfnb.io.auto_explain import read_auto_explain
from perfnb.io.explain import read_plans
from perfnb.io.pg_stat_statements import read_pg_stat_statements
from tests.conftest import SAMPLES
from tests.fuzz_targets._base import FuzzTarget

PLANS = SAMPLES / "plans"

TARGETS = [
    FuzzTarget(
        format="explain",
        reader=read_plans,
        samples=(
            PLANS / "subplans.json",
            PLANS / "parallel.json",
            PLANS / "psql_framed.txt",
            PLANS / "no_analyze.json",
            PLANS / "subplans_text.txt",
        ),
    ),
    FuzzTarget(
        format="auto_explain",
        reader=read_auto_explain,
        samples=(
            PLANS / "auto_explain" / "postgresql.log",
            PLANS / "auto_explain" / "postgresql.csv",
            PLANS / "auto_explain" / "postgresql.json",
        ),
    ),
    FuzzTarget(
        format="pg_stat_statements",
        reader=read_pg_stat_statements,
        samples=(PLANS / "pg_stat_statements.csv",),
    ),
]
