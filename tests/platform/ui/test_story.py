"""The seed story end to end, in a real browser, as the people who live it.

A real ``privetl serve`` (SQLite in a temp dir, embedded mode, its embedded worker running the
runs) and a real OpenID provider (oidc-provider-mock in this process); Debian's chromium
driven by Playwright, one browser context per person so each keeps their own session:

- olga (connection owner), eddie (Task-Editor), tom (Task-Manager), dana (Data-Manager) and
  audrey (an ADMIN who audits) sign in with "Sign in with Example SSO" and are provisioned;
- root, the bootstrap admin, logs in locally and gives each their role on /ui/users/;
- olga creates the sample module's three connections (the SQLite legacy database, the shop's
  files, the FILE destination with the module's contract uploaded as a file) and tests one;
- eddie, tom and dana request access on /ui/connections/; olga approves (and denies one);
- eddie creates the task and every script the demo's task flow builds from the sample
  module, attaches them, has Release refused for the missing uploader (the problem and its
  link shown), follows the link, adds the uploader and releases;
- tom starts the run and watches the live progress fragment change stage without a reload,
  pauses it (it stops at the stage boundary), resumes it until the result awaits upload;
- dana reviews the outbox, has an edit refused by the privacy check, makes one it accepts;
- tom uploads; the run history shows the run SUCCEEDED with its published version;
- audrey reads the audit trail: the run's events, the access decisions, dana's edit.

Every page visited is saved as ``var/test-screenshots/story-NN-<what>.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from privetl.demo.connections_flow import _contract
from privetl.demo.engine_job import copy_sample_module
from privetl.demo.task_flow import scripts_of
from tests.platform.conftest import CLIENT_ID, OidcProvider
from tests.users.serve_helpers import ONCE, PRIVETL, free_port

SHOTS = Path(__file__).resolve().parents[3] / "var" / "test-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    ONCE,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt install chromium)"),
]

TASK = "customers-from-scripts"
SOURCE, FILES, DESTINATION = "customers-legacy-db", "customers-files", "customers"
PEOPLE = {
    "olga": ("Olga Owner", "CREATE_EXT_DATAMODULE"),
    "eddie": ("Eddie Editor", "EDIT_TASK"),
    "tom": ("Tom Taskmanager", "PROCESS_ETL_TASK"),
    "dana": ("Dana Datamanager", "MANAGE_DATA"),
    "audrey": ("Audrey Auditor", "ADMIN"),
}
GRANTS = (
    ("eddie", DESTINATION, "WRITE"),
    ("eddie", SOURCE, "READ"),
    ("eddie", FILES, "READ"),
    ("tom", SOURCE, "READ"),
    ("tom", FILES, "READ"),
    ("tom", DESTINATION, "WRITE"),
    ("dana", DESTINATION, "READ"),
)
"""The access each person asks olga for (the demo's task and run flows grant the same)."""


@dataclass
class Story:
    """The served platform, the provider, the sample module's files, the screenshots taken."""

    base: str
    issuer: str
    sources: Path
    published: Path
    contract: Path
    shots: list[str] = field(default_factory=list)
    csp_errors: list[str] = field(default_factory=list)

    def shot(self, page: Any, what: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.shots.append(what)
        name = f"story-{len(self.shots):02d}-{what}.png"
        page.screenshot(path=str(SHOTS / name), full_page=True)


def _wait_healthy(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"privetl serve exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"privetl serve was not healthy within 60s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def story(tmp_path: Path, oidc_provider: OidcProvider) -> Iterator[Story]:
    """``privetl serve`` with its embedded worker on a fresh SQLite database, trusting the
    local provider for browser sign-in; root bootstrapped as the first admin; the sample
    module's sources copied as they are and its contract as a file."""
    env = {
        **os.environ,
        "PRIVETL_VAR_DIR": str(tmp_path / "var"),
        "PRIVETL_MODE": "embedded",
        "PRIVETL_RUN_LEASE_SECONDS": "3",
        "PRIVETL_WORKER_POLL_SECONDS": "0.2",
        "PRIVETL_OIDC_ISSUERS": json.dumps(
            [
                {
                    "issuer": oidc_provider.issuer,
                    "audience": CLIENT_ID,
                    "client_id": CLIENT_ID,
                    "client_secret": "any",
                    "name": "Example SSO",
                }
            ]
        ),
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    http_port, grpc_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [
                *PRIVETL,
                "serve",
                "--workers",
                "1",
                "--grace",
                "0",
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for old in SHOTS.glob("story-*.png"):  # this story's pages only
        old.unlink()
    try:
        module = copy_sample_module(tmp_path / "work" / "module")  # while the server starts
        sources = module.parent.resolve()
        published = (tmp_path / "work" / "published").resolve()
        published.mkdir(parents=True)
        contract = tmp_path / "work" / "customers.contract.jsonld"
        contract.write_text(_contract(module), encoding="utf-8")
        _wait_healthy(server, http_port, log)  # serve migrates first in embedded mode
        subprocess.run(
            [*PRIVETL, "createadmin", "root", "Root Admin"], env=env, check=True, timeout=60
        )
        yield Story(
            base=f"http://127.0.0.1:{http_port}",
            issuer=oidc_provider.issuer,
            sources=sources,
            published=published,
            contract=contract,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        print(log.read_text()[-4000:])


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


def _person(browser: Any, story: Story) -> Any:
    """A browser context of one's own (its own cookies: its own session), and its page."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()

    def csp_refusal(message: Any) -> None:  # the browser logs what the policy blocked
        if message.type == "error" and "Content Security Policy" in message.text:
            story.csp_errors.append(f"{page.url}: {message.text}")

    page.on("console", csp_refusal)
    return page


def _main(page: Any) -> str:
    return str(page.inner_text("main"))


def _sso_login(page: Any, story: Story, user_id: str, name: str, *, shoot: bool) -> None:
    """Sign in at the provider as ``user_id`` (its claims set first, so the id is predictable)."""
    requests.put(
        f"{story.issuer}/users/story-{user_id}",
        json={
            "preferred_username": user_id,
            "name": name,
            "email": f"{user_id}@example.test",
        },
        timeout=5,
    ).raise_for_status()
    page.goto(story.base + "/ui/")
    page.wait_for_url("**/ui/login/")
    page.get_by_role("link", name="Sign in with Example SSO").click()
    page.wait_for_url(f"{story.issuer}/oauth2/authorize**")
    page.locator("input[name=sub]").fill(f"story-{user_id}")
    if shoot:
        story.shot(page, "sso-provider")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(story.base + "/ui/")
    assert user_id in page.inner_text("header")  # provisioned under its preferred_username
    if shoot:
        story.shot(page, f"dashboard-{user_id}")


def _create_connection(page: Any, story: Story, **values: str) -> None:
    page.goto(story.base + "/ui/connections/")
    page.get_by_role("link", name="Create connection").click()
    page.wait_for_url("**/ui/connections/new/")
    page.get_by_label("Type").select_option(values["type"])
    page.get_by_label("Id (optional").fill(values["id"])
    page.get_by_label("Name").fill(values["name"])
    page.get_by_label("Description (optional)").fill(values["description"])
    page.get_by_label("Connection string").fill(values["connection_string"])
    if "contract_file" in values:
        page.get_by_label("Upload the file").set_input_files(values["contract_file"])
        story.shot(page, "connection-form")
    page.get_by_role("button", name="Create connection").click()
    page.wait_for_url(f"**/ui/connections/{values['id']}/")
    assert f"Connection {values['id']} created, owned by olga" in _main(page)


def _request_access(page: Any, story: Story, connection_id: str, access: str) -> None:
    page.goto(story.base + "/ui/connections/")
    form = page.get_by_role("group", name=f"Request access to {connection_id}", exact=True)
    form.get_by_label(access, exact=True).check()
    form.get_by_label("Reason").fill("the customers task")
    form.get_by_role("button", name="Request access").click()
    page.wait_for_url("**/ui/connections/")
    assert f"Access requested on {connection_id} ({access})" in _main(page)


FORM_INPUTS = {
    "extractor": ("table", "kind", "priority", "connection_id", "config_json"),
    "field_rule": ("type", "field_type", "default_value", "min_value", "max_value"),
    "anonymization_rule": ("type", "parameters_json"),
}
SELECTS = {"kind", "type", "field_type"}


def _write_script(
    page: Any, story: Story, kind: str, script_id: str, body: dict[str, Any], *, shoot: bool
) -> None:
    """Eddie fills in a script's form as the demo's task flow sends it, saves and releases it."""
    page.goto(f"{story.base}/ui/scripts/new/{kind}/?task_id={TASK}")
    assert page.get_by_label("Task").input_value() == TASK
    page.get_by_label("Script id (optional)").fill(script_id)
    answers = body[kind]
    for name in FORM_INPUTS[kind]:
        value = answers.get(name)
        if value is None:
            continue
        if name in SELECTS:
            page.locator(f"#f-{name}").select_option(str(value))
        else:
            page.locator(f"#f-{name}").fill(str(value))
    fields = body.get("fields") or []
    if fields:
        page.get_by_label("Module of the fields").fill(fields[0]["ext_datamodule_id"])
        page.get_by_label("Fields", exact=True).fill("\n".join(f["field_name"] for f in fields))
    if shoot:
        story.shot(page, "script-form")
    page.get_by_role("button", name="Create the script").click()
    page.wait_for_url(f"**/ui/scripts/{script_id}/")
    assert f"Script {script_id} created" in _main(page)
    page.get_by_role("button", name="Release the script").click()
    page.wait_for_url(f"**/ui/scripts/{script_id}/")
    assert f"Script {script_id} released" in _main(page)
    if shoot:
        story.shot(page, "script-released")


def _attach(page: Any, slot: str, script_id: str) -> None:
    page.locator(f"#add-{slot}").select_option(script_id)
    section = page.locator(f"section[aria-labelledby={slot}]")
    section.get_by_role("button", name=re.compile(r"^(Add|Set)$")).click()
    page.wait_for_url(f"**/ui/tasks/{TASK}/#{slot}")
    assert section.get_by_role("link", name=script_id, exact=True).is_visible()  # in the list


def _progress(page: Any) -> str:
    return str(page.locator("#run-progress").inner_text())


def _wait_progress(page: Any, pattern: str, timeout: float = 60_000) -> str:
    """Wait until the live fragment (refetched by htmx) shows ``pattern``; its text."""
    from playwright.sync_api import expect

    expect(page.locator("#run-progress")).to_contain_text(re.compile(pattern), timeout=timeout)
    return _progress(page)


def _watch(page: Any, pattern: str, story: Story, shot: str = "") -> tuple[str, str]:
    """Watch the fragment the page just loaded until it shows ``pattern``, without a reload:
    its headline ("Run …: STATE · stage …") when first shown and when ``pattern`` came."""
    page.locator("#run-progress").wait_for()  # swapped in by htmx's load trigger
    document = page.evaluate("performance.timeOrigin")
    first = _progress(page).strip().splitlines()[0]
    if shot:
        story.shot(page, shot)
    last = _wait_progress(page, pattern).strip().splitlines()[0]
    assert page.evaluate("performance.timeOrigin") == document  # the same page all along
    return first, last


def _until_running(page: Any, timeout: float = 60) -> None:
    """Wait until the worker took the run, asking for the progress fragment as htmx does but
    more often than its 2 s (a sample run's stages last about a second each, so a pause
    clicked after htmx's next fetch could come too late).

    The run's own state is read (the span after its id): the fragment also carries the
    task's state out of band, which is RUNNING from Start on, while the run may still be
    QUEUED — a pause then takes effect at once, not after a stage."""
    url = urljoin(page.url, page.locator("#run-progress").get_attribute("hx-get"))
    deadline = time.monotonic() + timeout
    running = re.compile(r"</a>: <span class=\"state state-RUNNING\">RUNNING</span>")
    while not running.search(page.request.get(url, headers={"HX-Request": "true"}).text()):
        assert time.monotonic() < deadline, "no worker took the run"
        time.sleep(0.05)


def _audit_search(page: Any, story: Story, **filters: str) -> str:
    page.goto(story.base + "/ui/audit/")
    for label, value in filters.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/ui/audit/?**")
    return _main(page)


def test_the_seed_story_in_a_real_browser(story: Story, browser: Any) -> None:
    sample = json.loads((story.sources / "module.json").read_text(encoding="utf-8"))
    scripts = scripts_of(sample)

    # --- Login: root locally, the five people through SSO (each provisioned at first login)
    root = _person(browser, story)
    root.goto(story.base + "/ui/")
    root.wait_for_url("**/ui/login/")
    assert root.get_by_role("link", name="Sign in with Example SSO").is_visible()
    story.shot(root, "login")
    root.get_by_label("User id").fill("root")
    root.keyboard.press("Enter")
    root.wait_for_url("**/ui/")
    assert "root" in root.inner_text("header")

    pages = {}
    for user_id, (name, _role) in PEOPLE.items():
        pages[user_id] = _person(browser, story)
        _sso_login(pages[user_id], story, user_id, name, shoot=user_id == "olga")
    olga, eddie, tom, dana, audrey = (pages[p] for p in PEOPLE)
    olga.goto(story.base + "/ui/connections/")
    assert "Create connection" not in _main(olga)  # no role yet

    # --- The admin gives the roles
    root.goto(story.base + "/ui/users/")
    for user_id, (name, _role) in PEOPLE.items():
        assert re.search(rf"{user_id}\s+{name}\s+none", _main(root)), user_id
    story.shot(root, "users")
    for user_id, (_name, role) in PEOPLE.items():
        root.goto(f"{story.base}/ui/users/{user_id}/")
        assert "signed in" in _main(root)  # the SSO login is in their history
        root.get_by_label("Add a role").select_option(role)
        root.get_by_role("button", name="Add role").click()
        root.wait_for_url(f"**/ui/users/{user_id}/**")
        assert root.get_by_role("button", name=f"Remove {role} from {user_id}").is_visible()
    story.shot(root, "user-roles")
    root.goto(story.base + "/ui/users/")
    for user_id, (name, role) in PEOPLE.items():
        assert re.search(rf"{user_id}\s+{name}\s+{role}", _main(root)), user_id

    # --- olga creates the connections (Manage External Datamodule Connection)
    _create_connection(
        olga,
        story,
        type="SQL",
        id=SOURCE,
        name="Legacy customer database",
        description="The old CRM's customers (SQLite).",
        connection_string=f"sqlite:///{story.sources / 'customers_legacy.sqlite'}",
    )
    olga.get_by_role("button", name="Test connection").click()
    olga.wait_for_url(f"**/ui/connections/{SOURCE}/")
    assert f"Connection {SOURCE} works" in _main(olga)
    story.shot(olga, "connection-tested")
    _create_connection(
        olga,
        story,
        type="FILE",
        id=FILES,
        name="Shop export files",
        description="The CRM's customers (CSV) and the orders of the web shop and the stores.",
        connection_string=f"file://{story.sources}",
    )
    _create_connection(
        olga,
        story,
        type="FILE",
        id=DESTINATION,
        name="Published customers",
        description="Where the anonymized customers module is published.",
        connection_string=str(story.published),
        contract_file=str(story.contract),
    )
    shown = _main(olga)
    assert "Table customers" in shown and "Table orders" in shown  # the uploaded contract
    assert "birth_date" in shown and "primary key" in shown
    story.shot(olga, "connection-contract")

    # --- Get External Datamodule Access: eddie, tom, dana ask; olga decides
    for user_id, connection_id, access in GRANTS:
        _request_access(pages[user_id], story, connection_id, access)
    story.shot(dana, "access-requested")
    _request_access(dana, story, SOURCE, "READ")  # not needed to review: olga denies it
    olga.goto(story.base + "/ui/")  # the dashboard says what waits for her
    waiting = olga.locator("section[aria-labelledby=decide-h]").inner_text()
    assert "eddie asks WRITE on customers: “the customers task”" in waiting, waiting
    story.shot(olga, "dashboard-to-decide")
    olga.get_by_role("link", name="Decide them").click()
    olga.wait_for_url("**/ui/access-requests/")
    inbox = olga.get_by_role("table")
    assert inbox.get_by_role("row").count() == 1 + len(GRANTS) + 1
    story.shot(olga, "access-inbox")
    for user_id, connection_id, access in (*GRANTS, ("dana", SOURCE, "READ")):
        row = (
            olga.get_by_role("row")
            .filter(has=olga.get_by_role("cell", name=user_id, exact=True))
            .filter(has=olga.get_by_role("link", name=connection_id, exact=True))
            .first
        )
        denied = (user_id, connection_id) == ("dana", SOURCE)
        row.get_by_label(f"Note to {user_id}").fill("not for reviewing" if denied else "ok")
        row.get_by_role("button", name="Deny" if denied else "Approve").click()
        olga.wait_for_url("**/ui/access-requests/?tab=inbox")
        said = "Denied" if denied else "Approved"
        assert f"{said}: {user_id} on {connection_id} ({access})" in _main(olga)
    assert "Nothing waits for your decision" in _main(olga)
    dana.goto(story.base + "/ui/access-requests/?tab=mine")
    assert "denied" in _main(dana) and "not for reviewing" in _main(dana)
    story.shot(dana, "access-decided")

    # --- Manage ETL Task and Manage Scripts: eddie
    eddie.get_by_role("link", name="Tasks").click()
    eddie.wait_for_url("**/ui/tasks/")
    assert "No tasks yet: create the first below" in _main(eddie)
    eddie.get_by_label("Name").fill("Customers and orders, from scripts")
    eddie.get_by_label("Destination module (connection id)").fill(DESTINATION)
    eddie.get_by_label("Task id (optional)").fill(TASK)
    eddie.get_by_label("Seed").fill(str(sample.get("privetl:seed", 0)))
    story.shot(eddie, "tasks")
    eddie.get_by_role("button", name="Create the task").click()
    eddie.wait_for_url(f"**/ui/tasks/{TASK}/")
    assert f"Task {TASK} created" in _main(eddie) and "DRAFT" in _main(eddie)
    story.shot(eddie, "task-draft")

    kinds = {
        "extractors": ("extractor", "extraction_script_ids"),
        "field_rules": ("field_rule", "field_rule_script_ids"),
        "anonymization_rules": ("anonymization_rule", "anonymization_script_ids"),
    }
    for group, entries in scripts.items():
        kind, _slot = kinds[group]
        for script_id, body in entries:
            _write_script(
                eddie, story, kind, script_id, body, shoot=script_id == "customers_legacy"
            )
    eddie.goto(f"{story.base}/ui/tasks/{TASK}/")
    for group, entries in scripts.items():
        _kind, slot = kinds[group]
        for script_id, _body in entries:
            _attach(eddie, slot, script_id)
    story.shot(eddie, "task-scripts")

    eddie.get_by_role("button", name="Release the task").click()
    eddie.wait_for_url(f"**/ui/tasks/{TASK}/release/")
    problems = eddie.locator("section[aria-labelledby=problems-title]")
    assert "Not released" in problems.inner_text() and "no uploader" in problems.inner_text()
    assert "DRAFT" in _main(eddie)
    story.shot(eddie, "release-refused")
    problems.get_by_role("link", name="New uploader").click()
    eddie.wait_for_url(f"**/ui/scripts/new/uploader/?task_id={TASK}")
    assert eddie.get_by_label("Task").input_value() == TASK
    eddie.get_by_label("Script id (optional)").fill("publish_customers")
    eddie.get_by_label("Connection (optional)").fill(DESTINATION)
    assert eddie.get_by_label("Rewrite the collection protocol").is_checked()
    story.shot(eddie, "uploader-form")
    eddie.get_by_role("button", name="Create the script").click()
    eddie.wait_for_url("**/ui/scripts/publish_customers/")
    eddie.get_by_role("button", name="Release the script").click()
    eddie.wait_for_url("**/ui/scripts/publish_customers/")
    eddie.get_by_role("link", name=TASK).click()
    eddie.wait_for_url(f"**/ui/tasks/{TASK}/")
    _attach(eddie, "uploading_script_id", "publish_customers")
    eddie.get_by_role("button", name="Release the task").click()
    eddie.wait_for_url(f"**/ui/tasks/{TASK}/")
    assert f"Task {TASK} released" in _main(eddie) and "RELEASED" in _main(eddie)
    assert "module SHA-256" in _main(eddie)
    story.shot(eddie, "task-released")

    # --- Process ETL Task: tom starts, watches, pauses, resumes
    tom.goto(f"{story.base}/ui/tasks/{TASK}/")
    assert "No run of this task yet: Start runs it" in _progress(tom)
    tom.locator("#run-start").click()
    tom.wait_for_url(f"**/ui/tasks/{TASK}/")
    queued = re.search(r"Run (\S+) of task \S+ queued", _main(tom))
    assert queued, _main(tom)
    run_id = queued.group(1)
    tom.locator("#run-progress").wait_for()  # swapped in by htmx once the page loaded
    assert "updating every 2 s" in _progress(tom)
    _until_running(tom)  # the worker took it: Pause now waits for the stage it is in
    tom.locator("#run-pause").click()  # at once: the worker stops at the next stage boundary
    tom.wait_for_url(f"**/ui/tasks/{TASK}/")
    said = _main(tom)
    assert re.search(rf"Run {run_id} pauses when its current stage \(\w+\) finishes", said), said
    # each phase: what the fragment said when the page loaded it, and what it says once it
    # reached the phase's state, fetched again by htmx every 2 s on the same document
    moves = [_watch(tom, "PAUSED", story, shot="run-pause-requested")]
    assert tom.locator("#task-state").inner_text() == "PAUSED"  # the header follows it
    assert "updating every 2 s" not in _progress(tom)  # a paused run is not fetched again
    done_when_paused = tom.locator("#run-progress tr").count() - 1
    assert 1 <= done_when_paused < 5  # after the stage it was in, not at the start or the end
    assert "running" not in tom.locator("#run-progress table").inner_text()  # at a boundary
    assert tom.locator("#run-resume").is_visible()
    story.shot(tom, "run-paused")
    tom.locator("#run-resume").click()
    tom.wait_for_url(f"**/ui/tasks/{TASK}/")
    assert f"Run {run_id} queued again" in _main(tom)
    moves.append(_watch(tom, "AWAITING_UPLOAD · stage verify", story, shot="run-resumed"))
    assert tom.locator("#task-state").inner_text() == "AWAITING_UPLOAD"
    assert any(first != last for first, last in moves), moves  # it moved by itself
    stages = tom.locator("#run-progress table").inner_text()
    for stage in ("extract", "clean", "transform", "anonymize", "verify"):
        assert re.search(rf"{stage}\s+done", stages), stages
    assert "updating every 2 s" not in _progress(tom) and tom.locator("#run-upload").is_visible()
    story.shot(tom, "run-awaiting-upload")

    # --- Review Data: dana, the outbox
    dana.goto(story.base + "/ui/")  # the dashboard says what waits for review
    review = dana.locator("section[aria-labelledby=review-h]").inner_text()
    assert f"customers of {TASK}" in review and f"orders of {TASK}" in review, review
    story.shot(dana, "dashboard-to-review")
    dana.get_by_role("link", name="customers", exact=True).click()
    dana.wait_for_url("**/ui/outbox/")
    outbox = _main(dana)
    assert f"{DESTINATION} / customers" in outbox and f"{DESTINATION} / orders" in outbox
    story.shot(dana, "outbox")
    dana.get_by_role("row").filter(has_text=f"{DESTINATION} / customers").get_by_role(
        "link"
    ).first.click()
    dana.wait_for_url("**/ui/outbox/*/")
    entry_url = dana.url
    privacy = dana.locator("table").first.inner_text()
    assert re.search(r"k\s+\d+\s+at least 3\s+yes", privacy), privacy
    story.shot(dana, "outbox-entry")
    dana.get_by_role("link", name=re.compile(r"^Edit or delete record")).first.click()
    dana.wait_for_url("**/record/?key=*")
    key = dana.url.rsplit("key=", 1)[1]
    # a zip nobody else has would single the customer out: the privacy check refuses it
    dana.get_by_label(re.compile(r"^zip")).fill("99999")
    dana.get_by_label("Reason (kept in the audit log; optional)").first.fill("moved away")
    dana.get_by_role("button", name=f"Save record {key}").click()
    refused = dana.get_by_role("alert").inner_text()
    assert "would break the privacy targets of customers: measured k = 1" in refused, refused
    assert "nothing was changed" in refused
    assert dana.get_by_label(re.compile(r"^zip")).input_value() == "99999"  # the input kept
    story.shot(dana, "outbox-edit-refused")
    dana.goto(entry_url + f"record/?key={key}")
    assert dana.get_by_label(re.compile(r"^zip")).input_value() != "99999"  # nothing changed
    income = dana.get_by_label(re.compile(r"^income"))
    band = "0-25000" if income.input_value() != "0-25000" else "25000-50000"
    income.fill(band)
    dana.get_by_label("Reason (kept in the audit log; optional)").first.fill("income mistyped")
    dana.get_by_role("button", name=f"Save record {key}").click()
    dana.wait_for_url(entry_url)
    saved = _main(dana)
    assert f"Saved record {key} (income changed; revision 1)" in saved, saved
    assert re.search(
        r"privacy check of the changed data: k = \d+ \(target ≥ 3\), l = \d+ \(target ≥ 2\)", saved
    ), saved
    assert "the targets hold" in saved and "1 record change in 1 revision" in saved
    story.shot(dana, "outbox-edited")

    # --- Upload: tom
    tom.goto(f"{story.base}/ui/tasks/{TASK}/")
    tom.locator("#run-upload").click()
    tom.wait_for_url(f"**/ui/tasks/{TASK}/")
    assert f"Upload of run {run_id} queued" in _main(tom)
    _wait_progress(tom, "SUCCEEDED")
    tom.reload()
    assert "COMPLETED" in _main(tom)
    story.shot(tom, "task-completed")

    # --- View Run History: tom
    tom.get_by_role("link", name="Runs").click()
    tom.wait_for_url("**/ui/runs/")
    row = tom.get_by_role("row").filter(has=tom.get_by_role("link", name=run_id))
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[2] == "SUCCEEDED" and cells[4] == "tom", cells
    version = cells[-1]  # the run history names the version it published
    assert version.isdigit(), cells
    published = json.loads((story.published / "metadata.json").read_text(encoding="utf-8"))
    assert str(published["version"]).split(".")[0] == version  # really published there
    story.shot(tom, "run-history")
    row.get_by_role("link", name=run_id).click()
    tom.wait_for_url(f"**/ui/runs/{run_id}/")
    detail = _main(tom)
    assert re.search(r"State\s+SUCCEEDED", detail) and re.search(
        rf"Published version\s+{version}\b", detail
    ), detail
    assert "Privacy measures against their targets" in detail and "met" in detail
    story.shot(tom, "run")
    dana.goto(entry_url)
    assert "UPLOADED" in _main(dana) and f"as version {version}" in _main(dana)

    # --- Audit: audrey, an ADMIN, reads the trail
    _audit_search(audrey, story, **{"Target id": run_id})
    rows = [cells.split("\t") for cells in audrey.locator("main table tr").all_inner_texts()[1:]]
    trail = [(cells[2], cells[4]) for cells in reversed(rows)]  # (who, action), oldest first
    story_of_the_run = [
        ("tom", "run.queue"),
        ("system:worker", "run.start"),
        ("tom", "run.pause_request"),
        ("system:worker", "run.paused"),
        ("tom", "run.resume"),
        ("system:worker", "run.awaiting_upload"),
        ("tom", "run.upload_queued"),
        ("system:worker", "run.uploaded"),
    ]
    remaining = iter(trail)
    assert all(step in remaining for step in story_of_the_run), trail  # in this order
    assert trail.count(("system:worker", "run.stage_finish")) >= 5
    story.shot(audrey, "audit-run")
    decisions = _audit_search(audrey, story, **{"Actor (user id)": "olga"})
    assert decisions.count("access_request.approve") == len(GRANTS)
    assert "access_request.deny" in decisions and "connection.create" in decisions
    story.shot(audrey, "audit-access-decisions")
    given = _audit_search(audrey, story, **{"Actor (user id)": "root"})
    assert given.count("user.role_add") == len(PEOPLE)
    built = _audit_search(audrey, story, **{"Actor (user id)": "eddie"})
    assert "task.release" in built and "script.release" in built  # the newest first
    audrey.get_by_role("link", name="Next page").click()  # the search is kept across pages
    audrey.wait_for_url("**page_token=**")
    assert audrey.get_by_label("Actor (user id)").input_value() == "eddie"
    assert "task.create" in _main(audrey) and "script.create" in _main(audrey)
    edits = _audit_search(audrey, story, **{"Action (e.g. user.block)": "outbox.record_edit"})
    assert edits.count("outbox.record_edit") == 1 and "dana" in edits  # the refused one: none
    audrey.get_by_role("link", name="outbox.record_edit").click()
    audrey.wait_for_url("**/ui/audit/*/")
    record = _main(audrey)
    assert f"customers key {key}: income mistyped" in record, record
    assert re.search(rf'income\s+changed\s+"[^"]+"\s+"{band}"', record), record
    story.shot(audrey, "audit-record")

    assert not story.csp_errors, story.csp_errors
