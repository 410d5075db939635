"""HTTP sources against a real http.server on 127.0.0.1: every pagination style and errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import extract_script
from privetl.engine.extract.http import dotted, safe_url

from .helpers import PEOPLE, script, staged_rows

ROWS = [{"id": i, "name": f"n{i}", "score": i / 2} for i in range(1, 8)]
PAGE = 3
REQUESTS: list[tuple[str, dict[str, str]]] = []


class Api(BaseHTTPRequestHandler):
    """A small JSON API: /page?page=N, /cursor?after=C, /next, /list, /error, /slow, /text."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        REQUESTS.append((self.path, {k: v for k, v in self.headers.items()}))
        if parts.path == "/page":
            n = int(query.get("page", "1"))
            body: object = {"data": {"items": ROWS[(n - 1) * PAGE : n * PAGE]}}
        elif parts.path == "/cursor":
            start = int(query.get("after", "0"))
            chunk = ROWS[start : start + PAGE]
            body = {"items": chunk, "meta": {"next": start + PAGE if start + PAGE < len(ROWS) else None}}
        elif parts.path == "/next":
            start = int(query.get("from", "0"))
            nxt = f"/next?from={start + PAGE}" if start + PAGE < len(ROWS) else None
            body = {"results": ROWS[start : start + PAGE], "links": {"next": nxt}}
        elif parts.path == "/list":
            body = [{"id": 1, "name": "auth " + self.headers.get("Authorization", "-")}]
        elif parts.path == "/slow":
            time.sleep(2)
            body = []
        elif parts.path == "/text":
            self._send(200, b"<html>not json</html>")
            return
        else:
            self._send(503, b'{"error": "down"}')
            return
        self._send(200, json.dumps(body).encode())

    def _send(self, status: int, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(tmp_path: Path, source: dict):
    return extract_script(
        script({"kind": "http", **source}), PEOPLE, base_dir=tmp_path, staging_dir=tmp_path / "stage"
    )


def expected(ids: range) -> list[tuple[str, str, str]]:
    return [(str(i), f"n{i}", json.dumps(i / 2)) for i in ids]


def triples(staged) -> list[tuple[str, str, str]]:
    return [(r["id"], r["name"], r["score"]) for r in staged_rows(staged)]


def test_page_numbers_until_empty_page(tmp_path: Path, api: str) -> None:
    REQUESTS.clear()
    staged = run(
        tmp_path,
        {"url": f"{api}/page", "records_path": "data.items", "pagination": {"type": "page"}},
    )
    assert triples(staged) == expected(range(1, 8))
    assert [p for p, _ in REQUESTS] == ["/page?page=1", "/page?page=2", "/page?page=3", "/page?page=4"]
    assert [r["_src_row"] for r in staged_rows(staged)] == list(range(7))


def test_max_pages_bounds_the_walk(tmp_path: Path, api: str) -> None:
    staged = run(
        tmp_path,
        {"url": f"{api}/page", "records_path": "data.items", "pagination": {"type": "page", "max_pages": 2}},
    )
    assert triples(staged) == expected(range(1, 7))


def test_cursor_pagination(tmp_path: Path, api: str) -> None:
    staged = run(
        tmp_path,
        {
            "url": f"{api}/cursor",
            "records_path": "items",
            "pagination": {"type": "cursor", "param": "after", "cursor_path": "meta.next"},
        },
    )
    assert triples(staged) == expected(range(1, 8))


def test_next_url_pagination_relative_links(tmp_path: Path, api: str) -> None:
    staged = run(
        tmp_path,
        {"url": f"{api}/next", "records_path": "results", "pagination": {"type": "next_url", "next_url_path": "links.next"}},
    )
    assert triples(staged) == expected(range(1, 8))


def test_body_is_the_list_and_headers_expand_env(tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVETL_TEST_API_TOKEN", "tok123")
    staged = run(tmp_path, {"url": f"{api}/list", "headers": {"Authorization": "Bearer ${PRIVETL_TEST_API_TOKEN}"}})
    assert triples(staged) == [("1", "auth Bearer tok123", None)]
    monkeypatch.delenv("PRIVETL_TEST_API_TOKEN")
    with pytest.raises(ExtractionError, match=r"environment variable PRIVETL_TEST_API_TOKEN \(used in the request\) is not set"):
        run(tmp_path, {"url": f"{api}/list", "headers": {"Authorization": "Bearer ${PRIVETL_TEST_API_TOKEN}"}})


def test_http_errors_hide_query_secrets(tmp_path: Path, api: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        run(tmp_path, {"url": f"{api}/broken?api_key=topsecret&page=1", "pagination": {"type": "page"}})
    assert str(caught.value) == (
        f"extraction script 'src' failed: HTTP 503 Service Unavailable from {api}/broken?api_key=***&page=1"
    )
    with pytest.raises(ExtractionError, match=r"no response from .*/slow within 0.5 s"):
        run(tmp_path, {"url": f"{api}/slow", "timeout_seconds": 0.5})
    with pytest.raises(ExtractionError, match=r"the response of .*/text is not JSON"):
        run(tmp_path, {"url": f"{api}/text"})
    with pytest.raises(ExtractionError, match=r"holds no list of records at 'data' \(found dict\)"):
        run(tmp_path, {"url": f"{api}/page", "records_path": "data"})


def test_helpers() -> None:
    assert safe_url("https://u:pw@h.example:8443/a?key=s&page=2", keep=frozenset({"page"})) == (
        "https://h.example:8443/a?key=***&page=2"
    )
    assert dotted({"a": {"b": [10, {"c": 3}]}}, "a.b.1.c") == 3
    assert dotted({"a": 1}, "a.b") is None
    assert dotted([1], "") == [1]
