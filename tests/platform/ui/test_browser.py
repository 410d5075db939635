"""The UI in a real browser: Debian's chromium driven by Playwright against a live server.

A Data-Manager logs in through the login page with the keyboard, sees the dashboard, asks for
access to a connection, opens the run history and a run's page with its charts, and the
outbox; a screenshot of every page is saved under ``var/test-screenshots/`` (the README
shows some). Playwright's own browser download is unavailable here: the test launches the
system chromium (``.ci/run`` installs it) and skips, saying why, where none can be had.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privetl.users.models import AccessRequest
from tests.runs.ui.test_views import _run
from tests.scripts.helpers import connection, grant, user
from tests.users.serve_helpers import ONCE

SHOTS = Path(__file__).resolve().parents[3] / "var" / "test-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    ONCE,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt install chromium)"),
]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API refuses to run inside an event loop; Django's async-unsafe check
    # then trips on the test's own ORM calls, which run outside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        try:
            yield page
        finally:
            browser.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_data_manager_walks_the_pages_in_a_real_browser(live_server: Any, browser_page: Any) -> None:
    page = browser_page
    connection("customers")
    connection("payroll")
    user("dana", "MANAGE_DATA")
    grant("dana", "customers", "READ")
    run_id = _run("t-browser")

    page.goto(live_server.url + "/")
    assert page.url.endswith("/ui/login/")
    _shot(page, "login")
    page.get_by_label("User id").fill("dana")
    page.keyboard.press("Enter")  # usable by keyboard: no click needed
    page.wait_for_url("**/ui/")
    _shot(page, "dashboard")
    assert "dana" in page.inner_text("header")

    page.get_by_role("link", name="Connections").click()
    page.wait_for_url("**/ui/connections/")
    form = page.get_by_role("group", name="Request access to payroll")
    form.get_by_label("READ").check()
    form.get_by_label("Reason").fill("quarterly report")
    form.get_by_role("button", name="Request access").click()
    page.wait_for_url("**/ui/connections/")
    assert "Access requested on payroll (READ)" in page.inner_text("main")
    _shot(page, "connections")
    assert AccessRequest.objects.get(user_id="dana", ext_datamodule_id="payroll").state == "pending"

    page.get_by_role("link", name="Runs").click()
    page.get_by_role("link", name=run_id).click()
    page.wait_for_url(f"**/ui/runs/{run_id}/")
    stages = page.get_by_role("img", name="Seconds per stage")
    assert stages.is_visible() and stages.locator("rect").count() == 2  # two stages
    rules = page.get_by_role("img", name="Rows each rule changed or removed")
    assert rules.locator("rect").count() == 2  # two rules changed rows
    _shot(page, "run")

    page.get_by_role("link", name="Outbox").click()
    page.wait_for_url("**/ui/outbox/")
    assert "Nothing waits for review" in page.inner_text("main")
    _shot(page, "outbox")

    page.set_viewport_size({"width": 390, "height": 800})  # a phone's width
    page.goto(live_server.url + f"/ui/runs/{run_id}/")
    _shot(page, "run-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
