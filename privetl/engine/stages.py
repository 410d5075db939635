"""A resumable run of a data module, one stage per call, for the platform's background workers.

``StagedRun`` runs the stages of ``pipeline.py`` — the very functions ``run_module`` runs —
one at a time: ``extract``, ``clean``, ``transform``, ``anonymize``, ``verify``, then
``publish``. Each stage reads the previous stage's checkpoint (Parquet files in
``work_dir/<stage>/``), writes its own there, and is then recorded finished in
``work_dir/state.json``, written atomically (a temporary file, then ``os.replace``). So a
worker can run each stage in a process of its own, and a process killed mid-stage (even by
``kill -9``) loses only that stage: the next ``StagedRun`` on the work dir sees it unfinished,
removes its partial directory and runs it again from the last finished stage's checkpoint.
The state file also holds the report so far (``report()``), so a new process sees it.

What the checkpoints hold:

- ``extract``: every script's staged Parquet (``extract/<script id>/``); local Parquet
  sources are read in place, as ``run_module`` does: the state file records their files and
  fingerprints, not a copy.
- ``clean``: the cleaned tables (``clean/<table>.parquet``, with their ``_src_*`` columns) and
  the private quarantine (``clean/quarantine.parquet``, never published).
- ``transform``, ``anonymize``: the tables after them (``anonymize/``: what would be
  published, ``<t>_qit``/``<t>_st`` for an anatomized table).
- ``verify``: re-measures the privacy targets on the anonymized tables (anonymize enforces
  them, so this normally passes; it is what a worker shows before publishing) and then holds
  the verified tables (``verify/<table>.parquet``, hard links of anonymize's files):
  ``outputs()``.

Sources read in place are checked unchanged (``extract.check_unchanged``) at the end of
``clean``, the last stage that reads them: from then on the run reads its own checkpoints,
so a source rewritten later (the next export, while the run waits for a data manager) does
not touch what is published, and ``publish`` does not check the sources again.

``cancel()`` (from any thread) interrupts the backend's running query and makes the stage
raise ``StageCancelled`` without recording it; extraction is stopped between two staged
batches. A cancelled ``StagedRun`` stays cancelled: a new one on the work dir goes on.

The anonymization secret is never written to the work dir: each process that runs
``anonymize`` must be given it (or find it in ``PRIVETL_ANONYMIZATION_SECRET``), like
``run_module``; the other stages do not use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privetl.engine import pipeline
from privetl.engine.errors import EngineError, PrivacyTargetNotMet
from privetl.engine.metadata import DataModule, FileSource, Table
from privetl.engine.report import PublishedInfo, RunReport, finish
from privetl.engine.validate import load_document

__all__ = ["STAGES", "StageCancelled", "StageResult", "StagedRun", "measure_privacy"]

STAGES = ("extract", "clean", "transform", "anonymize", "verify")
"""The stages of a staged run, in order; ``publish`` follows them (``StagedRun.publish``)."""
STATE_FILE = "state.json"
"""The work dir's record of the run: its finished stages and the report so far."""
STATE_FORMAT = 1
QUARANTINE_FILE = "quarantine.parquet"

OnRows = Callable[[int], None]


class StageCancelled(EngineError):
    """``StagedRun.cancel`` stopped the stage; it is not recorded finished (run it again
    with a new ``StagedRun`` to go on)."""


@dataclass
class StageResult:
    """What one stage did: its time and the rows entering and leaving it (over all tables)."""

    stage: str
    seconds: float
    rows_in: int
    """Rows entering the stage (sum over tables; for extract, the rows the sources gave)."""
    rows_out: int
    """Rows the stage left in its checkpoint (sum over tables)."""


@dataclass(frozen=True)
class _Output:
    """The Parquet files one stage wrote (table name -> file name in its directory)."""

    files: dict[str, str]
    rows: int


