"""The run metrics, the Grafana dashboard over them and the deployment that scrapes them agree.

- Every PromQL expression of ``deploy/grafana/dashboards/privetl.json`` parses, and every
  metric it names is one the platform exports (the runs' and workers', the REST door's, the
  gRPC door's, read from the live ``prometheus_client`` registry); a planted unknown name is
  reported, so a renamed metric cannot leave a silently empty panel.
- The worker's metrics server answers on a real port, summing its forked processes' values
  under ``PROMETHEUS_MULTIPROC_DIR``.
- ``deploy/prometheus/prometheus.yml`` scrapes the ports the compose services and the
  Kubernetes pods expose; ``deploy/compose.yaml`` is consistent (no docker compose here to
  run ``config -q``, so its references are checked after parsing it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

import privetl.platform.grpc_door
import privetl.platform.metrics
from privetl.runs import metrics as run_metrics

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "privetl.json"
# Grafana's interval macros are not PromQL; any duration stands in for them.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def exported_series(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """The series names a query can select, from the registered metric families.

    Taken from each family's name and type rather than its samples, so a labelled metric
    that has recorded nothing yet (no child, no sample) still counts as exported.
    """
    names: set[str] = set()
    for family in registry.collect():
        suffixes = SERIES_SUFFIXES.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
    return names


def panel_expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL expression) of every query target, rows' nested panels too."""
    stack = list(dashboard.get("panels", []))
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", "?"), target["expr"]


def queried_metrics(expr: str) -> set[str]:
    """The metric names an expression selects; a selector without a fixed name is an error."""
    for macro, duration in GRAFANA_MACROS.items():
        expr = expr.replace(macro, duration)
    tree = promql_parser.parse(expr)  # ValueError on a syntax error
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
                return
            fixed = [
                m.value
                for m in node.matchers.matchers
                if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
            ]
            if not fixed:
                raise ValueError(f"selector without a fixed metric name in {expr!r}")
            names.update(fixed)

    promql_parser.walk(tree, visit)
    return names


def unknown_metrics(dashboard: dict[str, Any], exported: set[str]) -> dict[str, set[str]]:
    """Panel title → the metrics its queries name that the platform does not export."""
    unknown: dict[str, set[str]] = {}
    for title, expr in panel_expressions(dashboard):
        missing = queried_metrics(expr) - exported
        if missing:
            unknown.setdefault(title, set()).update(missing)
    return unknown


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_every_panel_queries_a_metric_the_platform_exports(dashboard: dict[str, Any]) -> None:
    exported = exported_series()
    expressions = list(panel_expressions(dashboard))
    assert len(expressions) >= 15
    assert unknown_metrics(dashboard, exported) == {}


def test_the_dashboard_shows_every_run_metric_and_both_doors(dashboard: dict[str, Any]) -> None:
    queried = {name for _t, expr in panel_expressions(dashboard) for name in queried_metrics(expr)}
    families = [
        run_metrics.RUNS,
        run_metrics.STAGE_SECONDS,
        run_metrics.ROWS,
        run_metrics.RULE_ROWS_REJECTED,
        run_metrics.RECORDS_SUPPRESSED,
        run_metrics.QUEUE_DEPTH,
        run_metrics.QUEUE_OLDEST_AGE,
        run_metrics.WORKER_HEARTBEAT,
        run_metrics.RUN_FAILURES,
        privetl.platform.metrics.HTTP_REQUESTS,
        privetl.platform.metrics.HTTP_LATENCY,
        privetl.platform.grpc_door.GRPC_REQUESTS,
        privetl.platform.grpc_door.GRPC_LATENCY,
    ]
    for metric in families:
        family = next(iter(metric.describe()))
        series = {family.name + s for s in SERIES_SUFFIXES.get(family.type, ("",))}
        assert series & queried, f"no panel shows {family.name}"


def test_a_planted_unknown_metric_is_reported(dashboard: dict[str, Any]) -> None:
    planted = json.loads(json.dumps(dashboard))
    planted["panels"].append(
        {
            "type": "row",
            "title": "planted row",
            "panels": [
                {
                    "title": "planted",
                    "targets": [
                        {"expr": "sum(rate(privetl_runs_not_a_metric_total[$__rate_interval]))"},
                        # a counter's family name without _total is not a series either
                        {"expr": "privetl_runs"},
                        # nor is a histogram suffix on a counter
                        {"expr": "privetl_run_failures_total_bucket"},
                    ],
                }
            ],
        }
    )

    assert unknown_metrics(planted, exported_series()) == {
        "planted": {
            "privetl_runs_not_a_metric_total",
            "privetl_runs",
            "privetl_run_failures_total_bucket",
        }
    }


def test_histogram_series_are_known_by_their_suffixes() -> None:
    exported = exported_series()
    assert {
        "privetl_run_stage_seconds_bucket",
        "privetl_run_stage_seconds_sum",
        "privetl_run_stage_seconds_count",
        "privetl_http_request_seconds_bucket",
        "privetl_grpc_request_seconds_bucket",
    } <= exported
    assert "privetl_run_stage_seconds" not in exported  # a histogram has no bare series


def test_a_broken_expression_or_nameless_selector_is_an_error() -> None:
    with pytest.raises(ValueError):
        queried_metrics("sum(rate(privetl_runs_total[5m])")
    with pytest.raises(ValueError, match="fixed metric name"):
        queried_metrics('{__name__=~"privetl_.*"}')
    assert queried_metrics('{__name__="privetl_run_queue_depth"}') == {"privetl_run_queue_depth"}


