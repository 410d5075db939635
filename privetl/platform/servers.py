"""How the platform's two servers are started: gunicorn for HTTP, grpcio for gRPC.

Shared by ``privetl web``, ``privetl grpc`` and ``privetl serve`` so that the embedded
default and a production deployment run the very same servers with the same settings.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import gunicorn
from django.conf import settings


def default_host() -> str:
    """Loopback in embedded mode (a laptop), every interface in production (a container)."""
    return os.environ.get("PRIVETL_BIND_HOST") or ("127.0.0.1" if settings.EMBEDDED else "0.0.0.0")  # noqa: S104


def web_workers() -> int:
    """Gunicorn worker processes: ``PRIVETL_WEB_WORKERS``, else 2 (embedded) or 2×CPU+1."""
    given = os.environ.get("PRIVETL_WEB_WORKERS", "").strip()
    if given:
        return max(1, int(given))
    return 2 if settings.EMBEDDED else 2 * (os.cpu_count() or 1) + 1


def gunicorn_environment() -> dict[str, str]:
    """The environment for gunicorn: Prometheus multiprocess mode in a fresh directory.

    Each worker is a process with its own counters; with ``PROMETHEUS_MULTIPROC_DIR`` they
    write them to files there and ``/metrics`` (any worker) adds them all up.
    """
    env = dict(os.environ)
    directory = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "prometheus-web")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return env


def gunicorn_argv(*, host: str, port: int, workers: int | None = None) -> list[str]:
    """The command line of a gunicorn serving ``privetl.config.wsgi`` (threads per worker too)."""
    # Embedded (2 workers): one thread per worker, so a busy worker never takes a second
    # connection while the other idles (bench/getuser_bench.py: REST p99 at 2 clients went
    # from 12-23 ms in half the runs to 7 ms). Production: 2xCPU+1 workers of 4 threads.
    threads = os.environ.get("PRIVETL_WEB_THREADS") or ("1" if settings.EMBEDDED else "4")
    # gunicorn 27 opens a control socket at one fixed path per user; two servers on one
    # machine (tests, several instances) would fight over it, and we never use it.
    extra = ["--no-control-socket"] if gunicorn.version_info >= (27,) else []
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "privetl.config.wsgi:application",
        "--bind",
        f"{host}:{port}" if ":" not in host else f"[{host}]:{port}",
        "--workers",
        str(workers or web_workers()),
        "--threads",
        threads,
        "--worker-tmp-dir",
        "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp",  # noqa: S108
        "--graceful-timeout",
        "20",
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(r)s" %(s)s %(b)s %(L)ss',  # no headers: tokens never reach the log
        *extra,
    ]
