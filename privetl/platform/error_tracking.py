"""Error tracking: unexpected exceptions and error logs sent to Sentry, with secrets scrubbed.

Off unless ``SENTRY_DSN`` is set. :func:`init_error_tracking` is called once per process, at
the end of ``privetl.config.settings``: every Django-backed process reads the settings first
(``privetl web``'s gunicorn workers through the WSGI module, ``privetl grpc``, ``serve``, the
worker, every other ``privetl`` platform command), and Sentry's Django integration wants to be
set up before Django handles anything. The engine's commands (``privetl run``) never load
Django and are not tracked.

What leaves the process is decided here, for a privacy-first platform:

- no personal data: ``send_default_pii=False`` (no cookies, user, IP address), no request
  bodies (``max_request_body_size="never"``), no local variables of stack frames;
- every string of the event (exception messages, log messages and their arguments, source
  context lines, breadcrumbs, tags, extra) passes through the platform's one redaction,
  :mod:`privetl.common.redaction`: URL credentials and connection strings, bearer tokens,
  JWTs, ``password=…`` assignments; every value under a secret-sounding key
  (``Authorization``, ``Cookie``, ``password``, ``connection_string``…) becomes ``***``,
  and secret query parameters of the request URL too;
- if scrubbing fails, the event is dropped rather than sent as is.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from privetl.common.redaction import (
    REDACTED,
    is_secret_key,
    query_value_is_secret,
    redact_connection_string,
    redact_text,
)

logger = logging.getLogger(__name__)

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
_DROPPED_KEYS = frozenset({"vars", "cookies", "user"})
"""Keys whose whole value is dropped wherever they appear: frame locals, cookies, the user."""


def scrub_text(text: str) -> str:
    """``text`` with every embedded URL redacted as a connection string, then as free text."""
    return redact_text(_URL.sub(lambda m: redact_connection_string(m.group(0)), text))


def _scrub_query(query: str) -> str:
    """A query string with the values of secret-sounding parameters replaced by ``***``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, REDACTED if query_value_is_secret(k) and v else scrub_text(v)) for k, v in pairs],
        safe="*/:",
    )


def scrub(value: Any) -> Any:
    """A copy of any part of an event with secrets redacted (see the module's docstring)."""
    if isinstance(value, dict):
        scrubbed: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name in _DROPPED_KEYS:
                continue
            if name == "query_string" and isinstance(item, str):
                scrubbed[name] = _scrub_query(item)
            elif is_secret_key(name) and item not in (None, ""):
                scrubbed[name] = REDACTED
            else:
                scrubbed[name] = scrub(item)
        return scrubbed
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _before_send(event: Any, hint: Any) -> Any:
    """Sentry's last look at an event: scrubbed, or dropped if scrubbing fails."""
    try:
        cleaned = scrub(event)
        request = cleaned.get("request")
        if isinstance(request, dict):
            request.pop("data", None)  # bodies may carry personal data or credentials
        return cleaned
    except Exception as exc:  # fail closed: an unscrubbed event must not leave
        logger.warning("error tracking: event dropped, scrubbing failed (%s)", type(exc).__name__)
        return None


def _before_breadcrumb(crumb: Any, hint: Any) -> Any:
    """Breadcrumbs (log lines, SQL, HTTP calls) scrubbed as they are recorded."""
    try:
        return scrub(crumb)
    except Exception:  # fail closed, as for events
        return None


def init_error_tracking() -> bool:
    """Start Sentry when ``SENTRY_DSN`` is set; True if it was started (now or before).

    Without ``SENTRY_DSN`` nothing is initialised and nothing is sent. ``SENTRY_ENVIRONMENT``
    and ``SENTRY_RELEASE`` are read by the SDK itself; the environment defaults to
    ``PRIVETL_MODE``. No performance tracing: only errors.
    """
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    if sentry_sdk.is_initialized():
        return True
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT")
        or os.environ.get("PRIVETL_MODE", "embedded"),
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=_before_send,
        before_breadcrumb=_before_breadcrumb,
    )
    return True