class StagedRun:
    """One run of ``document`` in ``work_dir``, stage by stage; see the module docstring.

    ``run_id`` names the run (the report, the quarantine, the published lineage); a work dir
    belongs to one run, one document (by content) and one seed: opening it with others is an
    ``EngineError``. ``engine``, ``memory_limit``: as ``run_module``'s; each stage opens its
    own backend and closes it. ``out`` overrides the module's upload destination.
    """

    def __init__(
        self,
        document: Path,
        work_dir: Path,
        *,
        run_id: str,
        engine: str = "duckdb",
        secret: bytes | None = None,
        seed: int | None = None,
        memory_limit: str | None = None,
        out: Path | str | None = None,
    ) -> None:
        self.document = Path(document).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.run_id = run_id
        self.engine = engine
        self.memory_limit = memory_limit
        self._secret = secret
        self._doc, self._module = load_document(self.document)
        self._destination = pipeline.destination_of(self._module, out)
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._backend: Any = None
        self._running = False
        self._interrupter: threading.Thread | None = None
        seed_used = self._module.seed if seed is None else seed
        digest = hashlib.sha256(self.document.read_bytes()).hexdigest()
        state = self._read_state()
        if state is None:
            report = RunReport(
                run_id=run_id,
                module_id=self._module.id,
                module_path=str(self.document),
                engine=engine,
                seed=seed_used,
            )
            state = {
                "format": STATE_FORMAT,
                "run_id": run_id,
                "document_sha256": digest,
                "seed": seed_used,
                "engine": engine,
                "finished": [],
                "staged": [],
                "report": report.to_dict(),
            }
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._write_state(state)
        else:
            self._check_same_run(state, digest=digest, seed=seed_used)
        self._state: dict[str, Any] = state

    # -- what the work dir says ------------------------------------------------------------

    def finished_stages(self) -> list[str]:
        """The stages recorded finished in the work dir's state file, in order."""
        return [entry["stage"] for entry in self._state["finished"]]

    def next_stage(self) -> str | None:
        """The stage to run next; None when ``verify`` is finished (then ``publish``)."""
        done = set(self.finished_stages())
        return next((stage for stage in STAGES if stage not in done), None)

    def report(self) -> RunReport:
        """The report so far, as the state file holds it: rows per rule, quarantine, privacy
        measures (plain dicts), per-stage timings; after ``publish``, the published version."""
        return RunReport.from_dict(self._state["report"])

    def outputs(self) -> dict[str, Path]:
        """After ``verify``: table name -> Parquet file of the verified output (what
        ``publish`` publishes unless given edited copies)."""
        entry = self._entry("verify")
        if entry is None:
            raise EngineError(f"run {self.run_id}: the outputs are known once 'verify' is finished")
        return {name: self.work_dir / "verify" / file for name, file in entry["files"].items()}

    # -- running ---------------------------------------------------------------------------

    def run_stage(self, stage: str, on_rows: OnRows | None = None) -> StageResult:
        """Run ``stage``, which must be ``next_stage()``; record it finished.

        ``on_rows(n)`` is called as rows go by (extract: each staged batch; the other
        stages: each table written). Raises ``StageCancelled`` after ``cancel()``, and any
        ``EngineError`` of the stage (the report then says the run failed; the stage may be
        run again).
        """
        if stage not in STAGES:
            raise EngineError(f"unknown stage {stage!r}: the stages are {', '.join(STAGES)}")
        expected = self.next_stage()
        if stage != expected:
            if expected is None:
                raise EngineError(f"run {self.run_id}: every stage is finished; publish it, or start a new run")
            raise EngineError(f"run {self.run_id}: stage {stage!r} cannot run now; the next stage is {expected!r}")
        directory = self.work_dir / stage
        body = {
            "extract": self._extract,
            "clean": self._clean,
            "transform": self._transform,
            "anonymize": self._anonymize,
            "verify": self._verify,
        }[stage]
        with self._attempt(stage) as report:
            # a killed attempt's partial output goes first
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            start = time.perf_counter()
            try:
                output, extra = body(directory, report, on_rows)
                self._raise_if_cancelled(stage)
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            seconds = round(time.perf_counter() - start, 4)
            report.timings[stage] = seconds
            previous = self._state["finished"][-1]["rows_out"] if self._state["finished"] else None
            rows_in = output.rows if previous is None else int(previous)
            entry = {
                "stage": stage,
                "seconds": seconds,
                "rows_in": rows_in,
                "rows_out": output.rows,
                "files": output.files,
            }
            self._commit(report, finished=entry, **extra)
        return StageResult(stage=stage, seconds=seconds, rows_in=rows_in, rows_out=output.rows)

    def cancel(self) -> None:
        """Stop the running stage soon (thread-safe): the backend's query is interrupted
        (and again every 0.2 s while the stage runs, for engines that drop an interrupt
        arriving between two queries); ``run_stage`` then raises ``StageCancelled``. Every
        later ``run_stage`` or ``publish`` of this object raises it at once."""
        self._cancelled.set()
        self._interrupt()
        with self._lock:
            if self._running and self._interrupter is None:
                self._interrupter = threading.Thread(
                    target=self._keep_interrupting, name=f"privetl-cancel-{self.run_id}", daemon=True
                )
                self._interrupter.start()

    def publish(
        self, tables: Mapping[str, Path] | None = None, *, lineage_note: Mapping[str, Any] | None = None
    ) -> PublishedInfo:
        """Publish the verified outputs as the next version of the destination, atomically,
        exactly as ``run_module``'s publish stage does (Delta + Croissant; the Delta commits
        of runs killed before their version became visible reverted first).

        ``tables`` replaces some or all outputs with other Parquet files of the same columns
        and types (edited copies, e.g. outbox records deleted); each one is measured again
        against its table's privacy targets (an anatomized ``<t>_st``: its l-diversity), and
        one that falls short is a ``PrivacyTargetNotMet``: nothing is published.
        ``lineage_note`` (JSON values) goes into the published lineage as ``privetl:notes``.
        A run publishes once: again (also after a process killed once its version was
        visible, which the destination's latest lineage tells) is an ``EngineError``.
        """
        if self.next_stage() is not None:
            raise EngineError(f"run {self.run_id}: publish needs every stage finished; the next is {self.next_stage()!r}")
        already = self.report().published
        if already is not None:
            raise EngineError(f"run {self.run_id} already published version {already.version}: start a new run")
        with self._attempt("publish") as report:
            latest = pipeline.run_of_latest_version(self._module, self._destination, self.document.parent)
            if latest is not None and latest[1] == self.run_id:
                # a process of this run published, and was stopped before recording it
                raise EngineError(
                    f"run {self.run_id} already published version {latest[0]} at the destination "
                    "(the process that published it stopped before recording it): start a new run"
                )
            chosen = self.outputs()
            edited = self._edited(chosen, tables or {})
            chosen.update(edited)
            start = time.perf_counter()
            backend = self._open_backend()
            exprs = {
                name: backend.read_parquet([path], name=f"privetl_publish_{name}") for name, path in chosen.items()
            }
            for name in edited:
                self._check_edited(backend, name, exprs[name])
            self._raise_if_cancelled("publish")
            pipeline.publish_tables(
                self._module,
                self._doc,
                self.document,
                {name: pipeline.engine_table(backend, expr) for name, expr in exprs.items()},
                report=report,
                destination=self._destination,
                notes=lineage_note,
            )
            report.timings["publish"] = round(time.perf_counter() - start, 4)
            finish(report)
            self._commit(report)
        assert report.published is not None
        return report.published

    # -- the stages ------------------------------------------------------------------------

    def _extract(self, directory: Path, report: RunReport, on_rows: OnRows | None) -> tuple[_Output, dict[str, Any]]:
        """Stage every script under ``extract/``; the staged sources go to the state file."""
        previous = pipeline.previous_counts(self._module, self._destination, self.document.parent, report)

        def rows(count: int) -> None:
            self._raise_if_cancelled("extract")
            if on_rows is not None:
                on_rows(count)

        staged = pipeline.extract_sources(
            self._module, base_dir=self.document.parent, staging=directory, report=report,
            previous=previous, on_rows=rows,
        )
        total = sum(int(s.rows) for s in staged)
        return _Output(files={}, rows=total), {"staged": [self._staged_record(s) for s in staged]}

    def _clean(self, directory: Path, report: RunReport, on_rows: OnRows | None) -> tuple[_Output, dict[str, Any]]:
        """Clean the staged sources; the last read of the sources read in place."""
        from privetl.engine.extract import check_unchanged

        staged = self._staged()
        backend = self._open_backend()
        tables = pipeline.clean_sources(
            backend, self._module, staged, report=report, quarantine_path=directory / QUARANTINE_FILE
        )
        output = self._write(backend, tables, directory, "clean", on_rows)
        check_unchanged(staged)
        return output, {}

    def _transform(self, directory: Path, report: RunReport, on_rows: OnRows | None) -> tuple[_Output, dict[str, Any]]:
        from privetl.engine.transform import apply_transformations

        backend = self._open_backend()
        tables = apply_transformations(backend, self._module, self._read(backend, "clean"))
        return self._write(backend, tables, directory, "transform", on_rows), {}

    def _anonymize(self, directory: Path, report: RunReport, on_rows: OnRows | None) -> tuple[_Output, dict[str, Any]]:
        secret = pipeline.use_secret(report, self._secret)
        backend = self._open_backend()
        outputs = pipeline.anonymize_tables(
            backend,
            self._module,
            self._read(backend, "transform"),
            secret=secret,
            report=report,
            before_table=lambda: self._raise_if_cancelled("anonymize"),
            base_dir=self.document.parent,
        )
        return self._write(backend, outputs, directory, "anonymize", on_rows), {}

    def _verify(self, directory: Path, report: RunReport, on_rows: OnRows | None) -> tuple[_Output, dict[str, Any]]:
        """Measure the anonymized tables again; keep them (hard links) as the verified ones."""
        backend = self._open_backend()
        tables = self._read(backend, "anonymize")
        for name, expr in tables.items():
            self._raise_if_cancelled("verify")
            measured = _verify_table(backend, self._module, name, expr)
            if measured is not None:
                table_name, values = measured
                entry = report.privacy.setdefault(table_name, {})
                if isinstance(entry, dict):
                    entry["verified"] = values
        entry = self._entry("anonymize")
        assert entry is not None
        for file in entry["files"].values():
            _link(self.work_dir / "anonymize" / file, directory / file)
        if on_rows is not None:
            on_rows(int(entry["rows_out"]))
        return _Output(files=dict(entry["files"]), rows=int(entry["rows_out"])), {}

    # -- helpers ---------------------------------------------------------------------------

    def _write(
        self, backend: Any, tables: Mapping[str, Any], directory: Path, stage: str, on_rows: OnRows | None
    ) -> _Output:
        """Write each table to ``directory/<name>.parquet``."""
        files: dict[str, str] = {}
        total = 0
        for name, expr in tables.items():
            self._raise_if_cancelled(stage)
            path = directory / f"{name}.parquet"
            rows = backend.write_parquet(expr, path)
            files[name] = path.name
            total += rows
            if on_rows is not None:
                on_rows(rows)
        return _Output(files=files, rows=total)

    def _read(self, backend: Any, stage: str) -> dict[str, Any]:
        """The tables of a finished stage's checkpoint, registered on ``backend``."""
        entry = self._entry(stage)
        assert entry is not None, stage
        return {
            name: backend.read_parquet([self.work_dir / stage / file], name=f"privetl_checkpoint_{stage}_{name}")
            for name, file in entry["files"].items()
        }

    def _entry(self, stage: str) -> dict[str, Any] | None:
        return next((e for e in self._state["finished"] if e["stage"] == stage), None)

    def _edited(self, outputs: Mapping[str, Path], tables: Mapping[str, Path]) -> dict[str, Path]:
        """The given replacement files, checked to have their output's columns and types."""
        import pyarrow.parquet as pq

        edited: dict[str, Path] = {}
        for name, given in tables.items():
            if name not in outputs:
                raise EngineError(f"no output table {name!r} to replace; the outputs are {', '.join(sorted(outputs))}")
            path = Path(given).resolve()
            try:
                schema = pq.read_schema(path).remove_metadata()
            except (OSError, ValueError) as exc:
                raise EngineError(f"table {name!r}: {path} is not a readable Parquet file: {exc}") from None
            wanted = pq.read_schema(outputs[name]).remove_metadata()
            if not schema.equals(wanted):
                raise EngineError(
                    f"table {name!r}: {path} must have the verified output's columns and types "
                    f"({', '.join(f'{f.name} {f.type}' for f in wanted)}); it has "
                    f"{', '.join(f'{f.name} {f.type}' for f in schema)}"
                )
            edited[name] = path
        return edited

    def _check_edited(self, backend: Any, name: str, expr: Any) -> None:
        """An edited table still holds its privacy targets, else ``PrivacyTargetNotMet``."""
        _verify_table(backend, self._module, name, expr, edited=True)

    def _staged(self) -> list[Any]:
        """The extract stage's staged sources, from the state file."""
        from privetl.engine.extract import InPlace, StagedSource

        staged = []
        for record in self._state["staged"]:
            in_place = record["in_place"]
            staged.append(
                StagedSource(
                    script_id=record["script_id"],
                    table=record["table"],
                    priority=int(record["priority"]),
                    paths=[self._absolute(p) for p in record["paths"]],
                    rows=int(record["rows"]),
                    native_types=bool(record["native_types"]),
                    in_place=None
                    if in_place is None
                    else InPlace(
                        fields=dict(in_place["fields"]),
                        fingerprints=tuple((str(p), int(s), int(m)) for p, s, m in in_place["fingerprints"]),
                        location=_location(self._module, record["script_id"]),
                    ),
                    fields_found=None if record["fields_found"] is None else tuple(record["fields_found"]),
                    fields_missing=tuple(record["fields_missing"]),
                    record_fields=None
                    if record.get("record_fields") is None
                    else tuple(record["record_fields"]),
                )
            )
        return staged

    def _staged_record(self, staged: Any) -> dict[str, Any]:
        """A staged source as JSON; paths under the work dir relative to it (it may move)."""
        in_place = staged.in_place
        return {
            "script_id": staged.script_id,
            "table": staged.table,
            "priority": int(staged.priority),
            "paths": [self._relative(Path(p)) for p in staged.paths],
            "rows": int(staged.rows),
            "native_types": bool(staged.native_types),
            "in_place": None
            if in_place is None
            else {"fields": dict(in_place.fields), "fingerprints": [list(f) for f in in_place.fingerprints]},
            "fields_found": None if staged.fields_found is None else list(staged.fields_found),
            "fields_missing": list(staged.fields_missing),
            "record_fields": None if staged.record_fields is None else list(staged.record_fields),
        }

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.work_dir))
        except ValueError:
            return str(path)

    def _absolute(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() else self.work_dir / path

    @contextmanager
    def _attempt(self, what: str) -> Iterator[RunReport]:
        """One stage (or the publication) at a time: the report to fill, the backend closed
        after it, a failure after ``cancel`` turned into ``StageCancelled``, any other engine
        failure written to the state file's report (the finished stages stay as they were)."""
        with self._lock:
            if self._running:
                raise EngineError(f"run {self.run_id}: a stage is already running")
            self._running = True
        try:
            self._raise_if_cancelled(what)
            report = self.report()
            report.status, report.error, report.error_type = "running", None, None
            try:
                yield report
            finally:
                self._close_backend()
        except StageCancelled:
            raise
        except BaseException as exc:
            if self._cancelled.is_set():
                raise StageCancelled(self._cancelled_text(what)) from exc
            if isinstance(exc, EngineError):
                failed = self.report()
                finish(failed, error=exc)
                self._commit(failed)
            raise
        finally:
            with self._lock:
                self._running = False

    def _raise_if_cancelled(self, what: str) -> None:
        if self._cancelled.is_set():
            raise StageCancelled(self._cancelled_text(what))

    def _cancelled_text(self, what: str) -> str:
        return f"run {self.run_id}: {what} was cancelled and is not finished"

    def _open_backend(self) -> Any:
        from privetl.engine.backends import open_backend

        backend = open_backend(self.engine, work_dir=self.work_dir / "backend", memory_limit=self.memory_limit)
        with self._lock:
            self._backend = backend
        if self._cancelled.is_set():
            backend.interrupt()
        return backend

    def _close_backend(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def _interrupt(self) -> None:
        with self._lock:
            if self._backend is not None:
                try:
                    self._backend.interrupt()
                except Exception:  # noqa: BLE001, S110 - a backend closing meanwhile has nothing left to stop
                    pass

    def _keep_interrupting(self) -> None:
        while True:
            with self._lock:
                if not self._running:
                    self._interrupter = None
                    return
            self._interrupt()
            time.sleep(0.2)

    # -- the state file --------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        path = self.work_dir / STATE_FILE
        try:
            state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if state.get("format") != STATE_FORMAT:
            raise EngineError(f"{path} is not a privetl staged run's state (format {state.get('format')!r})")
        return state

    def _check_same_run(self, state: Mapping[str, Any], *, digest: str, seed: int) -> None:
        where = self.work_dir
        if state["run_id"] != self.run_id:
            raise EngineError(f"work dir {where} belongs to run {state['run_id']}, not {self.run_id}")
        if state["document_sha256"] != digest:
            raise EngineError(
                f"work dir {where}: the document changed since run {self.run_id} started; start a new run"
            )
        if state["seed"] != seed:
            raise EngineError(f"work dir {where}: run {self.run_id} uses seed {state['seed']}, not {seed}")
        if state["engine"] != self.engine:
            raise EngineError(f"work dir {where}: run {self.run_id} runs on {state['engine']!r}, not {self.engine!r}")

    def _commit(self, report: RunReport, *, finished: dict[str, Any] | None = None, **extra: Any) -> None:
        """Record ``report`` (and a finished stage) in the state file, atomically."""
        state = {**self._state, **extra, "report": report.to_dict()}
        if finished is not None:
            state["finished"] = [*self._state["finished"], finished]
        self._write_state(state)
        self._state = state

    def _write_state(self, state: Mapping[str, Any]) -> None:
        """A temporary file beside the state file, flushed to disk, then ``os.replace``d."""
        path = self.work_dir / STATE_FILE
        fd, temp = tempfile.mkstemp(prefix=f".{STATE_FILE}.", dir=self.work_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(state, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        directory = os.open(self.work_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def measure_privacy(document: Path, table: str, parquet: Path, *, engine: str = "duckdb") -> dict[str, Any]:
    """The privacy measures of one table's data (``parquet``) against the table's privacy
    targets in ``document``: ``{"holds": bool, "shortfalls": [...], "k": ..., "l": ..., "t":
    ..., ...}`` — the measures as the report gives them (``privacy.PrivacyReport``), and how
    they fall short. For records a data manager edited before publishing."""
    from privetl.engine.backends import open_backend
    from privetl.engine.privacy import measure, shortfalls

    _, module = load_document(Path(document).resolve())
    spec = _table(module, table)
    if spec.privacy is None:
        raise EngineError(f"table {table!r} declares no privacy targets")
    with tempfile.TemporaryDirectory(prefix="privetl-measure-") as work:
        backend = open_backend(engine, work_dir=Path(work))
        try:
            expr = backend.read_parquet([Path(parquet).resolve()], name="privetl_measured")
            measured = measure(backend, expr, spec.privacy)
        finally:
            backend.close()
    found = shortfalls(measured, spec.privacy)
    return {"holds": not found, "shortfalls": found, **measured.to_dict()}


def _table(module: DataModule, name: str) -> Table:
    try:
        return module.table(name)
    except KeyError:
        raise EngineError(
            f"the module has no table {name!r}; its tables are {', '.join(t.name for t in module.tables)}"
        ) from None


def _verify_table(
    backend: Any, module: DataModule, name: str, expr: Any, *, edited: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """Measure output ``name`` against its table's privacy targets: (table, measures), None
    when it has none to hold; ``PrivacyTargetNotMet`` naming the table and the measures when
    it falls short."""
    from privetl.engine.anonymize import verify_anatomy
    from privetl.engine.privacy import measure, shortfalls

    what = "the edited table" if edited else "the anonymized table"
    tables = {t.name: t for t in module.tables}
    table = tables.get(name)
    if table is None and name.endswith("_st"):
        anatomized = tables.get(name.removesuffix("_st"))
        if anatomized is not None and anatomized.anatomize is not None:
            return anatomized.name, dict(
                verify_anatomy(backend, expr, anatomized.anatomize, table_name=anatomized.name)
            )
    if table is None or table.privacy is None or table.anatomize is not None:
        return None
    measured = measure(backend, expr, table.privacy)
    found = shortfalls(measured, table.privacy)
    values = {"records": measured.records_out, "k": measured.k, "l": measured.l, "t": measured.t}
    if found:
        raise PrivacyTargetNotMet(
            f"table {name!r}: {what} does not hold its privacy targets: {'; '.join(found)} "
            f"(measured k = {measured.k}, l = {measured.l}, t = {measured.t})"
        )
    return name, values


def _location(module: DataModule, script_id: str) -> Any:
    """How a script's ``${NAME}`` path expands here (for messages), None when it does not."""
    from privetl.engine.extract.files import expand_path

    script = next((s for s in module.collection_protocol if s.id == script_id), None)
    if script is None or not isinstance(script.source, FileSource) or "${" not in script.source.path:
        return None
    try:
        return expand_path(script.id, script.source.path)
    except EngineError:
        return None


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard link of ``source`` (a copy where links are not possible)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
