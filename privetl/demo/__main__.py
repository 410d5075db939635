"""`make demo` / `python -m privetl.demo`.

1. The engine's main job: the shipped sample data module (examples/customers) is cleaned,
   anonymized, verified and published as a new version; the report is printed.
2. The platform on its embedded default (SQLite in ./var/demo): migrate, start
   `privetl serve` on free loopback ports, walk the access-request flow through the real
   gRPC and REST APIs, make the sample module's connections, build the sample module from
   scripts as a task (Release refused until the uploader is there), export it, run the
   export with `privetl run` and compare its rows with part 1's, stop the server. The
   server's own output (access log, the notification e-mails) goes to ./var/demo/serve.log.

Each run starts from an empty ./var/demo, so the demo can be repeated.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEMO_VAR = Path("var/demo").resolve()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"privetl serve exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"privetl serve did not answer {url} within {timeout:.0f}s")


def _banner(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)), flush=True)


def engine_part() -> None:
    """The engine's main job on the sample module."""
    _banner("1/3 The engine: publish the sample data module")
    from privetl.demo.engine_job import run_engine_job

    run_engine_job()


def _port(preferred: int) -> int:
    """``preferred`` when nothing listens there (a URL people can remember), else a free one."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return _free_port()
    return preferred


def print_demo_users(http_port: int, *, serving: bool) -> None:
    """The web UI's address and the people of the seed story to log in as (by user id: the
    embedded default has no passwords), read from the platform's own database."""
    from privetl.users.models import User, UserRole

    roles: dict[str, list[str]] = {}
    for user_id, role in UserRole.objects.order_by("user_id", "role").values_list("user_id", "role"):
        roles.setdefault(user_id, []).append(role)
    if serving:
        print(f"\nweb UI: http://127.0.0.1:{http_port}/ui/  — log in with one of these user ids:")
    else:
        print(
            "\nweb UI: `make demo-ui` runs this demo and keeps the platform up at "
            "http://127.0.0.1:8000/ui/ (port 8000 when free) — log in with one of these user ids:"
        )
    for user in User.objects.order_by("id"):
        held = ", ".join(roles.get(user.id, [])) or "no role (a requester or connection owner)"
        print(f"  {user.id:<12} {user.name:<28} {held}")


def platform_part(*, keep_serving: bool = False) -> None:
    """The platform on SQLite: the access-request flow, the connections and a task built
    from scripts, through the real gRPC and REST APIs; the task's export run by the engine.
    With ``keep_serving`` the platform stays up afterwards (web UI, APIs, a worker) until Ctrl-C."""
    _banner("2/3 The platform: access, connections and a task over gRPC and REST")
    shutil.rmtree(DEMO_VAR, ignore_errors=True)
    DEMO_VAR.mkdir(parents=True)
    env = {**os.environ, "PRIVETL_VAR_DIR": str(DEMO_VAR), "PRIVETL_MODE": "embedded"}
    env.pop("DATABASE_URL", None)
    os.environ.update({"PRIVETL_VAR_DIR": str(DEMO_VAR), "PRIVETL_MODE": "embedded"})
    os.environ.pop("DATABASE_URL", None)
    privetl = [sys.executable, "-m", "privetl.cli"]
    subprocess.run([*privetl, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    http_port = _port(8000) if keep_serving else _free_port()
    grpc_port = _port(50051) if keep_serving else _free_port()
    log = DEMO_VAR / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*privetl, "serve", "--http-port", str(http_port), "--grpc-port", str(grpc_port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"http://127.0.0.1:{http_port}/healthz", server)
        print(f"platform up: REST http://127.0.0.1:{http_port}/api/v1/  gRPC 127.0.0.1:{grpc_port}")
        print(f"server log (access log, notification e-mails): {log}", flush=True)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
        django.setup()
        from privetl.demo.access_flow import run_access_flow
        from privetl.demo.connections_flow import run_connections_flow
        from privetl.demo.engine_job import DEMO_OUT
        from privetl.demo.run_flow import run_run_flow
        from privetl.demo.task_flow import run_task_flow

        run_access_flow(http_port=http_port, grpc_port=grpc_port)
        run_connections_flow(
            http_port=http_port, grpc_port=grpc_port, work_dir=DEMO_VAR / "connections"
        )
        run_task_flow(
            http_port=http_port,
            grpc_port=grpc_port,
            work_dir=DEMO_VAR / "connections",
            reference=(DEMO_OUT / "published").resolve(),
        )
        _banner("3/3 Runs: start, pause, resume, review the outbox, upload version 2")
        run_run_flow(http_port=http_port, grpc_port=grpc_port, work_dir=DEMO_VAR / "connections")
        print_demo_users(http_port, serving=keep_serving)
        if keep_serving:
            print("\nthe platform keeps running (web UI, REST, gRPC, a worker); Ctrl-C stops it", flush=True)
            try:
                server.wait()
            except KeyboardInterrupt:
                print("\nstopping the platform")
    except BaseException:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        print(f"\nthe demo failed; the end of {log}:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main(argv: list[str] | None = None) -> int:
    """Run both parts (or one: ``--only engine|platform``); exit non-zero if either fails."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m privetl.demo", description=__doc__)
    parser.add_argument("--only", choices=["engine", "platform"])
    parser.add_argument(
        "--serve",
        action="store_true",
        help="keep the platform running after the demo (web UI on :8000 if free) until Ctrl-C",
    )
    args = parser.parse_args(argv)
    if args.only in (None, "engine"):
        engine_part()
    if args.only in (None, "platform"):
        platform_part(keep_serving=args.serve)
    _banner("demo complete")
    print("API docs: run `privetl serve` and open http://127.0.0.1:8000/api/docs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
