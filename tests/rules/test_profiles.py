"""Profile rules on the real samples: findings name the real hot spots."""

from __future__ import annotations

import perfnb
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


def test_check_names_the_real_hot_spots() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    found = perfnb.check(prof)
    by_rule = {f.rule: f for f in found}
    assert "checksum" in by_rule["PR001"].location
    assert by_rule["PR001"].evidence["category"] == "own"
    assert "checksum" in by_rule["PR002"].title
    assert "(waiting (" in by_rule["PR002"].title
    assert "builtins.ord" in by_rule["PR003"].location  # 3.4 M calls at ~40 ns
    assert by_rule["PR005"].evidence["waiting_ratio"] >= 0.3


def test_thresholds_can_be_overridden() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    assert not perfnb.check(prof, profile_dominant_self_ratio=0.9).by_rule("PR001")
    assert not perfnb.check(prof, profile_waiting_max_ratio=0.99).by_rule("PR005")


def test_regression_rule_on_a_diff() -> None:
    diff = perfnb.compare_profiles(
        perfnb.read_profile(S / "cprofile_before.prof"),
        perfnb.read_profile(S / "cprofile_after.prof"),
    )
    found = perfnb.check(diff, profile_regression_min_ratio=0.005)
    assert found.by_rule("PR006")
    assert all(f.evidence["self_after_s"] > f.evidence["self_before_s"] for f in found)


def test_recursion_rule(corpus) -> None:
    prof = perfnb.read_pstats(corpus / "profiles/pstats/gprof2dot/memtrail.pstats")
    for f in perfnb.check(prof).by_rule("PR004"):
        assert f.evidence["calls"] >= 10 * f.evidence["primitive_calls"]


def test_own_code_hot_spot_when_waits_dominate() -> None:
    prof = perfnb.read_profile(S / "cprofile_after.prof")
    found = perfnb.check(prof).by_rule("PR007")
    assert len(found) == 1
    assert found[0].location.startswith("checksum")


def test_lock_primitive_names_the_waiting_caller() -> None:
    # issue 16.4: the demo shop's top self time is _thread.lock.acquire; its call edges lead through
    # threading.Condition.wait and queue.Queue.get to the shop's connection pool
    prof = perfnb.read_profile(SAMPLES / "demo" / "profile.pstats")
    pr1 = perfnb.check(prof).by_rule("PR001")
    lock = [f for f in pr1 if f.evidence.get("wait_kind") == "lock"]
    assert len(lock) == 1
    f = lock[0]
    assert f.location.startswith("connection (demo/shop.py")
    assert "queue.Queue" in f.title and "acquire" in f.title
    assert "optimise this function" not in (f.title + f.recommendation).lower()
    w = f.evidence["waiters"]
    assert w["ratio"].iloc[0] > 0.9 and "get (queue.py" in w["via"].iloc[0]
    pr2 = perfnb.check(prof).by_rule("PR002")[0]
    assert "in connection (demo/shop.py" in pr2.title


def test_no_memoise_advice_for_import_recursion(tmp_path) -> None:
    # issue 15: importlib's _load_unlocked re-enters itself on nested imports; that is not user code
    import subprocess
    import sys

    script = tmp_path / "imports.py"
    script.write_text(
        "import email.mime.multipart, http.client, xml.dom.minidom, logging.handlers\n"
    )
    out = tmp_path / "imports.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(script)], check=True)
    prof = perfnb.read_pstats(out)
    f = prof.functions
    frozen = f[f["file"].astype(str).str.startswith("<frozen importlib")]
    assert (
        (frozen["calls"] >= 10 * frozen["primitive_calls"]) & (frozen["total_ratio"] > 0.05)
    ).any()
    assert not perfnb.check(prof).by_rule("PR004")


def test_windows_stdlib_is_not_own_code(tmp_path) -> None:
    # issue 15: a Windows CPython's lowercase ...\lib\ standard library was classed as the user's code;
    # the profile is a real dump whose paths are rewritten as a Windows install would write them
    import marshal

    from perfnb.analysis.profiles import classify

    def win(path: str) -> str:
        if "/lib/python3" in path:
            tail = path.split("/lib/python3.11/", 1)[1].replace("/", "\\")
            if tail.startswith("site-packages"):
                return r"C:\Users\dev\proj\.venv\Lib" + "\\" + tail
            return r"C:\Users\dev\AppData\Local\Programs\Python\Python311\lib" + "\\" + tail
        if path.startswith("/"):
            return r"C:\Users\dev\proj" + "\\" + path.rsplit("/", 1)[1]
        return path

    def key(k: tuple) -> tuple:
        return (win(k[0]), *k[1:])

    stats = marshal.loads((S / "cprofile_before.prof").read_bytes())  # noqa: S302 - our own sample
    rewritten = {key(k): (*v[:4], {key(c): e for c, e in v[4].items()}) for k, v in stats.items()}
    out = tmp_path / "windows.prof"
    out.write_bytes(marshal.dumps(rewritten))
    linux = classify(perfnb.read_pstats(S / "cprofile_before.prof").functions)
    wprof = perfnb.read_pstats(out)
    windows = classify(wprof.functions)
    assert windows["file"].str.contains(r"\\lib\\json\\", regex=True).any()
    by = lambda d: d.groupby("origin", observed=True)["self_time_s"].sum().round(9).to_dict()  # noqa: E731
    assert by(windows) == by(linux)
    assert set(windows.loc[windows["origin"] == "own", "function"]) == set(
        linux.loc[linux["origin"] == "own", "function"]
    )
    pr7 = perfnb.check(wprof).by_rule("PR001")
    assert pr7 and pr7[0].location.startswith("checksum")
