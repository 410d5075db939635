"""The REST door: bearer authentication, one error shape, audit of refusals, and the
platform's operational URLs (health, metrics, schema, Swagger UI without a CDN)."""

from __future__ import annotations

import re

import pytest
import requests
from rest_framework.test import APIClient

from privetl.audit.models import AuditLog
from privetl.platform.auth import token_issue
from privetl.users.models import LoginRefusal
from tests.platform.flood import FLOOD, flood_tokens

AUDIT_URL = "/api/v1/audit-logs"


def client_for(user_id: str | None = None, **headers: str) -> APIClient:
    client = APIClient()
    if user_id:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(user_id=user_id)}"
    client.credentials(**headers)
    return client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "field"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_missing_token_is_401_with_the_error_shape_and_counted_not_audited(users) -> None:
    # issue 10: a 401 that identified nobody is counted in the login history, not audited
    audited = AuditLog.objects.count()
    body = assert_error(client_for().get(AUDIT_URL), 401, "UNAUTHENTICATED")
    assert "Authorization: Bearer" in body["message"]
    assert AuditLog.objects.count() == audited
    refusal = LoginRefusal.objects.get()
    assert (refusal.address, refusal.reason, refusal.count) == ("127.0.0.1", "no credentials", 1)


def test_anonymous_flood_adds_no_audit_record_and_few_counted_rows(users) -> None:
    audited = AuditLog.objects.count()
    for reason, header in flood_tokens():
        client = client_for(**({"HTTP_AUTHORIZATION": header} if header else {}))
        assert client.get(AUDIT_URL).status_code == 401, reason
    assert AuditLog.objects.count() == audited
    counts: dict[str, int] = {}
    rows = list(LoginRefusal.objects.all())
    for row in rows:
        assert row.address == "127.0.0.1"
        counts[row.reason] = counts.get(row.reason, 0) + row.count
    assert counts == FLOOD
    assert len(rows) <= 2 * len(FLOOD)  # one row per reason and minute (a minute may turn)


def test_403_of_an_authenticated_user_is_still_audited(users) -> None:
    response = client_for("alice").get("/api/v1/users")
    assert_error(response, 403, "PERMISSION_DENIED")
    record = AuditLog.objects.get(outcome="denied")
    assert (record.actor_user_id, record.service) == ("alice", "users")
    assert not LoginRefusal.objects.exists()


