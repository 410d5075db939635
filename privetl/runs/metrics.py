"""Prometheus metrics of background runs and of the workers that execute them.

A plain module over ``prometheus_client`` (no Django, no other privetl module), so any layer
may record into it: the worker's stage loop, the run services, a queue sampler. The REST
door's metrics are in ``privetl.platform.metrics`` and the gRPC door's in
``privetl.platform.grpc_door``; docs/monitoring.md lists them all with the dashboard's panels.

Label values are kept to small fixed sets so a data module cannot create series at will:
``stage`` is one of :data:`STAGES`, a final ``state`` one of :data:`FINAL_STATES`,
``direction`` ``in`` or ``out`` (the helpers refuse anything else with a ``ValueError``);
``rule`` is a rule's name from a released task (bounded by the tasks, never free text),
``cause`` a fixed word such as an error code (``INVALID_ARGUMENT``, ``worker_lost``) or an
exception's type name, never a message, and ``worker`` the worker's name (one per process).
No label ever holds a run id, a user, a path or a value from the data.

The worker forks its processes (a django-q2 cluster): with ``PROMETHEUS_MULTIPROC_DIR`` set
in the worker's environment *before it starts* (a fresh, empty directory, e.g. a tmpfs or an
``emptyDir``), every process writes its values there and :func:`start_worker_metrics_server`
serves their sum; the gauges declare how the processes' values combine.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

STAGES: tuple[str, ...] = ("extract", "clean", "transform", "anonymize", "verify", "upload")
"""The stages of a run, in the order the worker executes them."""

FINAL_STATES: tuple[str, ...] = ("succeeded", "failed", "cancelled")
"""The states a run ends in."""

DIRECTIONS: tuple[str, ...] = ("in", "out")
"""Rows entering a stage and rows leaving it."""

WORKER_METRICS_PORT_DEFAULT = 9108
"""The worker's metrics port unless ``PRIVETL_WORKER_METRICS_PORT`` says otherwise."""

STAGE_BUCKETS: tuple[float, ...] = (
    0.1,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1200,
    1800,
    3600,
    7200,
    14400,
    28800,
    float("inf"),
)
"""From 100 ms to 8 hours: a stage of a large extract or anonymization runs for hours."""