def test_the_dashboard_uses_the_provisioned_datasource(dashboard: dict[str, Any]) -> None:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    used = {p["datasource"]["uid"] for p in dashboard["panels"] if p.get("type") != "row"} | {
        t["datasource"]["uid"] for p in dashboard["panels"] for t in p.get("targets", [])
    }
    assert used == uids == {"prometheus"}


# --- the run metrics and the worker's endpoint ---------------------------------------------


def test_label_values_outside_the_fixed_sets_are_refused() -> None:
    with pytest.raises(ValueError, match="stage must be one of"):
        run_metrics.stage_observe("users.csv", 1.0)
    with pytest.raises(ValueError, match="state must be one of"):
        run_metrics.run_finished("exploded")
    with pytest.raises(ValueError, match="stage must be one of"):
        run_metrics.stage_rows("load", rows_in=1, rows_out=1)


def test_the_metrics_port_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVETL_WORKER_METRICS_PORT", raising=False)
    assert run_metrics.worker_metrics_port() == 9108
    monkeypatch.setenv("PRIVETL_WORKER_METRICS_PORT", "9200")
    assert run_metrics.worker_metrics_port() == 9200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _scrape(port: int) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:  # noqa: S310
                text: str = answer.read().decode()
                return text
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


WORKER_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, sys, time
    from privetl.runs import metrics

    def stage(n):
        metrics.stage_observe("extract", 2.0)
        metrics.stage_rows("extract", rows_in=n, rows_out=n - 1)
        metrics.rule_rows_rejected("email_format", 1)
        metrics.worker_heartbeat("worker-a", now=1000.0 + n)

    if __name__ == "__main__":
        ctx = multiprocessing.get_context("fork")  # as a django-q2 cluster forks its workers
        metrics.start_worker_metrics_server(int(sys.argv[1]))
        children = [ctx.Process(target=stage, args=(n,)) for n in (10, 20, 30)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        metrics.queue_observe(depth=4, oldest_age_seconds=12.5)
        metrics.run_finished("succeeded")
        print("ready", flush=True)
        time.sleep(60)
    """
)


def test_the_worker_endpoint_sums_its_forked_processes(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    multiproc = tmp_path / "prometheus-worker"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PYTHONPATH": str(REPO)}
    env["PRIVETL_MODE"] = "embedded"
    env.pop("PRIVETL_BIND_HOST", None)
    port = _free_port()
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, str(script), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready", worker.stderr
        text = _scrape(port)
    finally:
        worker.kill()
        worker.wait(timeout=10)

    lines = set(text.splitlines())
    assert 'privetl_run_rows_total{direction="in",stage="extract"} 60.0' in lines
    assert 'privetl_run_rows_total{direction="out",stage="extract"} 57.0' in lines
    assert 'privetl_run_stage_seconds_count{stage="extract"} 3.0' in lines
    assert 'privetl_run_stage_seconds_bucket{le="2.5",stage="extract"} 3.0' in lines
    assert 'privetl_rule_rows_rejected_total{rule="email_format"} 3.0' in lines
    assert 'privetl_worker_heartbeat_timestamp_seconds{worker="worker-a"} 1030.0' in lines
    assert "privetl_run_queue_depth 4.0" in lines
    assert "privetl_run_queue_oldest_age_seconds 12.5" in lines
    assert 'privetl_runs_total{state="succeeded"} 1.0' in lines


# --- the deployment ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }


def test_compose_has_the_stack_and_its_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "migrate", "web", "grpc", "worker", "prometheus", "grafana"} <= set(
        services
    )
    assert services["worker"]["command"] == ["privetl", "worker"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"
        for config in service.get("configs", []):
            assert config["source"] in compose["configs"]
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()


def test_only_the_migration_holds_the_owner_role(compose: dict[str, Any]) -> None:
    services = compose["services"]
    holders = {n for n, s in services.items() if "DATABASE_OWNER_URL" in s.get("environment", {})}
    assert holders == {"migrate"}
    for name in ("web", "grpc", "worker"):
        assert "privetl_app:" in services[name]["environment"]["DATABASE_URL"]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_prometheus_scrapes_the_ports_compose_opens(compose: dict[str, Any]) -> None:
    services = compose["services"]
    targets = _scrape_targets()
    env = services["worker"]["environment"]
    assert targets == {
        "privetl-web": [f"web:{services['web']['environment']['PRIVETL_HTTP_PORT']}"],
        "privetl-grpc": [f"grpc:{services['grpc']['environment']['PRIVETL_GRPC_METRICS_PORT']}"],
        "privetl-worker": [f"worker:{env['PRIVETL_WORKER_METRICS_PORT']}"],
    }
    assert env["PROMETHEUS_MULTIPROC_DIR"] in " ".join(services["worker"]["tmpfs"])
    # the web's /metrics answers only to an allowed Host
    assert "web" in services["web"]["environment"]["PRIVETL_ALLOWED_HOSTS"].split(",")


def test_kubernetes_runs_the_worker_like_the_web() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "privetl.yaml").read_text()))
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    config = by_name["ConfigMap", "privetl-config"]["data"]
    worker, web = by_name["Deployment", "privetl-worker"], by_name["Deployment", "privetl-web"]
    pod = worker["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["privetl", "worker"]
    assert container["image"] == web["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container["envFrom"] == web["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert (
        pod["metadata"]["annotations"]["prometheus.io/port"]
        == config["PRIVETL_WORKER_METRICS_PORT"]
    )
    assert {"containerPort": 9108, "name": "metrics"} in container["ports"]
    grpc_pod = by_name["Deployment", "privetl-grpc"]["spec"]["template"]
    assert (
        grpc_pod["metadata"]["annotations"]["prometheus.io/port"]
        == config["PRIVETL_GRPC_METRICS_PORT"]
    )
