"""Declarations of every table perfnb outputs, and the code that makes a frame conform to one.

Each reader ends with ``return SOME_SCHEMA.conform(df)``: columns are put in the declared order, cast to the
declared dtypes, optional columns that the source lacks are added as missing values, and a required column
that is absent raises :class:`~perfnb.errors.SchemaError` (a bug in perfnb, or a frame a user built by hand).
Tests call :func:`assert_conforms`. The README's format reference is generated from these declarations by
``perfnb schemas --update-readme README.md`` (and a test keeps the README in sync), so a column is documented exactly once.

Conventions (CONVENTIONS C.4): snake_case names; durations float seconds ``*_s``; sizes bytes ``*_bytes``;
fractions ``*_ratio`` in 0–1; rates ``*_per_s``; counts are bare plurals (``int64`` or nullable ``Int64``);
``timestamp`` is ``datetime64[ns, UTC]``; labels ``category``; free text pandas ``string``; provenance
columns ``source`` (the tool) and ``run`` (a user label, default the file stem).

Source modules declare their tables here with :func:`register`, so that :data:`SCHEMAS` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from perfnb.errors import SchemaError

__all__ = [
    "SCHEMAS",
    "Column",
    "Schema",
    "assert_conforms",
    "markdown_reference",
    "register",
]

Dtype = Literal[
    "float64", "int64", "Int64", "boolean", "bool", "string", "category", "timestamp", "object"
]

_PANDAS_DTYPE = {
    "float64": "float64",
    "int64": "int64",
    "Int64": "Int64",
    "boolean": "boolean",
    "bool": "bool",
    "string": "string",
    "category": "category",
    "timestamp": "datetime64[ns, UTC]",
    "object": "object",
}


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    name
        snake_case column name.
    dtype
        One of ``float64``, ``int64``, ``Int64`` (nullable), ``boolean`` (nullable), ``bool``, ``string``,
        ``category``, ``timestamp`` (``datetime64[ns, UTC]``), ``object``.
    unit
        ``"s"``, ``"bytes"``, ``"ratio"``, ``"1/s"``, ``"blocks"`` … or ``None`` for unitless values.
    doc
        One sentence for the format reference.
    required
        Whether a reader must provide it; optional columns are added as missing values.
    """

    name: str
    dtype: Dtype
    unit: str | None = None
    doc: str = ""
    required: bool = True

    @property
    def pandas_dtype(self) -> str:
        """The dtype string pandas understands."""
        return _PANDAS_DTYPE[self.dtype]


