"""The data module, as the engine sees it: typed, frozen configuration with a description on
every field.

A data module's document on disk is JSON-LD in the Croissant vocabulary (see
``privetl.engine.jsonld``, which parses it into these models and writes them back). The
engine never reads the JSON-LD directly: every stage takes a ``DataModule``. Cross-reference
checks (a key naming an unknown column, a cycle of foreign keys, ...) live in
``privetl.engine.validate`` so that every mistake is reported with its JSON path at once,
instead of pydantic stopping at the first.

Conventions used by every stage:

- Column and table names are case-sensitive; a column always belongs to its table.
- ``SourceScript.priority``: the higher number wins a primary-key conflict.
- Staged rows carry three technical columns (``STAGE_COLUMNS``): the source id, its
  priority and the row's ordinal within that source; ``record_key`` falls back to them for
  tables without a primary key, so every row has a stable identity for seeded operations.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SOURCE_ID = "_src_id"
SOURCE_PRIORITY = "_src_priority"
SOURCE_ROW = "_src_row"
STAGE_COLUMNS = (SOURCE_ID, SOURCE_PRIORITY, SOURCE_ROW)
"""Technical columns every staged row carries (never published)."""

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
"""Table and column names: SQL identifiers, so transformations can name them unquoted."""


class Model(BaseModel):
    """Base: frozen, no unknown keys, so a typo in a document is an error, not a silent no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ColumnType(StrEnum):
    """The six column types of a data module, mapped to Croissant's sc:/xsd: data types."""

    INTEGER = "integer"
    DOUBLE = "double"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"

    @property
    def is_numeric(self) -> bool:
        """Numeric columns accept numeric ranges, bands and noise."""
        return self in (ColumnType.INTEGER, ColumnType.DOUBLE)

    @property
    def is_temporal(self) -> bool:
        """Date and datetime columns accept date ranges and date granularity."""
        return self in (ColumnType.DATE, ColumnType.DATETIME)


# --- cleaning rules (features 3-6) ----------------------------------------------------------


class EmptyRule(Model):
    """What to do with an empty value (null, missing, empty string, or a value that failed to cast)."""

    strategy: Literal["pass", "fill", "drop"] = Field(
        default="pass",
        description="pass: keep the empty value; fill: replace it with `value`; drop: drop the record.",
    )
    value: Any = Field(default=None, description="The replacement value for strategy 'fill' (cast to the column type).")

    @model_validator(mode="after")
    def _fill_needs_value(self) -> EmptyRule:
        if self.strategy == "fill" and self.value is None:
            raise ValueError("strategy 'fill' needs a 'value'")
        return self


class RangeRule(Model):
    """Allowed range of a numeric or date column, and what to do with a value outside it."""

    min: float | int | dt.date | dt.datetime | None = Field(default=None, description="Smallest allowed value (inclusive).")
    max: float | int | dt.date | dt.datetime | None = Field(default=None, description="Largest allowed value (inclusive).")
    on_violation: Literal["drop", "clamp"] = Field(
        ..., description="drop: drop the record; clamp: replace the value with the nearest bound."
    )

    @model_validator(mode="after")
    def _has_a_bound(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("a range needs 'min', 'max' or both")
        # a number and a date do not compare: the TypeError is reported by the reader (jsonld.build_module)
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"range min {self.min} is greater than max {self.max}")
        return self


class PrimaryKey(Model):
    """The table's primary key column and the strategy for records that share a key value."""

    column: str = Field(..., description="The key column; its values are unique in the output.")
    on_conflict: Literal["source_priority", "drop_all", "regenerate"] = Field(
        ...,
        description=(
            "source_priority: keep the record from the highest-priority source (ties: the first "
            "row of that source); drop_all: drop every record of a conflicting key; regenerate: "
            "keep all and give the duplicates new keys (deterministic)."
        ),
    )


class ForeignKey(Model):
    """A column whose values must exist in a column of another table, or the record is dropped.

    A value that fails its cast to the column type always drops its record (it names no
    record, and as an empty value it would escape the check).
    """

    column: str = Field(..., description="The referencing column of this table.")
    references_table: str = Field(..., description="The referenced table.")
    references_column: str = Field(..., description="The referenced column (usually its primary key).")
    allow_empty: bool = Field(
        default=True,
        description=(
            "Whether a record may have no reference: True keeps an empty (null) value, as SQL "
            "does; False drops the record (rule foreign_key_empty, 'foreign key is empty'). "
            "Empty after the column's empty rule, so a fill value is checked like any other."
        ),
    )


