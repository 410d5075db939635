"""The jobs the workers execute (django-q2 calls these by dotted path): the runs' door.

``execute_run`` takes a queued run under a lease and drives the engine's staged run
(``privetl.engine.stages.StagedRun``) stage by stage — extract, clean, transform, anonymize,
verify — recording each finished stage, pausing at a stage boundary when asked, and handing
the verified tables to the outbox; or, for an upload, publishes the outbox's (possibly
edited) tables as the next version. A heartbeat thread renews the lease; when the run is no
longer this worker's (stopped, or recovered elsewhere) it cancels the engine's query.

The connections' secrets are decrypted only here, inside the worker process, into the
environment variables the compiled document names (``${PRIVETL_CONNECTION_<ID>}``), for the
duration of the job: a django-q2 worker process executes one job at a time.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from privetl.common.redaction import redact_text
from privetl.data.selectors import entries_awaiting_upload, entry_file
from privetl.data.services import OutboxTable
from privetl.datamodules.selectors import connection_secret_for_run
from privetl.runs import metrics, selectors, services

logger = logging.getLogger(__name__)

DOCUMENT = "module.json"


def worker_name() -> str:
    """This worker process, as leases and the audit log name it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def connection_environment(connections: list[dict[str, Any]]) -> Iterator[None]:
    """The connections' strings in their variables for the job, removed afterwards."""
    added: dict[str, str | None] = {}
    try:
        for connection in connections:
            variable = str(connection["variable"])
            added[variable] = os.environ.get(variable)
            os.environ[variable] = connection_secret_for_run(str(connection["connection_id"]))
        yield
    finally:
        for variable, previous in added.items():
            if previous is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = previous


class Heartbeat(threading.Thread):
    """Renews the run's lease (every third of it, at most 2 s apart); cancels the stage when
    the run is lost."""

    def __init__(self, *, run_id: str, worker: str, cancel: Any) -> None:
        super().__init__(name=f"heartbeat {run_id}", daemon=True)
        self.run_id = run_id
        self.worker = worker
        self.cancel = cancel
        self.lost = False
        self._stop = threading.Event()

    def run(self) -> None:
        # every third of the lease, and at least every 2 s: the renewal is also how a worker
        # learns its run was stopped, so a Stop interrupts a stage within about 2 s
        interval = max(0.2, min(2.0, float(settings.RUN_LEASE_SECONDS) / 3))
        try:
            while not self._stop.wait(interval):
                try:
                    held = services.run_lease_renew(run_id=self.run_id, worker=self.worker)
                except Exception:  # a database blip: try again at the next beat
                    logger.exception("could not renew the lease of run %s", self.run_id)
                    continue
                metrics.worker_heartbeat(self.worker)
                if not held:
                    self.lost = True
                    logger.info(
                        "run %s is no longer this worker's; cancelling its stage", self.run_id
                    )
                    self.cancel()
                    return
        finally:
            close_old_connections()

    def stop(self) -> None:
        self._stop.set()


def _staged_run(claim: services.Claim) -> Any:
    from privetl.engine.stages import StagedRun

    claim.work_dir.mkdir(parents=True, exist_ok=True)
    document = claim.work_dir / DOCUMENT
    if not document.exists():
        temporary = document.with_suffix(".tmp")
        temporary.write_text(claim.document)
        os.replace(temporary, document)
    secret = settings.RUN_ANONYMIZATION_SECRET
    return StagedRun(
        document,
        claim.work_dir / "engine",
        run_id=claim.run.id,
        engine=claim.engine,
        secret=secret.encode() if secret else None,
        memory_limit=settings.RUN_MEMORY_LIMIT,
    )


def _report_json(staged: Any) -> str:
    return services.report_json_of(staged.report())


def _outbox_tables(staged: Any, work_dir: Path) -> list[OutboxTable]:
    import pyarrow.parquet as pq

    report = staged.report()
    privacy = dict(getattr(report, "privacy", {}) or {})
    tables = []
    for name, path in staged.outputs().items():
        metadata = pq.read_metadata(path)
        tables.append(
            OutboxTable(
                table=name,
                path=str(Path(path).resolve().relative_to(work_dir.resolve())),
                rows=int(metadata.num_rows),
                columns=list(metadata.schema.to_arrow_schema().names),
                privacy=json.loads(
                    json.dumps(
                        privacy.get(name.removesuffix("_qi").removesuffix("_st"), {}), default=str
                    )
                ),
            )
        )
    return tables