RUNS = Counter(
    "privetl_runs_total",
    "Runs that ended, by final state (succeeded, failed, cancelled).",
    ["state"],
)
STAGE_SECONDS = Histogram(
    "privetl_run_stage_seconds",
    "Time a run spent in one stage, in seconds, by stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
ROWS = Counter(
    "privetl_run_rows_total",
    "Rows that entered (in) and left (out) a stage of a run, by stage and direction.",
    ["stage", "direction"],
)
RULE_ROWS_REJECTED = Counter(
    "privetl_rule_rows_rejected_total",
    "Rows a cleaning rule rejected, by rule name.",
    ["rule"],
)
RECORDS_SUPPRESSED = Counter(
    "privetl_records_suppressed_total",
    "Records suppressed by anonymization (k-anonymity and the like) so they are not published.",
)
QUEUE_DEPTH = Gauge(
    "privetl_run_queue_depth",
    "Runs queued and not yet started.",
    multiprocess_mode="mostrecent",
)
QUEUE_OLDEST_AGE = Gauge(
    "privetl_run_queue_oldest_age_seconds",
    "Age in seconds of the oldest queued run (0 when the queue is empty).",
    multiprocess_mode="mostrecent",
)
WORKER_HEARTBEAT = Gauge(
    "privetl_worker_heartbeat_timestamp_seconds",
    "Unix time of a worker's last heartbeat, by worker; its age shows a stuck or dead worker.",
    ["worker"],
    multiprocess_mode="max",
)
RUN_FAILURES = Counter(
    "privetl_run_failures_total",
    "Runs that failed, by cause (an error code or exception type, never a message).",
    ["cause"],
)

for _state in FINAL_STATES:  # every series exists from the start, so rate() sees the first one
    RUNS.labels(_state)
for _stage in STAGES:
    STAGE_SECONDS.labels(_stage)
    for _direction in DIRECTIONS:
        ROWS.labels(_stage, _direction)


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    """``value`` when it is one of ``allowed``, else a ValueError naming the allowed ones."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def run_finished(state: str) -> None:
    """Count a run that ended in ``state`` (one of :data:`FINAL_STATES`)."""
    RUNS.labels(_one_of(state, FINAL_STATES, "state")).inc()


def run_failed(cause: str) -> None:
    """Count a failed run by its cause: a fixed word (error code, exception type name).

    Called alongside ``run_finished("failed")``; the cause must never be a message, which
    could hold data or a secret and would create a series per distinct text.
    """
    RUN_FAILURES.labels(cause).inc()


def stage_observe(stage: str, seconds: float) -> None:
    """Record that a run spent ``seconds`` in ``stage`` (one of :data:`STAGES`)."""
    STAGE_SECONDS.labels(_one_of(stage, STAGES, "stage")).observe(seconds)


def stage_rows(stage: str, *, rows_in: int, rows_out: int) -> None:
    """Count the rows that entered and left ``stage`` of one run."""
    _one_of(stage, STAGES, "stage")
    ROWS.labels(stage, "in").inc(rows_in)
    ROWS.labels(stage, "out").inc(rows_out)


def rule_rows_rejected(rule: str, rows: int) -> None:
    """Count ``rows`` rejected by the cleaning rule named ``rule`` in one run."""
    RULE_ROWS_REJECTED.labels(rule).inc(rows)


def records_suppressed(records: int) -> None:
    """Count ``records`` suppressed by anonymization in one run."""
    RECORDS_SUPPRESSED.inc(records)


def queue_observe(*, depth: int, oldest_age_seconds: float) -> None:
    """Set the queue's depth and the age of its oldest run, as a sampler read them.

    Gauges of the whole queue, not of a process: the most recent sample wins.
    """
    QUEUE_DEPTH.set(depth)
    QUEUE_OLDEST_AGE.set(oldest_age_seconds if depth else 0)


def worker_heartbeat(worker: str, *, now: float | None = None) -> None:
    """Record that ``worker`` is alive at ``now`` (default: the current Unix time).

    ``time() - privetl_worker_heartbeat_timestamp_seconds`` is the heartbeat's age: the
    dashboard shows it and an alert fires when it grows past a few heartbeat intervals.
    """
    WORKER_HEARTBEAT.labels(worker).set(time.time() if now is None else now)


def worker_metrics_port() -> int:
    """The worker's metrics port: ``PRIVETL_WORKER_METRICS_PORT``, else 9108 (0 turns it off)."""
    given = os.environ.get("PRIVETL_WORKER_METRICS_PORT", "").strip()
    return int(given) if given else WORKER_METRICS_PORT_DEFAULT


def _default_addr() -> str:
    """Where to listen, as the platform's servers do: ``PRIVETL_BIND_HOST``, else loopback
    in embedded mode (a laptop) and every interface in production (a container)."""
    given = os.environ.get("PRIVETL_BIND_HOST", "").strip()
    if given:
        return given
    embedded = os.environ.get("PRIVETL_MODE", "embedded").strip().lower() == "embedded"
    return "127.0.0.1" if embedded else "0.0.0.0"  # noqa: S104


def start_worker_metrics_server(port: int, *, addr: str | None = None) -> None:
    """Serve the worker's metrics on ``http://addr:port/metrics`` from a background thread.

    Under ``PROMETHEUS_MULTIPROC_DIR`` (the worker's forked processes) it serves the sum of
    every process's values, otherwise this process's registry. Call it once, in the worker's
    main process, before the cluster starts; ``port`` is usually :func:`worker_metrics_port`.
    """
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=addr or _default_addr(), registry=registry)