# --- anonymization (feature 7) --------------------------------------------------------------


class Generalize(Model):
    """Replace values with a coarser one: numeric band, date granularity, prefix or hierarchy."""

    op: Literal["generalize"] = "generalize"
    band: float | None = Field(default=None, gt=0, description="Numeric: width of the band; 37 with band 10 becomes '30-39'.")
    granularity: Literal["year", "month", "day", "hour"] | None = Field(
        default=None, description="Dates: truncate to this unit."
    )
    truncate: int | None = Field(default=None, ge=0, description="Strings: keep this many leading characters.")
    hierarchy: dict[str, str] | None = Field(
        default=None, description="Categories: value -> generalized value (unlisted values become `other`)."
    )
    other: str = Field(default="*", description="Generalized value for values the hierarchy does not list.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Generalize:
        chosen = [n for n in ("band", "granularity", "truncate", "hierarchy") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError("generalize needs exactly one of band, granularity, truncate, hierarchy")
        return self


class Suppress(Model):
    """Mask values: all of it, or all but the first ``keep`` characters."""

    op: Literal["suppress"] = "suppress"
    mask: str = Field(default="*", description="Replacement text (strings) for the masked part.")
    keep: int = Field(default=0, ge=0, description="Leading characters left visible (strings only).")


class Permute(Model):
    """Shuffle a column's values across records (optionally within groups), seeded."""

    op: Literal["permute"] = "permute"
    within: list[str] = Field(default_factory=list, description="Shuffle only among records sharing these columns.")


class Perturb(Model):
    """Add seeded random noise, then optionally round."""

    op: Literal["perturb"] = "perturb"
    distribution: Literal["laplace", "gaussian"] = Field(..., description="Noise distribution.")
    scale: float = Field(..., gt=0, description="Laplace b, or Gaussian standard deviation.")
    round: int | None = Field(default=None, description="Round to this many decimals after adding noise (0 for integers).")


PSEUDONYM_MIN = 1
PSEUDONYM_MAX = 2**53 - 1
"""Default range of integer pseudonyms: positive, and exact in every JSON reader (doubles)."""


class Pseudonymize(Model):
    """Replace an identifier with a keyed token (HMAC-SHA256 of its value under the module's
    key), the same value giving the same token in every table of the module, so a primary key
    and the foreign keys that reference it still join.

    Text tokens are 32 hex digits (128 bits: a collision is never expected). With
    ``keep_type`` an integer column's tokens are integers in [``min``, ``max``]; there two
    values may meet on one token, and the run then fails rather than merging two records.
    """

    op: Literal["pseudonymize"] = "pseudonymize"
    keep_type: bool = Field(
        default=False,
        description=(
            "True: an integer column's tokens stay integers, in [min, max] (a collision fails the "
            "run); False: tokens are text (32 hex digits) and the column is published as text."
        ),
    )
    min: int | None = Field(default=None, ge=0, le=2**62, description=f"Smallest integer token (keep_type only; default {PSEUDONYM_MIN}).")
    max: int | None = Field(default=None, ge=0, le=2**62, description="Largest integer token (keep_type only; default 2^53-1).")

    @model_validator(mode="after")
    def _range(self) -> Pseudonymize:
        if not self.keep_type and (self.min is not None or self.max is not None):
            raise ValueError("min and max bound integer tokens: set keep_type to true, or remove them")
        if self.token_range[0] >= self.token_range[1]:
            raise ValueError(f"the token range min {self.token_range[0]} must be below max {self.token_range[1]}")
        return self

    @property
    def token_range(self) -> tuple[int, int]:
        """(min, max) of integer tokens, the defaults filled in."""
        return (
            PSEUDONYM_MIN if self.min is None else self.min,
            PSEUDONYM_MAX if self.max is None else self.max,
        )


class Levels(Model):
    """A quasi-identifier's hierarchy of generalization levels, for the privacy search to
    choose from (``privetl:privacy``'s ``search``) instead of one generalization by hand.

    Level 0 is the value itself (as text); each given step is one level coarser; the last
    level is always ``*`` (added when not given). Exactly one kind of step: ``bands``
    (numbers: widths, each a multiple of the one before so that every band lies inside one
    band of the next level), ``granularities`` (dates: finer to coarser), ``truncations``
    (strings: prefix lengths, longest first), or a user hierarchy in ARX's format — one row
    per value, one column per level, the first the value itself (``hierarchy`` inline, or
    ``hierarchy_csv``, a file relative to the module document). Published as text; empty
    values stay empty at every level.
    """

    op: Literal["levels"] = "levels"
    bands: list[float | Literal["*"]] | None = Field(
        default=None, min_length=1, description="Numbers: band widths, finer to coarser, e.g. [5, 10, 20, 40, '*']."
    )
    granularities: list[Literal["hour", "day", "month", "year", "decade", "*"]] | None = Field(
        default=None, min_length=1, description="Dates: granularities, finer to coarser, e.g. ['month', 'year', 'decade', '*']."
    )
    truncations: list[int | Literal["*"]] | None = Field(
        default=None, min_length=1, description="Strings: prefix lengths, longest first, e.g. [4, 3, 2, 1, '*']."
    )
    hierarchy: list[list[str]] | None = Field(
        default=None, min_length=1, description="ARX hierarchy: one row per value [value, level 1, ..., '*']."
    )
    hierarchy_csv: str | None = Field(
        default=None,
        description="ARX hierarchy file (';' or ',' separated, no header), relative to the module document.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Levels:
        chosen = [n for n in ("bands", "granularities", "truncations", "hierarchy", "hierarchy_csv") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError("levels needs exactly one of bands, granularities, truncations, hierarchy, hierarchy_csv")
        return self


ColumnAnonymization = Annotated[Generalize | Suppress | Permute | Perturb | Pseudonymize | Levels, Field(discriminator="op")]


class Anatomize(Model):
    """Publish quasi-identifiers and the sensitive attribute as two tables linked by a group id.

    Xiao & Tao's bucketization: each group holds at least ``l`` distinct sensitive values.
    Output tables: ``<table>_qit`` (quasi-identifiers + group id) and ``<table>_st``
    (group id, sensitive value, count).
    """

    quasi_identifiers: list[str] = Field(..., min_length=1, description="Columns published in the QI table.")
    sensitive: str = Field(..., description="The sensitive column, published only in the ST table.")
    l: int = Field(..., ge=2, description="Minimum distinct sensitive values per group.")  # noqa: E741


class RecursiveDiversity(Model):
    """Recursive (c, l)-diversity (Machanavajjhala et al. 2007): in every class the most
    frequent sensitive value is on fewer than ``c`` times the records of its ``l``-th most
    frequent value and all rarer ones: ``r_1 < c (r_l + ... + r_m)``."""

    c: float = Field(..., gt=0, description="The factor c.")
    l: int = Field(..., ge=1, description="The rank l whose tail bounds the most frequent value.")  # noqa: E741


class Search(Model):
    """Let the engine choose every quasi-identifier's level (those with ``levels``): the
    combination that meets the targets within ``max_suppression`` with the least
    information loss under ``metric``."""

    metric: Literal["discernibility", "average_class_size", "precision"] = Field(
        default="discernibility",
        description=(
            "discernibility: sum of the squared class sizes, a suppressed record costing the "
            "table's size; average_class_size: records / (classes x k); precision: ARX's "
            "generalization intensity (mean level / height over quasi-identifiers and records, "
            "a suppressed record fully generalized)."
        ),
    )


class PrivacyTargets(Model):
    """What the run promises, measured on the output and enforced where possible."""

    quasi_identifiers: list[str] = Field(..., min_length=1, description="Columns an attacker may know.")
    sensitive: list[str] = Field(default_factory=list, description="Sensitive attributes (for l-diversity and t-closeness).")
    k: int | None = Field(default=None, ge=1, description="Minimum equivalence-class size; enforced by suppressing records.")
    l: int | None = Field(default=None, ge=1, description="Minimum distinct sensitive values per class; enforced by suppression.")  # noqa: E741
    t: float | None = Field(default=None, gt=0, le=1, description="Maximum t-closeness distance; the run fails above it.")
    max_suppression: float = Field(
        default=0.05, ge=0, le=1, description="Largest fraction of records that may be suppressed to meet k and l."
    )
    entropy_l: float | None = Field(
        default=None,
        ge=1,
        description="Entropy l-diversity: every class's sensitive-value entropy at least log(entropy_l); enforced by suppression.",
    )
    recursive: RecursiveDiversity | None = Field(
        default=None, description="Recursive (c, l)-diversity of every class; enforced by suppression."
    )
    search: Search | None = Field(
        default=None,
        description="Choose the level of every quasi-identifier declaring `levels` (the search of the least information loss).",
    )


# --- structure ------------------------------------------------------------------------------


class Column(Model):
    """A typed column of one table, with its cleaning and anonymization rules."""

    name: str = Field(..., pattern=NAME_PATTERN, description="Column name, unique within its table.")
    type: ColumnType = Field(..., description="Values are cast to this type.")
    description: str = Field(default="", description="What the column holds.")
    empty: EmptyRule = Field(default_factory=EmptyRule, description="Strategy for empty values.")
    range: RangeRule | None = Field(default=None, description="Allowed range (numeric and date columns only).")
    anonymize: ColumnAnonymization | None = Field(default=None, description="Anonymization applied to this column.")
    public: bool = Field(
        default=False,
        description=(
            "Published as it is even if its values look like personal data (privetl:public): the "
            "scan of unprotected columns before publishing then passes it over. For data that is "
            "truly public, such as a shop's own support address."
        ),
    )


class Table(Model):
    """A table (Croissant RecordSet): columns, keys, merge rule and privacy targets."""

    name: str = Field(..., pattern=NAME_PATTERN, description="Table name, unique within the module.")
    description: str = Field(default="", description="What a record of this table is.")
    columns: list[Column] = Field(..., min_length=1, description="The table's columns, in output order.")
    primary_key: PrimaryKey | None = Field(default=None, description="Primary key and its conflict strategy.")
    foreign_keys: list[ForeignKey] = Field(default_factory=list, description="Foreign keys of this table.")
    merge: Literal["union", "coalesce"] = Field(
        default="union",
        description=(
            "How several sources of this table become one entity: union stacks their records "
            "(key conflicts then follow primary_key.on_conflict); coalesce joins records of the "
            "same primary key column by column, the highest-priority non-empty value winning."
        ),
    )
    anatomize: Anatomize | None = Field(default=None, description="Publish as two anatomized tables instead of one.")
    privacy: PrivacyTargets | None = Field(default=None, description="Privacy targets verified (and enforced) on the output.")

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError if there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        """Column names in declared order."""
        return [c.name for c in self.columns]


# --- collection protocol (feature 8) --------------------------------------------------------


class CsvOptions(Model):
    """How a CSV file is written; what is not given is the common case, the delimiter sniffed."""

    delimiter: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="Field separator (one character); None: sniffed from the file's first lines (',', ';', tab or '|').",
    )
    quote: str = Field(default='"', min_length=1, max_length=1, description="Quote character (one character).")
    encoding: str = Field(default="utf-8", min_length=1, description="Text encoding, e.g. utf-8, latin-1, cp1252.")
    header: bool = Field(
        default=True,
        description=(
            "True: the first line names the fields; False: there is none, and the fields are "
            "the table's declared columns in declared order."
        ),
    )


class FileSource(Model):
    """Records from a file: local path or s3:// URL."""

    kind: Literal["file"] = "file"
    path: str = Field(..., description="Local path (relative to the module document) or s3://bucket/key; globs allowed. ${ENV} references are expanded at run time: the value is the base the rest resolves under (a directory, or an s3:// connection string with its credentials and options).")
    format: Literal["json", "jsonl", "csv", "parquet"] = Field(..., description="File format.")
    csv: CsvOptions = Field(default_factory=CsvOptions, description="CSV options (format 'csv' only).")


class SqlSource(Model):
    """Records from a SQL query on PostgreSQL or SQLite."""

    kind: Literal["sql"] = "sql"
    connection: str = Field(
        ...,
        description="postgresql://... or sqlite:///path. ${ENV} references are expanded at run time, so secrets stay out of the document.",
    )
    query: str = Field(..., description="A SELECT statement; column names map to table columns.")


class HttpPagination(Model):
    """How to walk the pages of a JSON API."""

    type: Literal["none", "page", "cursor", "next_url"] = Field(default="none", description="Pagination style.")
    param: str = Field(default="page", description="Query parameter carrying the page number or cursor.")
    start: int = Field(default=1, description="First page number (type 'page').")
    cursor_path: str = Field(default="next_cursor", description="Dotted path of the next cursor in the response (type 'cursor').")
    next_url_path: str = Field(default="next", description="Dotted path of the next page URL (type 'next_url').")
    max_pages: int = Field(default=10_000, ge=1, description="Safety bound on the number of pages.")


class HttpSource(Model):
    """Records from an HTTP JSON API."""

    kind: Literal["http"] = "http"
    url: str = Field(..., description="The first page's URL.")
    records_path: str = Field(default="", description="Dotted path of the record list in each response ('' = the body is the list).")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers; ${ENV} references are expanded.")
    pagination: HttpPagination = Field(default_factory=HttpPagination, description="Pagination.")
    timeout_seconds: float = Field(default=30, gt=0, description="Per-request timeout.")


class ExecSource(Model):
    """Records from an executable writing JSON lines (or Singer messages) to stdout.

    Run without a shell, with a clean environment (only ``env`` and PATH), a working
    directory of its own and a timeout.
    """

    kind: Literal["exec"] = "exec"
    command: list[str] = Field(..., min_length=1, description="Program and arguments (no shell).")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables; ${ENV} references are expanded.")
    timeout_seconds: float = Field(default=600, gt=0, description="The run is killed and fails after this long.")
    stream: str | None = Field(default=None, description="Singer: take RECORD messages of this stream only (default: all).")


SourceSpec = Annotated[FileSource | SqlSource | HttpSource | ExecSource, Field(discriminator="kind")]


class SourceScript(Model):
    """One extraction script of the collection protocol: where one table's records come from."""

    id: str = Field(..., pattern=NAME_PATTERN, description="Script id, unique within the module.")
    table: str = Field(..., description="The table these records belong to.")
    priority: int = Field(default=0, description="Primary-key conflicts: the higher number wins.")
    mapping: dict[str, str] = Field(
        default_factory=dict, description="column -> source field name, for fields named differently at the source."
    )
    source: SourceSpec = Field(..., description="Where and how to read.")
    absent: list[str] = Field(
        default_factory=list,
        description=(
            "Declared columns this source does not have (read as empty). Otherwise a declared "
            "column missing from a file's header or schema fails the run: a misnamed or "
            "misread column is never published as empty values."
        ),
    )
    allow_empty: bool = Field(
        default=False,
        description=(
            "Whether this source may deliver no records (a 0-byte file, a header without rows, "
            "a query or API returning nothing). False: an empty source fails the run, so a "
            "missing export is never published as a smaller version."
        ),
    )


# --- transformation, upload, module -----------------------------------------------------------


class Transformation(Model):
    """A SQL SELECT over the staged tables (no files, network or settings reachable).

    ``merge``: the query's result becomes table ``target`` (new or replaced);
    ``update``: the query rewrites ``target`` from itself (and others).
    """

    name: str = Field(..., pattern=NAME_PATTERN, description="Name, for the report.")
    type: Literal["merge", "update"] = Field(..., description="merge or update (the contract's TransformationType).")
    target: str = Field(..., description="The table the result replaces or creates.")
    sql: str = Field(..., min_length=1, description="One SELECT statement.")


class DirectoryDestination(Model):
    """Publish into a directory: local path or s3:// URL (Delta Lake tables + metadata)."""

    kind: Literal["directory"] = "directory"
    path: str = Field(..., description="Root of the published module (relative to the document, or s3://). ${ENV} references are expanded at run time, as in a file source's path.")


class PostgresDestination(Model):
    """Publish into PostgreSQL tables (one schema per module, a table per version and table)."""

    kind: Literal["postgres"] = "postgres"
    connection: str = Field(..., description="postgresql://...; ${ENV} references are expanded.")
    schema_name: str = Field(default="privetl", pattern=NAME_PATTERN, description="Target schema.")


DestinationSpec = Annotated[DirectoryDestination | PostgresDestination, Field(discriminator="kind")]


class UploadScript(Model):
    """Feature 9: where the new version goes and how the protocol finds it afterwards."""

    destination: DestinationSpec = Field(..., description="Where the new version is written.")
    rewrite_protocol: bool = Field(
        default=True,
        description="Rewrite the published module's collection protocol to read the uploaded data (else keep the original).",
    )


class DataModule(Model):
    """A data module: tables, collection protocol, rules, upload script and version."""

    id: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description="Stable identifier of the module.")
    name: str = Field(..., min_length=1, description="Human name.")
    description: str = Field(default="", description="What the module holds.")
    version: int = Field(default=1, ge=1, description="Version of the module this document describes (published as 'N.0.0').")
    license: str = Field(default="https://creativecommons.org/licenses/by/4.0/", description="License URL of the published data.")
    tables: list[Table] = Field(..., min_length=1, description="The tables.")
    collection_protocol: list[SourceScript] = Field(..., min_length=1, description="Extraction scripts.")
    transformations: list[Transformation] = Field(default_factory=list, description="SQL transformations, in order.")
    upload: UploadScript | None = Field(default=None, description="Upload script (feature 9).")
    seed: int = Field(default=0, description="Default seed of the seeded operations (overridden by --seed).")

    def table(self, name: str) -> Table:
        """The table called ``name``; KeyError if there is none."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"no table {name!r}")

    def sources_of(self, table: str) -> list[SourceScript]:
        """The extraction scripts of one table, highest priority first."""
        return sorted((s for s in self.collection_protocol if s.table == table), key=lambda s: -s.priority)
