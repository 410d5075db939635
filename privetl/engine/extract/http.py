"""HTTP sources: a JSON API read page by page (none, page number, cursor or next URL).

One page is held at a time; its records (at ``records_path``) are staged before the next
page is requested. Walking stops at an empty page, when there is no next cursor/URL, or at
``max_pages``. Header values may hold ``${ENV}`` references (an API token), expanded here;
errors show the URL with its query values masked, since APIs often take keys there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.env import MissingVariable, expand_env
from privetl.engine.extract.staging import JsonNumber, StagedWriter, source_fields, text_schema
from privetl.engine.metadata import HttpSource, SourceScript, Table

USER_AGENT = "privetl-extract/1"


def safe_url(url: str, *, keep: frozenset[str] = frozenset()) -> str:
    """``url`` fit for a message: no user/password, query values masked except ``keep``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = urlencode([(k, v if k in keep else "***") for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def dotted(value: Any, path: str) -> Any:
    """The value at a dotted path (``data.items``); ``''`` is the value itself; None if absent."""
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with query parameter ``name`` set to ``value`` (replacing it if present)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def extract_http(script: SourceScript, table: Table, writer: StagedWriter) -> bool:
    """Walk the API's pages and stage their records as text."""
    source = script.source
    assert isinstance(source, HttpSource)
    try:
        headers = {name: expand_env(value) for name, value in source.headers.items()}
        url = expand_env(source.url)
    except MissingVariable as exc:
        raise ExtractionError(script.id, f"environment variable {exc.name} (used in the request) is not set") from exc
    headers.setdefault("Accept", "application/json")
    headers.setdefault("User-Agent", USER_AGENT)
    fields = source_fields(script, table)
    with requests.Session() as session:
        session.trust_env = False  # no proxies or .netrc credentials from the environment
        for records in _pages(script.id, source, session, url, headers):
            writer.write_record_stream(records, fields)
    writer.finish(text_schema(fields))
    return False


def _pages(
    script_id: str,
    source: HttpSource,
    session: requests.Session,
    first_url: str,
    headers: dict[str, str],
) -> Iterator[list[dict[str, Any]]]:
    """Each page's records, following the pagination until it ends."""
    pagination = source.pagination
    keep = frozenset({pagination.param})
    page_number = pagination.start
    url = with_param(first_url, pagination.param, str(page_number)) if pagination.type == "page" else first_url
    for _ in range(pagination.max_pages):
        body = _get(script_id, source, session, url, headers, keep)
        records = dotted(body, source.records_path)
        if records is None and source.records_path:
            records = []
        if not isinstance(records, list):
            raise ExtractionError(
                script_id,
                f"the response of {safe_url(url, keep=keep)} holds no list of records at "
                f"{source.records_path or 'the top level'!r} (found {type(records).__name__})",
            )
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise ExtractionError(
                    script_id,
                    f"record {index} of {safe_url(url, keep=keep)} is not a JSON object",
                )
        if not records:
            return
        yield records
        if pagination.type == "none":
            return
        if pagination.type == "page":
            page_number += 1
            url = with_param(first_url, pagination.param, str(page_number))
        elif pagination.type == "cursor":
            cursor = dotted(body, pagination.cursor_path)
            if cursor in (None, "", False):
                return
            url = with_param(first_url, pagination.param, str(cursor))
        else:
            next_url = dotted(body, pagination.next_url_path)
            if not next_url:
                return
            url = urljoin(url, str(next_url))


def _get(
    script_id: str,
    source: HttpSource,
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    keep: frozenset[str],
) -> Any:
    """One page's JSON body (numbers kept as their text); ExtractionError on any failure."""
    shown = safe_url(url, keep=keep)
    try:
        response = session.get(url, headers=headers, timeout=source.timeout_seconds, allow_redirects=True)
    except requests.Timeout as exc:
        raise ExtractionError(script_id, f"no response from {shown} within {source.timeout_seconds:g} s") from exc
    except requests.RequestException as exc:
        raise ExtractionError(script_id, f"request to {shown} failed: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        raise ExtractionError(script_id, f"HTTP {response.status_code} {response.reason} from {shown}")
    try:
        return json.loads(response.content, parse_float=JsonNumber, parse_int=JsonNumber)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExtractionError(script_id, f"the response of {shown} is not JSON: {exc}") from exc
