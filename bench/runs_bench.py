"""A platform run against ``privetl run`` of the same document, and Pause/Stop latency.

    .venv/bin/python bench/runs_bench.py [--copies 5000] [--runs 2]

Starts a real ``privetl serve`` (no embedded worker; SQLite in a temporary directory, or
DATABASE_URL if set), configures the demo's task through the APIs (the access, connections
and task flows of ``make demo``), and makes the CRM's customers file ``--copies`` times
larger (200 rows each: 5,000 copies is 1M rows; the quasi-identifiers are copied, so the
privacy targets still hold). Then, in this order:

1. **Baseline**: ``privetl run`` of the task's exported document (GET /tasks/{id}/module),
   the connections supplied as variables, as docs/tasks.md says — one process, one pass.
2. **Platform run**: Start over REST, a real ``privetl worker`` executes the five stages
   with their Parquet checkpoints, the result waits in the outbox, Start again uploads it;
   wall time from the first Start to SUCCEEDED (the polling adds at most 0.1 s).
3. **Pause → PAUSED** during the clean stage (the rest of the current stage: a pause never
   cuts a stage), and **Stop → worker free**: Stop during clean, then the time until the same
   single-process worker takes the next run (the stage's query interrupted, the lease let go).

Prints the times and the ratio platform / baseline; goal (issue #12): overhead under 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.runs.conftest import SETUP, TASK, enlarge_customers  # noqa: E402
from tests.users.serve_helpers import PRIVETL, free_port  # noqa: E402

GOAL = 1.10


def _call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    response.raise_for_status()
    return response


def _wait(
    base: str, token: str, run_id: str, states: set[str], timeout: float = 3600
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _call(base, token, "GET", f"/runs/{run_id}").json()
        if run["state"] in states:
            return dict(run)
        if run["state"] == "FAILED":
            raise SystemExit(f"run {run_id} failed: {run['error']}")
        time.sleep(0.1)
    raise SystemExit(f"run {run_id} not {states} within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=2, help="baseline/platform pairs, alternated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privetl-runs-bench-") as tmp:
        directory = Path(tmp)
        env = {**os.environ, "PRIVETL_VAR_DIR": str(directory / "var"), "PRIVETL_MODE": "embedded"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([*PRIVETL, "migrate", "--no-input", "-v", "0"], env=env, check=True)
        http_port, grpc_port = free_port(), free_port()
        server = subprocess.Popen(
            [
                *PRIVETL,
                "serve",
                "--workers",
                "0",
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ],
            env=env,
            stdout=(directory / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        worker = None
        try:
            base = f"http://127.0.0.1:{http_port}/api/v1"
            for _ in range(200):
                try:
                    if requests.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.3)
            work = directory / "work"
            done = subprocess.run(
                [sys.executable, "-c", SETUP, str(http_port), str(grpc_port), str(work)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            tokens = dict(
                line.split(" ", 1)
                for line in done.stdout.splitlines()
                if line[:5] in ("TOKEN", "ADMIN")
            )
            tom = tokens["TOKEN"]
            rows = enlarge_customers((work / "module").resolve(), args.copies)
            print(f"customers file: {rows:,} rows (+ the legacy source and the orders)")

            # 1. baseline: privetl run of the exported document
            exported = _call(base, tokens["ADMIN"], "GET", f"/tasks/{TASK}/module")
            document = directory / "baseline" / "module.json"
            document.parent.mkdir()
            document.write_bytes(exported.content)
            needs = json.loads(exported.headers["Privetl-Connections"])
            secrets = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import os, sys, json, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings'); django.setup();"
                    "from privetl.datamodules.selectors import connection_secret_for_run as s;"
                    "print(json.dumps({n['variable']: s(n['connection_id']) for n in json.loads(sys.argv[1])}))",
                    json.dumps(needs),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            run_env = {**env, **json.loads(secrets.stdout)}
            out = directory / "baseline-published"

            def baseline_run() -> float:
                started = time.perf_counter()
                subprocess.run(
                    [
                        *PRIVETL,
                        "run",
                        str(document),
                        "--out",
                        str(out),
                        "--report-dir",
                        str(directory / "baseline-report"),
                    ],
                    env=run_env,
                    check=True,
                    capture_output=True,
                )
                return time.perf_counter() - started

            # 2. the platform run, through the outbox and the upload
            worker = subprocess.Popen(
                [*PRIVETL, "worker", "--processes", "1", "--metrics-port", "0"],
                env=env,
                stdout=(directory / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

            def platform_run() -> float:
                started = time.perf_counter()
                run_id = _call(base, tom, "POST", f"/tasks/{TASK}/start").json()["run_id"]
                verified = _wait(base, tom, run_id, {"AWAITING_UPLOAD"})
                to_outbox = time.perf_counter() - started
                _call(base, tom, "POST", f"/tasks/{TASK}/start")
                uploaded = _wait(base, tom, run_id, {"SUCCEEDED"})
                platform = time.perf_counter() - started
                stages = ", ".join(f"{k} {v:.1f}" for k, v in verified["timings"].items())
                print(f"platform run, Start → outbox:      {to_outbox:8.1f} s  ({stages})")
                print(
                    f"platform run, Start → uploaded:    {platform:8.1f} s  (version {uploaded['published_version']})"
                )
                return platform

            # Alternated, so that a warm cache or a busy core favours neither; the best of each.
            baselines: list[float] = []
            platforms: list[float] = []
            for _ in range(args.runs):
                baselines.append(baseline_run())
                print(f"privetl run (baseline):            {baselines[-1]:8.1f} s")
                platforms.append(platform_run())
            baseline, platform = min(baselines), min(platforms)
            ratio = platform / baseline
            print(
                f"best of {args.runs}: baseline {baseline:.1f} s, platform {platform:.1f} s; "
                f"ratio platform / baseline {ratio:.2f}   goal ≤ {GOAL:.2f}: {'met' if ratio <= GOAL else 'NOT met'}"
            )

            # 3. Pause → PAUSED and Stop → worker free, during the clean stage
            run_id = _call(base, tom, "POST", f"/tasks/{TASK}/start").json()["run_id"]
            _wait_stage(base, tom, run_id, "clean")
            asked = time.perf_counter()
            _call(base, tom, "POST", f"/tasks/{TASK}/pause")
            paused = _wait(base, tom, run_id, {"PAUSED"})
            print(
                f"Pause → PAUSED (rest of clean):    {time.perf_counter() - asked:8.1f} s  (clean took {paused['timings'].get('clean', 0):.1f} s)"
            )
            _call(base, tom, "POST", f"/tasks/{TASK}/resume")
            _wait_stage(base, tom, run_id, "transform", also=("anonymize",))
            _call(base, tom, "POST", f"/tasks/{TASK}/stop", {"clear_outbox": True})
            run_id = _call(base, tom, "POST", f"/tasks/{TASK}/start").json()["run_id"]
            _wait_stage(base, tom, run_id, "clean")
            time.sleep(1.0)
            asked = time.perf_counter()
            _call(base, tom, "POST", f"/tasks/{TASK}/stop", {"clear_outbox": True})
            next_run = _call(base, tom, "POST", f"/tasks/{TASK}/start").json()["run_id"]
            while _call(base, tom, "GET", f"/runs/{next_run}").json()["state"] == "QUEUED":
                time.sleep(0.05)
            print(
                f"Stop → the worker takes the next:  {time.perf_counter() - asked:8.1f} s  (the heartbeat looks every 2 s)"
            )
            _call(base, tom, "POST", f"/tasks/{TASK}/stop", {"clear_outbox": True})
        finally:
            if worker is not None:
                os.killpg(worker.pid, signal.SIGKILL)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return 0


def _wait_stage(base: str, token: str, run_id: str, stage: str, also: tuple[str, ...] = ()) -> None:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        run = _call(base, token, "GET", f"/runs/{run_id}").json()
        if run["state"] == "RUNNING" and run["stage"] in (stage, *also):
            return
        time.sleep(0.05)
    raise SystemExit(f"run {run_id} never reached {stage}")


if __name__ == "__main__":
    sys.exit(main())
