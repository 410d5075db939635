"""Run a data module end to end: load, extract, clean, transform, anonymize, publish.

``run_module`` ties the stages of DESIGN.md together (the functions of ``pipeline.py``, which
``stages.StagedRun`` runs one at a time with checkpoints), times each one, shows progress,
and always writes a report — also when the run fails, in which case nothing is published
(the publish stage is the last one, and it is atomic). How the anonymization secret is
chosen is told in ``pipeline.py``: ``secret``, else ``PRIVETL_ANONYMIZATION_SECRET``, else a
random one and a run that is not reproducible.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets as secrets_module
import tempfile
from pathlib import Path

from privetl.engine import pipeline
from privetl.engine.errors import EngineError
from privetl.engine.pipeline import SECRET_ENV, resolve_secret
from privetl.engine.report import RunProgress, RunReport, finish
from privetl.engine.validate import load_document

__all__ = ["DEFAULT_REPORTS", "SECRET_ENV", "WORK_DIR_ENV", "new_run_id", "resolve_secret", "run_module"]

WORK_DIR_ENV = "PRIVETL_WORK_DIR"
"""Where the temporary staging and spill directory of a run is made (default: the system's)."""
DEFAULT_REPORTS = Path("var/runs")
"""Default parent of the per-run report directories (relative to the working directory)."""


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus 6 random hex digits."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets_module.token_hex(3)


def run_module(
    path: Path,
    *,
    out: Path | str | None = None,
    engine: str = "duckdb",
    seed: int | None = None,
    secret: bytes | None = None,
    report_dir: Path | None = None,
    progress: bool | None = None,
    memory_limit: str | None = None,
) -> RunReport:
    """Run the data module at ``path`` and publish its next version; return the report.

    ``out`` overrides the module's upload destination with a directory. ``seed`` overrides
    the module's seed. The report (``report.json``) and the quarantine
    (``quarantine.parquet``, private: it holds the rejected raw values) go to ``report_dir``,
    by default ``var/runs/<run id>``. ``progress`` None shows a progress bar on a terminal.

    An ``EngineError`` (bad document, failed source, the engine out of its memory bound,
    unmet privacy target, failed publish) is reported as a failed run; nothing is
    published. Any other exception is a bug: the report is written as failed and the
    exception propagates.
    """
    path = Path(path).resolve()
    run_id = new_run_id()
    report = RunReport(
        run_id=run_id, module_id="?", module_path=str(path), engine=engine, seed=seed
    )
    report_dir = Path(report_dir) if report_dir is not None else DEFAULT_REPORTS / run_id
    work_parent = os.environ.get(WORK_DIR_ENV) or None
    if work_parent:
        Path(work_parent).mkdir(parents=True, exist_ok=True)
    with (
        RunProgress(enabled=progress) as bar,
        tempfile.TemporaryDirectory(prefix="privetl-run-", dir=work_parent) as work,
    ):
        try:
            _run(
                path,
                report,
                bar,
                out=out,
                engine=engine,
                seed=seed,
                secret=secret,
                report_dir=report_dir,
                work=Path(work),
                memory_limit=memory_limit,
            )
        except EngineError as exc:  # incl. EngineOutOfMemory, raised by the backend with its bound
            finish(report, error=exc)
        except BaseException as exc:
            finish(report, error=exc)
            report.timings = dict(bar.timings)
            report.write(report_dir / "report.json")
            raise
        else:
            finish(report)
        report.timings = dict(bar.timings)
    report.write(report_dir / "report.json")
    return report


def _run(
    path: Path,
    report: RunReport,
    bar: RunProgress,
    *,
    out: Path | str | None,
    engine: str,
    seed: int | None,
    secret: bytes | None,
    report_dir: Path,
    work: Path,
    memory_limit: str | None,
) -> None:
    """The stages, in order; fills ``report`` as it goes."""
    with bar.stage("load"):
        doc, module = load_document(path)  # checked once, in full; MetadataError lists every mistake
        report.module_id = module.id
        report.seed = module.seed if seed is None else seed
        key_secret = pipeline.use_secret(report, secret)
        destination = pipeline.destination_of(module, out)
        previous = pipeline.previous_counts(module, destination, path.parent, report)

    from privetl.engine.backends import open_backend
    from privetl.engine.extract import check_unchanged
    from privetl.engine.transform import apply_transformations

    with bar.stage("extract"):
        staged = pipeline.extract_sources(
            module, base_dir=path.parent, staging=work / "staging", report=report, previous=previous,
            on_rows=bar.rows,
        )

    backend = open_backend(engine, work_dir=work / "backend", memory_limit=memory_limit)
    try:
        with bar.stage("clean"):
            # The quarantine is private (raw rejected values): it goes to the report dir, never published.
            cleaned = pipeline.clean_sources(
                backend, module, staged, report=report, quarantine_path=report_dir / "quarantine.parquet"
            )
        with bar.stage("transform"):
            tables = apply_transformations(backend, module, cleaned)
        with bar.stage("anonymize"):
            outputs = pipeline.anonymize_tables(
                backend, module, tables, secret=key_secret, report=report, base_dir=path.parent
            )
        with bar.stage("publish"):
            pipeline.publish_tables(
                module,
                doc,
                path,
                {name: pipeline.engine_table(backend, expr) for name, expr in outputs.items()},
                report=report,
                destination=destination,
                # sources read in place are read while the tables are written: none may change
                before_visible=lambda: check_unchanged(staged),
            )
    finally:
        backend.close()
