"""A run on the Spark engine, driven from a real ``privetl worker`` (Spark in local mode, the
master from ``PRIVETL_SPARK_MASTER``): it goes stage by stage to the outbox and its upload
publishes the next version, as a DuckDB run does."""

from __future__ import annotations

import os

import pytest

from tests.runs.conftest import TASK, Platform

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="what Spark does here does not depend on the platform's database: "
        "the SQLite pass runs it",
    ),
]

PLATFORM_ENV = {"PRIVETL_RUN_ENGINE": "spark", "PRIVETL_SPARK_MASTER": "local[1]"}


def test_a_spark_run_goes_through_every_stage_and_uploads(platform: Platform) -> None:
    started = platform.call("POST", f"/tasks/{TASK}/start")
    assert started.status_code == 202, started.text
    run_id = str(started.json()["run_id"])
    with platform.worker():
        review = platform.wait(
            run_id,
            lambda r: r["state"] not in ("QUEUED", "RUNNING"),
            timeout=300,
            what="through verify on Spark",
        )
        assert review["state"] == "AWAITING_UPLOAD", review["error"]
        assert review["report"]["engine"] == "spark"
        assert set(review["timings"]) >= {"extract", "clean", "anonymize", "verify"}
        assert review["rows_in"] > review["rows_out"] > 0  # the cleaning rules dropped some
        uploaded = platform.call("POST", f"/tasks/{TASK}/start")  # Start of AWAITING_UPLOAD: upload
        assert uploaded.status_code in (200, 202), uploaded.text
        done = platform.wait(
            run_id, lambda r: r["state"] in ("SUCCEEDED", "FAILED"), timeout=300, what="uploaded"
        )
    assert done["state"] == "SUCCEEDED", done["error"]
    assert done["published_version"] >= 1
