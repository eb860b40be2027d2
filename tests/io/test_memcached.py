from __future__ import annotations

import pytest

from perfnb.analysis.cache import summary
from perfnb.errors import FormatError
from perfnb.io.memcached import read_memcached_stats
from tests.conftest import DATA

STATS = DATA / "samples" / "cache" / "memcached_stats.txt"


def test_known_workload_hit_ratio():
    s = read_memcached_stats(STATS)
    assert len(s.snapshots) == 5
    assert summary(s)["hit_ratio"] == pytest.approx(0.8)


def test_missing_end(tmp_path):
    text = STATS.read_text()
    p = tmp_path / "stats.txt"
    p.write_text(text[: text.rindex("END")])
    with pytest.raises(FormatError, match=r"stats.txt:\d+: reply ends without END"):
        read_memcached_stats(p)
    assert len(read_memcached_stats(p, require_end=False).snapshots) == 5
