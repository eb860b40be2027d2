"""Profile writers: speedscope JSON (validated against speedscope's schema) and folded stacks."""

from __future__ import annotations

import json

import jsonschema
import pytest

import perfnb
from perfnb.io.profiles import read_folded, read_speedscope
from perfnb.io.profiles.writers import weighted_stacks
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"
FILES = [
    "cprofile_after.prof",
    "cprofile_before.prof",
    "pyspy_after.raw.txt",
    "pyspy_before.speedscope.json",
    "pyspy_before.chrometrace.json",
    "pyinstrument_after.json",
]

# speedscope's published https://www.speedscope.app/file-format-schema.json (generated from
# src/lib/file-format-spec.ts by typescript-json-schema), restated with the same definitions and rules.
_NUM = {"type": "number"}
SPEEDSCOPE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$ref": "#/definitions/FileFormat.File",
    "definitions": {
        "FileFormat.File": {
            "type": "object",
            "required": ["$schema", "profiles", "shared"],
            "properties": {
                "$schema": {
                    "type": "string",
                    "const": "https://www.speedscope.app/file-format-schema.json",
                },
                "activeProfileIndex": _NUM,
                "exporter": {"type": "string"},
                "name": {"type": "string"},
                "profiles": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/FileFormat.Profile"},
                },
                "shared": {
                    "type": "object",
                    "required": ["frames"],
                    "properties": {
                        "frames": {
                            "type": "array",
                            "items": {"$ref": "#/definitions/FileFormat.Frame"},
                        }
                    },
                },
            },
        },
        "FileFormat.Frame": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "file": {"type": "string"},
                "line": _NUM,
                "col": _NUM,
            },
        },
        "FileFormat.Profile": {
            "anyOf": [
                {"$ref": "#/definitions/FileFormat.EventedProfile"},
                {"$ref": "#/definitions/FileFormat.SampledProfile"},
            ]
        },
        "FileFormat.ValueUnit": {
            "type": "string",
            "enum": ["bytes", "microseconds", "milliseconds", "nanoseconds", "none", "seconds"],
        },
        "FileFormat.SampledProfile": {
            "type": "object",
            "required": ["endValue", "name", "samples", "startValue", "type", "unit", "weights"],
            "properties": {
                "type": {"type": "string", "const": "sampled"},
                "name": {"type": "string"},
                "unit": {"$ref": "#/definitions/FileFormat.ValueUnit"},
                "startValue": _NUM,
                "endValue": _NUM,
                "samples": {"type": "array", "items": {"type": "array", "items": _NUM}},
                "weights": {"type": "array", "items": _NUM},
            },
        },
        "FileFormat.EventedProfile": {
            "type": "object",
            "required": ["endValue", "events", "name", "startValue", "type", "unit"],
            "properties": {
                "type": {"type": "string", "const": "evented"},
                "name": {"type": "string"},
                "unit": {"$ref": "#/definitions/FileFormat.ValueUnit"},
                "startValue": _NUM,
                "endValue": _NUM,
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["at", "frame", "type"],
                        "properties": {
                            "at": _NUM,
                            "frame": _NUM,
                            "type": {"type": "string", "enum": ["O", "C"]},
                        },
                    },
                },
            },
        },
    },
}


def test_schema_accepts_real_speedscope_files() -> None:
    """The restated schema accepts what py-spy wrote, so it is no stricter than speedscope's."""
    doc = json.loads((S / "pyspy_before.speedscope.json").read_text())
    # py-spy writes null for optional fields (col, activeProfileIndex), which speedscope tolerates
    # but its schema does not: drop them before validating
    doc = {k: v for k, v in doc.items() if v is not None}
    doc["shared"]["frames"] = [
        {k: v for k, v in f.items() if v is not None} for f in doc["shared"]["frames"]
    ]
    jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)


@pytest.mark.parametrize("name", FILES)
def test_to_speedscope_validates_and_round_trips(name: str, tmp_path) -> None:
    prof = perfnb.read_profile(S / name)
    out = tmp_path / "x.speedscope.json"
    doc = prof.to_speedscope(out)
    jsonschema.validate(json.loads(out.read_text()), SPEEDSCOPE_SCHEMA)
    for p in doc["profiles"]:
        assert len(p["samples"]) == len(p["weights"])
        assert all(0 <= i < len(doc["shared"]["frames"]) for s in p["samples"] for i in s)
    back = read_speedscope(out)
    assert back.total_time_s == pytest.approx(prof.total_time_s, rel=1e-9)
    own = prof.functions.groupby("function")["self_time_s"].sum()
    own_back = back.functions.groupby("function")["self_time_s"].sum()
    assert own_back.reindex(own.index).to_numpy() == pytest.approx(own.to_numpy(), abs=1e-9)
    if not prof.has_stacks:
        assert "estimated" in doc["profiles"][0]["name"]


@pytest.mark.parametrize("name", FILES)
def test_to_folded_round_trips(name: str, tmp_path) -> None:
    prof = perfnb.read_profile(S / name)
    out = tmp_path / "x.folded"
    text = prof.to_folded(out)
    assert text.endswith("\n") and ";" in text
    back = read_folded(out, sample_interval_s=1e-6)
    # counts are whole microseconds: one rounding per distinct stack at most
    assert back.total_time_s == pytest.approx(prof.total_time_s, abs=1e-6 * text.count("\n"))
    # file and line survive the py-spy-style frame text
    assert (back.functions["file"] != "").any()


def test_folded_keeps_sample_counts() -> None:
    prof = perfnb.read_profile(S / "pyspy_after.raw.txt")
    text = prof.to_folded(unit_s=0)
    total = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines())
    assert total == int(prof.stacks["samples"].sum())
    with pytest.raises(ValueError, match="sample counts"):
        perfnb.read_profile(S / "cprofile_after.prof").to_folded(unit_s=0)


def test_pstats_stacks_are_an_estimate_with_exact_self_times() -> None:
    prof = perfnb.read_profile(S / "cprofile_after.prof")
    st = weighted_stacks(prof)
    assert st.estimated
    assert st.total_s == pytest.approx(prof.total_time_s, rel=1e-9)
    assert max(len(p) for _, p, _ in st) > 4, "real call paths, not only flat functions"