def test_bad_tokens_are_401(users) -> None:
    expired = token_issue(user_id="alice", ttl_seconds=-300)
    assert_error(
        client_for(HTTP_AUTHORIZATION=f"Bearer {expired}").get(AUDIT_URL), 401, "UNAUTHENTICATED"
    )
    assert_error(
        client_for(HTTP_AUTHORIZATION="Bearer x.y.z").get(AUDIT_URL), 401, "UNAUTHENTICATED"
    )
    response = client_for(HTTP_AUTHORIZATION="Token abc").get(AUDIT_URL)
    assert_error(response, 401, "UNAUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_blocked_user_is_401(users) -> None:
    from privetl.users import services

    client = client_for("alice")
    assert client.get(AUDIT_URL).status_code == 200
    services.user_block(actor=users["root"], user_id="alice")
    assert_error(client.get(AUDIT_URL), 401, "UNAUTHENTICATED")
    # a genuine token identified alice: her refusal is audited, not merely counted
    assert AuditLog.objects.get(outcome="denied").actor_user_id == "alice"
    assert not LoginRefusal.objects.exists()


def test_impersonation_by_a_non_admin_is_403_and_audited(users) -> None:
    response = client_for("bob", HTTP_X_ACT_AS="alice").get(AUDIT_URL)
    body = assert_error(response, 403, "PERMISSION_DENIED")
    assert "only an ADMIN" in body["message"]
    record = AuditLog.objects.get(outcome="denied")
    assert record.detail == body["message"]
    assert record.actor_user_id == "bob"  # the token was genuine: the attempt is bob's


def test_admin_impersonation_sees_what_the_target_sees(users) -> None:
    response = client_for("root", HTTP_X_ACT_AS="alice").get(AUDIT_URL)
    assert response.status_code == 200
    # alice acted in no record of the fixture (root created her): she sees none of them
    assert response.json()["audit_logs"] == []


def test_bad_query_parameter_is_400_naming_the_field(users) -> None:
    body = assert_error(
        client_for("root").get(AUDIT_URL, {"page_size": "many"}), 400, "INVALID_ARGUMENT"
    )
    assert body["field"] == "page_size"
    assert body["message"].startswith("page_size:")


def test_malformed_json_is_400(users) -> None:
    response = client_for("root").post(
        "/api/v1/users", data='{"id": "x",', content_type="application/json"
    )
    body = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "malformed request body" in body["message"]


def test_request_id_is_taken_from_the_header(users) -> None:
    client_for("bob", HTTP_X_ACT_AS="alice", HTTP_X_REQUEST_ID="rq-77").get(AUDIT_URL)
    assert AuditLog.objects.get(outcome="denied").request_id == "rq-77"


def test_healthz_needs_no_token(db) -> None:
    response = APIClient().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_metrics_are_exposed_without_a_token(db) -> None:
    response = APIClient().get("/metrics")
    assert response.status_code == 200
    assert b"python_info" in response.content


def test_schema_describes_every_audit_parameter(db) -> None:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    listing = schema["paths"]["/api/v1/audit-logs"]["get"]
    assert listing["operationId"] == "ListAuditLogs"
    params = {p["name"]: p for p in listing["parameters"]}
    for name in (
        "actor_user_id",
        "action",
        "service",
        "target_type",
        "target_id",
        "since",
        "until",
        "page_size",
        "page_token",
    ):
        assert params[name].get("description"), name
    assert (
        schema["paths"]["/api/v1/audit-logs/{audit_log_id}"]["get"]["operationId"] == "GetAuditLog"
    )


def test_swagger_ui_and_redoc_are_served_without_a_cdn(db) -> None:
    client = APIClient()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    # every script, style sheet and icon comes from this server (the page also carries a random
    # CSRF token, so a bare "cdn" substring test could match it by chance)
    linked = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert linked and all(url.startswith("/") and not url.startswith("//") for url in linked)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert client.get("/api/redoc/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_real_http_server_round_trip(live_server, users) -> None:
    token = token_issue(user_id="root")
    response = requests.get(
        f"{live_server.url}{AUDIT_URL}",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "live-1"},
        params={"action": "user.create"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    targets = {r["target_id"] for r in response.json()["audit_logs"]}
    assert targets == {"alice", "bob"}
    refused = requests.get(f"{live_server.url}{AUDIT_URL}", timeout=10)
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert requests.get(f"{live_server.url}/healthz", timeout=10).status_code == 200


def test_http_requests_are_counted_by_route_not_by_id(users) -> None:
    from prometheus_client import REGISTRY

    labels = {"method": "GET", "route": "api/v1/audit-logs/<str:audit_log_id>", "status": "404"}
    before = REGISTRY.get_sample_value("privetl_http_requests_total", labels) or 0
    client_for("root").get("/api/v1/audit-logs/does-not-exist")
    assert REGISTRY.get_sample_value("privetl_http_requests_total", labels) == before + 1
    assert b"does-not-exist" not in APIClient().get("/metrics").content


def test_unexpected_error_is_500_with_a_request_id_and_no_secret(db, caplog) -> None:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from privetl.platform.rest import exception_handler

    request = Request(APIRequestFactory().get("/x", HTTP_X_REQUEST_ID="rq-500"))
    response = exception_handler(RuntimeError("dsn password=hunter2 broke"), {"request": request})
    assert response.status_code == 500
    assert response.data["code"] == "INTERNAL"
    assert "rq-500" in response.data["message"]
    assert "hunter2" not in response.data["message"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "rq-500" in logged and "RuntimeError" in logged
    assert "hunter2" not in logged
