"""The run report: what a run did, as JSON for machines and a summary for people.

Every run writes one, succeeded or failed, so an operator can always see how far it got.
It holds counts, timings and privacy measures — never the anonymization secret (only whether
one was given) and never a rejected value: those stay in the quarantine Parquet file beside
the report, which is private (it holds raw personal data) and is never published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

QUARANTINE_COLUMNS = ("record_key", "table", "column", "rule", "value", "message", "run_id")
"""Columns of the quarantine table (all strings), in order."""

SecretSource = Literal["argument", "environment", "random"]
"""Where a run's anonymization secret came from; 'random' means the run is not reproducible."""

STAGES = ("load", "extract", "clean", "transform", "anonymize", "publish")
"""The pipeline's stages, in order; timings are reported under these names."""


@dataclass
class TableCount:
    """Rows of one table going into the pipeline (all its sources) and coming out (published)."""

    table: str
    rows_in: int = 0
    rows_out: int | None = None


@dataclass
class SourceCount:
    """Rows one collection-protocol script delivered, beside what it delivered for the
    previous published version (so a sudden drop shows)."""

    script_id: str
    table: str
    rows: int
    previous_version: int | None = None
    """The latest version published before this run (0: none yet); None: not looked up."""
    previous_rows: int | None = None
    """Rows this script delivered for ``previous_version``; None when it had none to give
    (the first version, or a script that version did not have)."""
    undeclared_fields: list[str] | None = None
    """Fields the source has and the module does not declare: never published, listed so a
    schema change in a source shows: a file's header or schema, a JSON source's record keys, a SQL
    result's columns; None where the source does not name its fields (HTTP, executables)."""


@dataclass
class RuleTally:
    """Rows one rule affected in one table (and column, where the rule is per column)."""

    table: str
    rule: str
    column: str | None
    rows_affected: int


@dataclass
class QuarantineInfo:
    """Where the rejected records are kept, and how many there are."""

    path: str | None
    rows: int


@dataclass
class PublishedInfo:
    """The version a run published."""

    version: int
    destination: str
    metadata: str
    tables: dict[str, int] = field(default_factory=dict)


@dataclass
class RunReport:
    """Everything a run reports. ``to_json`` is its stable, documented form."""

    run_id: str
    module_id: str
    module_path: str
    engine: str
    seed: int | None
    status: Literal["running", "succeeded", "failed"] = "running"
    error: str | None = None
    error_type: str | None = None
    secret_source: SecretSource | None = None
    reproducible: bool = False
    warnings: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    published: PublishedInfo | None = None
    tables: list[TableCount] = field(default_factory=list)
    sources: list[SourceCount] = field(default_factory=list)
    rules: list[RuleTally] = field(default_factory=list)
    quarantine: QuarantineInfo = field(default_factory=lambda: QuarantineInfo(path=None, rows=0))
    privacy: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    report_path: str | None = None
    personal_data: list[dict[str, Any]] = field(default_factory=list)
    """The scan of unprotected published columns before publishing (``engine.personal_data``):
    per column its table, name, values sampled, matches per pattern, whether it is marked
    public and the patterns it looks like; counts only, never a value."""

    @property
    def version_published(self) -> int | None:
        """The published version number, or None when nothing was published."""
        return None if self.published is None else self.published.version

    def table(self, name: str) -> TableCount:
        """The counts of table ``name``, created on first use."""
        for count in self.tables:
            if count.table == name:
                return count
        count = TableCount(table=name)
        self.tables.append(count)
        return count

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dataclasses and pydantic models inside become plain values)."""
        data: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return data

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        """The report ``to_dict`` gave (privacy measures stay plain dicts)."""
        values = dict(data)
        published = values.pop("published", None)
        quarantine = values.pop("quarantine", None) or {"path": None, "rows": 0}
        tables = [TableCount(**t) for t in values.pop("tables", [])]
        sources = [SourceCount(**s) for s in values.pop("sources", [])]
        rules = [RuleTally(**r) for r in values.pop("rules", [])]
        return cls(
            **values,
            published=None if published is None else PublishedInfo(**published),
            quarantine=QuarantineInfo(**quarantine),
            tables=tables,
            sources=sources,
            rules=rules,
        )

    def write(self, path: Path) -> Path:
        """Write the JSON report (parents created) and remember where it is."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.report_path = str(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    """Plain JSON values for dataclasses, pydantic models, dates, paths and enums."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def finish(report: RunReport, *, error: BaseException | None = None) -> RunReport:
    """Mark the report succeeded or failed (with the error's message) and stamp the end time."""
    report.finished_at = _now()
    if error is None:
        report.status = "succeeded"
    else:
        report.status = "failed"
        report.error = str(error)
        report.error_type = type(error).__name__
    return report


