from __future__ import annotations

import pytest

import perfnb
from perfnb.errors import EmptyInputError, InputError, UnknownFormatError
from perfnb.io._common import BadLines, decode_text, run_label


def test_unknown_format_names_the_file_and_lists_formats(tmp_path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a profile\n")
    with pytest.raises(UnknownFormatError) as info:
        perfnb.read(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: not a format perfnb can read; expected one of: ")
    assert "\n" not in msg


def test_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        perfnb.read(tmp_path / "nope.json")


def test_empty_file(tmp_path) -> None:
    p = tmp_path / "empty.json"
    p.write_bytes(b"")
    with pytest.raises(EmptyInputError, match="file is empty"):
        perfnb.read(p)


def test_empty_folder_is_unknown(tmp_path) -> None:
    with pytest.raises(EmptyInputError, match="no readable files"):
        perfnb.read(tmp_path)


def test_decode_text_handles_boms_and_reports_offsets() -> None:
    assert decode_text("a;b 1\n".encode("utf-16")) == "a;b 1\n"
    assert decode_text(b"\xef\xbb\xbfx") == "x"
    with pytest.raises(InputError, match=r"^line 2: bytes at offset 4 are not utf-8"):
        decode_text(b"ab\nc\xff", path=None)


def test_bad_lines_modes(tmp_path) -> None:
    import pandas as pd

    from perfnb.errors import FormatError, SkippedRowsWarning

    with pytest.raises(FormatError, match=r"x.csv:7: ragged row"):
        BadLines("error", path=tmp_path / "x.csv").add(7, "ragged row")
    bad = BadLines("warn", path=tmp_path / "x.csv")
    bad.add(7, "ragged row")
    df = pd.DataFrame()
    with pytest.warns(SkippedRowsWarning, match="skipped 1 unreadable row"):
        bad.finish(df)
    assert df.attrs["perfnb"]["skipped_rows"] == 1
    with pytest.raises(InputError, match="on_bad_lines='drop'"):
        BadLines("drop")  # type: ignore[arg-type]


def test_run_label() -> None:
    assert run_label("/x/run1_stats.csv", None) == "run1_stats"
    assert run_label("/x/run1_stats.csv", "base") == "base"
