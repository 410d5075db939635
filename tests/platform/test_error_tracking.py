"""Error tracking reaches a real Sentry endpoint with every planted secret scrubbed, and is off
without ``SENTRY_DSN``.

A real HTTP server on loopback stands in for Sentry and keeps the envelopes it receives. A
``privetl`` process (a script that only sets up Django, so the settings' own hook starts the
SDK) logs a line, then dies of an unexpected exception whose message, local variable and
source line hold a connection string with a planted password: the server must receive the
event with the exception's type, and the planted password nowhere in the bytes it got.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from privetl.platform import error_tracking

REPO = Path(__file__).resolve().parents[2]
PLANTED = "S3cretPlant"
PLANTED_LOG = "L0gSecretPlant"
PLANTED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudCJ9.T0kenPlantSig"

SCRIPT = f'''
import logging
import os

import django
import sentry_sdk

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
django.setup()
print("initialised:", sentry_sdk.is_initialized(), flush=True)


def connect(connection_string):
    attempt = {{"url": connection_string, "password": "{PLANTED}"}}
    logging.getLogger("privetl.demo").warning("retrying with password={PLANTED_LOG}")
    logging.getLogger("privetl.demo").info("Authorization: Bearer {PLANTED_TOKEN}")
    raise ConnectionRefusedError(f"cannot reach {{connection_string}} ({{attempt}})")


connect("postgresql://u:{PLANTED}@h/db")
'''


@dataclass
class Received:
    """What the stand-in Sentry received: one (path, headers, decoded body) per request."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    assert encoding in ("", "identity"), f"unexpected Content-Encoding {encoding!r}"
    return body


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, Received]]:
    """A loopback HTTP server accepting Sentry envelopes; yields its DSN and what it got."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.raw.append(body)
            decoded = _decode(body, self.headers.get("Content-Encoding", "").lower())
            received.requests.append((self.path, dict(self.headers.items()), decoded))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp_path: Path, dsn: str | None) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "crash.py"
    script.write_text(SCRIPT)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRIVETL_", "SENTRY_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "PRIVETL_MODE": "embedded",
            "PRIVETL_VAR_DIR": str(tmp_path / "var"),
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONPATH": str(REPO),
        }
    )
    if dsn is not None:
        env["SENTRY_DSN"] = dsn
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _events(received: Received) -> list[dict[str, Any]]:
    """The event items of every envelope received (an envelope: header line, then items)."""
    events = []
    for path, _headers, body in received.requests:
        assert path.startswith("/api/1/envelope/"), path
        lines = body.split(b"\n")
        i = 1
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            item_header = json.loads(lines[i])
            payload = lines[i + 1]
            if item_header.get("type") == "event":
                events.append(json.loads(payload))
            i += 2
    return events


def test_an_unexpected_exception_is_reported_without_its_secrets(
    tmp_path: Path, sentry_server: tuple[str, Received]
) -> None:
    dsn, received = sentry_server
    done = _run(tmp_path, dsn)

    assert done.returncode == 1, done.stderr
    assert "initialised: True" in done.stdout
    assert "ConnectionRefusedError" in done.stderr  # the process still dies as it would
    events = _events(received)
    assert events, f"no event reached the server; stderr:\n{done.stderr}"
    exceptions = [v for e in events for v in e.get("exception", {}).get("values", [])]
    assert [v["type"] for v in exceptions] == ["ConnectionRefusedError"]
    # the message stays useful: which system, not its password
    assert "postgresql://u:***@h/db" in exceptions[0]["value"]
    frames = exceptions[0]["stacktrace"]["frames"]
    assert frames and all("vars" not in frame for frame in frames)
    crumbs = " ".join(str(c.get("message")) for e in events for c in e["breadcrumbs"]["values"])
    assert "password=***" in crumbs and "Bearer ***" in crumbs  # breadcrumbs sent, scrubbed

    everything = b"".join(body for _path, _headers, body in received.requests) + b"".join(
        received.raw
    )
    for planted in (PLANTED, PLANTED_LOG, PLANTED_TOKEN, PLANTED_TOKEN.split(".")[-1]):
        assert planted.encode() not in everything, f"{planted} reached the error tracker"


def test_without_a_dsn_nothing_is_initialised_or_sent(
    tmp_path: Path, sentry_server: tuple[str, Received]
) -> None:
    _dsn, received = sentry_server
    done = _run(tmp_path, None)

    assert done.returncode == 1, done.stderr
    assert "initialised: False" in done.stdout
    assert received.requests == []


def test_init_is_a_no_op_without_a_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert error_tracking.init_error_tracking() is False


def test_the_scrubber_cleans_request_headers_query_and_body() -> None:
    event = {
        "request": {
            "url": "https://privetl.example/api/v1/tasks",
            "query_string": "page_size=5&access_token=Q1plant&X-Amz-Signature=Q2plant",
            "headers": {
                "Authorization": "Bearer H1plant",
                "Cookie": "sessionid=H2plant",
                "X-Api-Key": "H3plant",
                "Accept": "application/json",
            },
            "cookies": {"sessionid": "H4plant"},
            "data": {"name": "ok", "connection": "s3://AKID:H5plant@bucket/x"},
        },
        "extra": {"dsn": "postgresql://u:H6plant@h/db", "note": "token=H7plant"},
        "breadcrumbs": {"values": [{"message": "GET https://TOKENH8plant@api.example/v1"}]},
    }

    cleaned = error_tracking._before_send(event, {})

    assert "plant" not in json.dumps(cleaned)
    assert cleaned["request"]["headers"]["Accept"] == "application/json"
    assert cleaned["request"]["query_string"].startswith("page_size=5&access_token=***")
    assert "data" not in cleaned["request"] and "cookies" not in cleaned["request"]