@dataclass(frozen=True)
class Schema:
    """A named table: its columns, in order, and whether extra columns are allowed.

    Parameters
    ----------
    name
        Table name (``profile_functions``).
    columns
        The declared columns, in output order.
    doc
        One paragraph for the format reference.
    extra
        ``"allow"`` keeps undeclared columns after the declared ones (metric label columns);
        ``"drop"`` removes them; ``"error"`` raises.
    """

    name: str
    columns: tuple[Column, ...]
    doc: str = ""
    extra: Literal["allow", "drop", "error"] = "drop"
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"schema {self.name}: duplicate column names")
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        """Column names in declared order."""
        return [c.name for c in self.columns]

    def empty(self) -> pd.DataFrame:
        """An empty frame with this schema's columns and dtypes."""
        return self.conform(pd.DataFrame({c.name: [] for c in self.columns if c.required}))

    def conform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return *df* with the declared column order and dtypes.

        Raises
        ------
        SchemaError
            If a required column is missing, a value cannot be cast, or (``extra="error"``) an undeclared
            column is present.
        """
        missing = [c.name for c in self.columns if c.required and c.name not in df.columns]
        if missing:
            raise SchemaError(
                f"table {self.name!r} lacks column(s) {', '.join(map(repr, missing))}",
                expected=f"columns {', '.join(self.names)}",
            )
        extras = [c for c in df.columns if c not in self._by_name]
        if extras and self.extra == "error":
            raise SchemaError(
                f"table {self.name!r} has undeclared column(s) {', '.join(map(repr, extras))}",
                expected=f"only {', '.join(self.names)}",
            )
        out: dict[str, pd.Series] = {}
        n = len(df)
        for col in self.columns:
            if col.name in df.columns:
                series = df[col.name]
            else:
                series = pd.Series([None] * n, index=df.index, dtype="object")
            out[col.name] = _cast(series, col, self.name)
        if extras and self.extra == "allow":
            for name in extras:
                out[str(name)] = df[name]
        # the columns were cast (copied where needed) above; do not copy them again
        result = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
        result.attrs = dict(df.attrs)
        return result

    def markdown(self) -> str:
        """The table as a Markdown section (for the README's format reference)."""
        lines = [f"#### `{self.name}`", ""]
        if self.doc:
            lines += [self.doc, ""]
        lines += ["| column | dtype | unit | description |", "|---|---|---|---|"]
        for c in self.columns:
            req = "" if c.required else " (optional)"
            lines.append(f"| `{c.name}` | {c.dtype} | {c.unit or ''} | {c.doc}{req} |")
        if self.extra == "allow":
            lines += ["", "Further columns are allowed (for example one per metric label)."]
        return "\n".join(lines)


def _cast(series: pd.Series, col: Column, table: str) -> pd.Series:
    series = series.reset_index(drop=True)
    target: Any = col.pandas_dtype
    if str(series.dtype) == target:
        return series
    try:
        if col.dtype == "timestamp":
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                s = (
                    series
                    if getattr(series.dt, "tz", None) is not None
                    else series.dt.tz_localize("UTC")
                )
                converted: pd.Series = s.dt.tz_convert("UTC").astype(target)
                return converted
            return pd.to_datetime(series, utc=True).astype(target)
        if col.dtype in ("int64", "bool") and series.isna().any():
            raise SchemaError(
                f"table {table!r}: column {col.name!r} has missing values",
                key=col.name,
                expected=f"{col.dtype} without missing values (declare it nullable)",
            )
        if col.dtype == "float64":
            return pd.to_numeric(series, errors="raise").astype("float64")
        if col.dtype == "Int64" and series.dtype == object:
            return pd.to_numeric(series, errors="raise").astype("Int64")
        if col.dtype == "boolean" and series.dtype == object:
            return series.astype("boolean")
        if col.dtype == "string":
            return series.astype("string")
        if col.dtype == "category":
            return series.astype("category")
        return series.astype(target)
    except SchemaError:
        raise
    except (TypeError, ValueError) as err:
        raise SchemaError(
            f"table {table!r}: column {col.name!r} cannot be cast to {col.dtype}: {err}",
            key=col.name,
        ) from err


def assert_conforms(df: pd.DataFrame, schema: Schema) -> None:
    """Raise :class:`~perfnb.errors.SchemaError` unless *df* already has *schema*'s columns and dtypes.

    Examples
    --------
    >>> s = Schema("t", (Column("x_s", "float64"),))
    >>> assert_conforms(s.conform(pd.DataFrame({"x_s": [1]})), s)
    """
    declared = schema.names
    got = [c for c in df.columns if c in schema]
    if got != [c for c in declared if c in df.columns]:
        raise SchemaError(
            f"table {schema.name!r}: columns out of order", expected=", ".join(declared)
        )
    for col in schema.columns:
        if col.name not in df.columns:
            if col.required:
                raise SchemaError(f"table {schema.name!r} lacks column {col.name!r}")
            raise SchemaError(
                f"table {schema.name!r} lacks optional column {col.name!r} (conform adds it)"
            )
        if str(df[col.name].dtype) != col.pandas_dtype:
            raise SchemaError(
                f"table {schema.name!r}: column {col.name!r} has dtype {df[col.name].dtype}",
                key=col.name,
                expected=col.pandas_dtype,
            )
    if schema.extra != "allow":
        extra = [c for c in df.columns if c not in schema]
        if extra:
            raise SchemaError(f"table {schema.name!r} has undeclared columns {extra!r}")
    if not isinstance(df.index, pd.RangeIndex):
        raise SchemaError(
            f"table {schema.name!r}: index is {type(df.index).__name__}, expected RangeIndex"
        )


#: Every declared table, by name, in registration order.
SCHEMAS: dict[str, Schema] = {}


def register(schema: Schema) -> Schema:
    """Add *schema* to :data:`SCHEMAS` and return it (source modules call this at import)."""
    if schema.name in SCHEMAS and SCHEMAS[schema.name] != schema:
        raise ValueError(f"schema {schema.name!r} declared twice")
    SCHEMAS[schema.name] = schema
    return schema


def columns(*cols: Column) -> tuple[Column, ...]:
    """Small helper for declarations: ``Schema("x", columns(Column(...), ...))``."""
    return tuple(cols)


PROVENANCE: tuple[Column, ...] = (
    Column("source", "category", doc="The tool that wrote the input (``pstats``, ``locust`` …)."),
    Column(
        "run", "category", doc="A label for the run; default the file stem. Used to compare runs."
    ),
)

FINDINGS = register(
    Schema(
        "findings",
        (
            Column("rule", "string", doc="Stable rule code, e.g. ``PG003``."),
            Column("name", "string", doc="Rule slug, e.g. ``seq-scan-filter``."),
            Column("severity", "category", doc="``info`` < ``warning`` < ``critical``."),
            Column("title", "string", doc="One line saying what was found."),
            Column("location", "string", doc="Where: function, plan node, endpoint, metric."),
            Column("recommendation", "string", doc="What to do about it."),
            Column("run", "string", doc="Run label, if the finding belongs to one."),
            Column("evidence", "object", doc="Mapping of named values (units in the names)."),
        ),
        doc="``Findings.to_frame()``: one row per finding, most severe first.",
    )
)


def markdown_reference(schemas: Iterable[Schema] | None = None) -> str:
    """Markdown for every registered table.

    Every table is registered by then: importing any perfnb module imports the package first, and the
    package imports every module that declares one.
    """
    items = list(schemas) if schemas is not None else list(SCHEMAS.values())
    return "\n\n".join(s.markdown() for s in items) + "\n"


_BEGIN = "<!-- schema-reference:begin -->"
_END = "<!-- schema-reference:end -->"


def update_readme(path: str) -> bool:
    """Rewrite the generated format reference between the README's markers; return whether it changed."""
    from pathlib import Path

    readme = Path(path)
    text = readme.read_text(encoding="utf-8")
    if _BEGIN not in text or _END not in text:
        raise ValueError(f"{path}: markers {_BEGIN} … {_END} not found")
    head, rest = text.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    new = f"{head}{_BEGIN}\n\n{markdown_reference().strip()}\n\n{_END}{tail}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