def execute_run(run_id: str) -> str:
    """Execute the queued run ``run_id`` until it pauses, awaits upload, ends or is lost.

    Returns what happened, for django-q2's result record: "skipped" (not queued any more),
    "paused", "awaiting_upload", "uploaded", "failed", "lost" (stopped or taken over).
    """
    from privetl.engine.errors import EngineError
    from privetl.engine.stages import StageCancelled

    worker = worker_name()
    claim = services.run_claim(run_id=run_id, worker=worker)
    if claim is None:
        return "skipped"
    heartbeat: Heartbeat | None = None
    try:
        with connection_environment(claim.connections):
            staged = _staged_run(claim)
            heartbeat = Heartbeat(run_id=run_id, worker=worker, cancel=staged.cancel)
            heartbeat.start()
            if claim.run.upload:
                return _upload(claim, staged, worker)
            while (stage := staged.next_stage()) is not None:
                if not services.run_stage_begin(run_id=run_id, worker=worker, stage=stage):
                    return "lost"
                result = staged.run_stage(stage)
                metrics.stage_observe(stage, result.seconds)
                metrics.stage_rows(stage, rows_in=result.rows_in, rows_out=result.rows_out)
                action = services.run_stage_finish(
                    run_id=run_id,
                    worker=worker,
                    stage=stage,
                    seconds=result.seconds,
                    rows_in=result.rows_in,
                    rows_out=result.rows_out,
                    report_json=_report_json(staged),
                )
                if action == "pause":
                    return "paused"
                if action == "lost":
                    return "lost"
            held = services.run_await_upload(
                run_id=run_id,
                worker=worker,
                tables=_outbox_tables(staged, claim.work_dir),
                report_json=_report_json(staged),
            )
            if held:
                _count_rules(staged)
            return "awaiting_upload" if held else "lost"
    except StageCancelled:
        metrics.run_finished("cancelled")
        return "lost"
    except EngineError as exc:
        if services.run_fail(run_id=run_id, worker=worker, error=redact_text(str(exc))):
            metrics.run_finished("failed")
            metrics.run_failed(type(exc).__name__)
        return "failed"
    except Exception as exc:
        logger.exception("run %s failed unexpectedly", run_id)
        metrics.run_finished("failed")
        metrics.run_failed(type(exc).__name__)
        services.run_fail(
            run_id=run_id,
            worker=worker,
            error=(
                f"internal error ({type(exc).__name__}) in the worker; the worker's log has the "
                "details — report it, then Start the task again"
            ),
        )
        return "failed"
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _upload(claim: services.Claim, staged: Any, worker: str) -> str:
    """Publish the run's outbox tables (with the Data-Manager's edits) as the next version."""
    entries = entries_awaiting_upload(run_id=claim.run.id)
    edits = sum(e.edits for e in entries)
    started = time.perf_counter()
    published = staged.publish(
        {e.table: entry_file(e) for e in entries},
        lineage_note={"outbox_edits": edits, "run_id": claim.run.id},
    )
    logger.info("run %s uploaded in %.2f s", claim.run.id, time.perf_counter() - started)
    held = services.run_uploaded(
        run_id=claim.run.id,
        worker=worker,
        version=int(published.version),
        report_json=_report_json(staged),
    )
    if held:
        metrics.stage_observe("upload", time.perf_counter() - started)
        metrics.run_finished("succeeded")
    return "uploaded" if held else "lost"


def _count_rules(staged: Any) -> None:
    report = staged.report()
    for rule in getattr(report, "rules", []) or []:
        name = rule.get("rule") if isinstance(rule, dict) else getattr(rule, "rule", "")
        rows = (
            rule.get("rows_affected")
            if isinstance(rule, dict)
            else getattr(rule, "rows_affected", 0)
        )
        if name and rows:
            metrics.rule_rows_rejected(str(name), int(rows))
    for measures in (getattr(report, "privacy", {}) or {}).values():
        suppressed = measures.get("records_suppressed") if isinstance(measures, dict) else None
        if suppressed:
            metrics.records_suppressed(int(suppressed))


def recover_runs() -> int:
    """Scheduled: queue again the runs whose worker died (see ``services.runs_recover``),
    and publish the queue's depth and the age of its oldest run."""
    recovered = len(services.runs_recover())
    depth, oldest = selectors.queue_state()
    metrics.queue_observe(depth=depth, oldest_age_seconds=oldest)
    return recovered


def expire_outbox() -> int:
    """Scheduled: delete outbox data past its retention period."""
    return services.outbox_expire()