def render_summary(report: RunReport) -> str:
    """A readable, plain-text summary of a run (what `privetl run` prints)."""
    lines: list[str] = []
    status = report.status.upper()
    lines.append(f"privetl run {report.run_id}: {status}")
    lines.append(f"  module   {report.module_id} ({report.module_path})")
    seed_text = "—" if report.seed is None else str(report.seed)
    lines.append(
        f"  engine   {report.engine}   seed {seed_text}   secret {report.secret_source or '—'}"
        f"   reproducible {'yes' if report.reproducible else 'no'}"
    )
    if report.published is not None:
        p = report.published
        lines.append(f"  version  {p.version} published to {p.destination}")
        lines.append(f"  metadata {p.metadata}")
    elif report.status == "failed":
        lines.append("  nothing was published; the previous version is intact")
    if report.error:
        lines.append(f"  error    {report.error_type}: {report.error}")
    for warning in report.warnings:
        lines.append(f"  warning  {warning}")
    if report.sources:
        lines.append("")
        lines.append("  sources")
        width = max(len(s.script_id) for s in report.sources)
        for s in report.sources:
            line = f"    {s.script_id:<{width}}  -> {s.table:<12} {s.rows:>10,} rows"
            if s.previous_version is not None:
                line += f"   {_previous_text(s)}"
            lines.append(line)
            if s.undeclared_fields:
                lines.append(f"    {'':<{width}}     undeclared fields, not published: {', '.join(s.undeclared_fields)}")
    if report.tables:
        lines.append("")
        lines.append(f"  {'table':<20} {'rows in':>10} {'rows out':>10}")
        for t in report.tables:
            out = "—" if t.rows_out is None else f"{t.rows_out:,}"
            lines.append(f"  {t.table:<20} {t.rows_in:>10,} {out:>10}")
    if report.rules:
        lines.append("")
        lines.append(f"  {'rule':<28} {'table.column':<28} {'rows':>8}")
        for r in report.rules:
            where = r.table if r.column is None else f"{r.table}.{r.column}"
            lines.append(f"  {r.rule:<28} {where:<28} {r.rows_affected:>8,}")
    lines.append("")
    lines.append(
        f"  quarantine {report.quarantine.rows:,} rejected record(s)"
        + (f" in {report.quarantine.path}" if report.quarantine.path else "")
    )
    if report.personal_data:
        lines.append(f"  personal {_personal_text(report.personal_data)}")
    for name, measures in report.privacy.items():
        lines.append(f"  privacy  {name}: {_privacy_text(measures)}")
        search = _jsonable(measures).get("search") if isinstance(_jsonable(measures), dict) else None
        if isinstance(search, dict):
            lines.append(f"  search   {name}: {_search_text(search)}")
    if report.timings:
        total = sum(report.timings.values())
        parts = "  ".join(f"{stage} {seconds:.2f}s" for stage, seconds in report.timings.items())
        lines.append(f"  timings  {parts}  (total {total:.2f}s)")
    if report.report_path:
        lines.append(f"  report   {report.report_path}")
    return "\n".join(lines)


def _previous_text(source: SourceCount) -> str:
    """``previous version 3: 340 (-39%)``, or ``—`` where there is nothing to compare with."""
    if not source.previous_version:
        return "previous version —"
    label = f"previous version {source.previous_version}:"
    if source.previous_rows is None:
        return f"{label} —"
    text = f"{label} {source.previous_rows:,}"
    if source.previous_rows and source.rows != source.previous_rows:
        change = (source.rows - source.previous_rows) / source.previous_rows
        text += f" ({change:+.0%})"
    return text


def _personal_text(scans: list[dict[str, Any]]) -> str:
    """One line on the scan for personal data: what was sampled, and what looked personal."""
    flagged = [
        f"{s['table']}.{s['column']} ({', '.join(s.get('looks_personal', []))}{', public' if s.get('public') else ''})"
        for s in scans if s.get("looks_personal")
    ]
    text = f"data scan: {len(scans)} unprotected column(s) sampled"
    return text + (": " + "; ".join(flagged) if flagged else ", none looks personal")


_SHOWN_WHEN_SET = frozenset({"entropy_l", "recursive_c"})
"""Measures of targets a table may not have: left out of the summary when not measured."""


def _search_text(search: dict[str, Any]) -> str:
    """The generalization search in one line: levels chosen, loss, nodes, time."""
    levels = ", ".join(f"{qi}={name}" for qi, name in search.get("level_names", {}).items())
    return (
        f"{levels}; {search.get('metric')} {search.get('value'):.6g}; "
        f"{search.get('nodes_evaluated')} of {search.get('nodes')} combinations evaluated "
        f"({search.get('nodes_pruned')} pruned) in {search.get('seconds', 0):.3f}s"
    )


def _privacy_text(measures: Any) -> str:
    """One line of privacy measures: the scalar ones, in their own order."""
    measures = _jsonable(measures)
    if not isinstance(measures, dict):
        return str(measures)
    shown = []
    for key, value in measures.items():
        if isinstance(value, dict | list):
            continue
        if value is None and key in _SHOWN_WHEN_SET:
            continue
        if isinstance(value, float):
            value = f"{value:.4g}"
        shown.append(f"{key}={value}")
    return ", ".join(shown)


class RunProgress:
    """A rich progress display of the stages and of extracted rows.

    Drawn on stderr only when it is a terminal, so logs, pipes and tests see nothing of it.
    """

    def __init__(self, *, enabled: bool | None = None, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        active = self.console.is_terminal if enabled is None else enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not active,
            transient=False,
        )
        self._stages = self._progress.add_task(
            "stages", total=len(STAGES), detail="", count=f"0/{len(STAGES)}"
        )
        self._rows = self._progress.add_task(
            "rows extracted", total=None, detail="", count="0", visible=False
        )
        self._done = 0
        self._row_count = 0
        self.timings: dict[str, float] = {}

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage (added to ``timings`` even when it fails) and advance the bar."""
        self._progress.update(self._stages, detail=name)
        if name == "extract":
            self._progress.update(self._rows, visible=True)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + round(time.perf_counter() - start, 4)
            self._done += 1
            self._progress.update(self._stages, advance=1, count=f"{self._done}/{len(STAGES)}")

    def rows(self, count: int) -> None:
        """Called by extraction with the number of rows just staged."""
        self._row_count += count
        self._progress.update(self._rows, advance=count, count=f"{self._row_count:,}")


def print_summary(report: RunReport, *, file: Any = None) -> None:
    """Print the summary to ``file`` (stdout by default)."""
    print(render_summary(report), file=file or sys.stdout)
