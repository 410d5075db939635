"""Identity: the platform's own tokens, SSO through a real local OIDC provider,
blocking, impersonation and the login history."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.db import transaction

from privetl.audit.models import AuditLog
from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import PermissionDenied, Unauthenticated
from privetl.platform.auth import authenticate_bearer, token_issue
from privetl.users.models import LoginEvent
from tests.platform.conftest import OidcProvider


def authenticate(header: str | None, *, act_as: str | None = None, door: str = "rest") -> Actor:
    return authenticate_bearer(
        header, act_as=act_as, address="127.0.0.1:4000", request_id="r-1", door=door
    )


def bearer(token: str) -> str:
    return f"Bearer {token}"


def own_claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": django_settings.TOKEN_ISSUER,
        "aud": django_settings.TOKEN_AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return claims


# --- the platform's own issuer ---------------------------------------------------------------


def test_own_token_gives_the_user_and_the_roles_in_the_database(users) -> None:
    from privetl.users import services

    actor = authenticate(bearer(token_issue(user_id="alice")))
    assert (actor.user_id, actor.roles, actor.impersonator_id) == ("alice", frozenset(), None)
    assert (actor.address, actor.request_id, actor.door) == ("127.0.0.1:4000", "r-1", "rest")
    token = token_issue(user_id="alice")
    services.user_role_add(actor=users["root"], user_id="alice", role="ADMIN")
    assert authenticate(bearer(token)).roles == frozenset({"ADMIN"})  # same token, new role


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "no credentials"),
        ("", "no credentials"),
        ("Basic YWxpY2U6cHc=", "expected 'Bearer <token>'"),
        ("Bearer", "expected 'Bearer <token>'"),
        ("Bearer not-a-jwt", "not a JWT"),
        ("Bearer a b", "expected 'Bearer <token>'"),
    ],
)
def test_missing_or_malformed_credentials_are_refused(users, header, expected) -> None:
    with pytest.raises(Unauthenticated, match=expected):
        authenticate(header)


def test_expired_token_is_refused_and_counted_as_a_failed_login(users) -> None:
    token = token_issue(user_id="alice", ttl_seconds=-120)
    with pytest.raises(Unauthenticated, match="expired"):
        authenticate(bearer(token))
    event = LoginEvent.objects.get(user_id="alice")
    assert (event.success, event.door) == (False, "rest")
    assert "expired" in event.reason


def test_token_signed_with_another_key_is_refused(users) -> None:
    forged = jwt.encode(own_claims(sub="root"), "not-the-platform-key-" * 3, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="signed by someone else"):
        authenticate(bearer(forged))
    assert not LoginEvent.objects.filter(user_id="root").exists()  # forgeries write nothing


def test_unsigned_token_is_refused(users) -> None:
    unsigned = jwt.encode(own_claims(sub="root"), None, algorithm="none")
    with pytest.raises(Unauthenticated):
        authenticate(bearer(unsigned))


def test_token_for_another_audience_is_refused(users) -> None:
    token = jwt.encode(own_claims(aud="billing"), django_settings.TOKEN_SIGNING_KEY, "HS256")
    with pytest.raises(Unauthenticated, match="meant for another service"):
        authenticate(bearer(token))


def test_token_of_an_unknown_issuer_is_refused(users) -> None:
    token = jwt.encode(own_claims(iss="https://evil.example"), "k" * 40, "HS256")
    with pytest.raises(Unauthenticated, match="not accepted here"):
        authenticate(bearer(token))


def test_unknown_user_is_refused(users) -> None:
    with pytest.raises(Unauthenticated, match="does not exist"):
        authenticate(bearer(token_issue(user_id="ghost")))


def test_blocked_user_is_refused_at_once(users) -> None:
    from privetl.users import services

    token = token_issue(user_id="alice")
    assert authenticate(bearer(token)).user_id == "alice"
    services.user_block(actor=users["root"], user_id="alice", reason="left")
    with pytest.raises(Unauthenticated, match="blocked"):
        authenticate(bearer(token))


def test_a_login_is_the_first_use_of_a_token(users) -> None:
    token = token_issue(user_id="alice")
    for _ in range(5):
        authenticate(bearer(token), door="grpc")
    assert LoginEvent.objects.filter(user_id="alice", success=True).count() == 1
    authenticate(bearer(token_issue(user_id="alice")))
    events = list(LoginEvent.objects.filter(user_id="alice").order_by("id"))
    assert [(e.door, e.success, e.issuer) for e in events] == [
        ("grpc", True, "privetl"),
        ("rest", True, "privetl"),
    ]
    assert events[0].address == "127.0.0.1:4000"


# --- impersonation -----------------------------------------------------------------------------


def test_admin_may_act_as_another_user_and_the_audit_names_both(users) -> None:
    actor = authenticate(bearer(token_issue(user_id="root")), act_as="alice")
    assert (actor.user_id, actor.impersonator_id, actor.roles) == ("alice", "root", frozenset())
    with transaction.atomic():
        record = audit_record(
            actor=actor,
            service="users",
            action="user.update",
            target_type="user",
            target_id="alice",
        )
    stored = AuditLog.objects.get(pk=record.id)
    assert (stored.actor_user_id, stored.impersonator_user_id) == ("alice", "root")


def test_impersonation_token_acts_as_the_target_while_the_issuer_is_admin(users) -> None:
    from privetl.users import services

    token = token_issue(user_id="alice", impersonator_id="root")
    actor = authenticate(bearer(token))
    assert (actor.user_id, actor.impersonator_id) == ("alice", "root")
    services.user_bootstrap_admin(id="root2", name="Second Admin")
    services.user_role_remove(
        actor=users["root"].__class__(user_id="root2", roles=frozenset({"ADMIN"})),
        user_id="root",
        role="ADMIN",
    )
    with pytest.raises(PermissionDenied, match="only an ADMIN"):
        authenticate(bearer(token))


def test_non_admin_may_not_act_as_anyone(users) -> None:
    with pytest.raises(PermissionDenied, match="only an ADMIN may act as another user"):
        authenticate(bearer(token_issue(user_id="bob")), act_as="alice")
    failed = LoginEvent.objects.get(user_id="bob")
    assert not failed.success


def test_admin_may_not_act_as_an_unknown_user(users) -> None:
    with pytest.raises(PermissionDenied, match="no such user"):
        authenticate(bearer(token_issue(user_id="root")), act_as="ghost")


# --- SSO through a real OIDC provider ----------------------------------------------------------


def test_first_sso_login_provisions_the_user(users, sso: OidcProvider) -> None:
    token = sso.id_token("carol-sub", preferred_username="carol", name="Carol", email="c@x.test")
    actor = authenticate(bearer(token))
    assert actor.user_id == "carol"
    assert actor.roles == frozenset()
    again = authenticate(bearer(sso.id_token("carol-sub")))
    assert again.user_id == "carol"  # the same person, not a second account
    logins = LoginEvent.objects.filter(user_id="carol", success=True)
    assert logins.count() == 2
    assert set(logins.values_list("issuer", flat=True)) == {sso.issuer}
    assert AuditLog.objects.filter(action="user.provision", target_id="carol").count() == 1


def test_sso_login_cannot_take_over_an_existing_account(users, sso: OidcProvider) -> None:
    actor = authenticate(bearer(sso.id_token("mallory-sub", preferred_username="root")))
    assert actor.user_id != "root"
    assert actor.roles == frozenset()


def test_sso_token_for_another_client_is_refused(users, sso: OidcProvider) -> None:
    with pytest.raises(Unauthenticated, match="meant for another service"):
        authenticate(bearer(sso.id_token("dave-sub", client_id="someone-else")))


def test_sso_token_signed_by_a_foreign_key_is_refused(users, sso: OidcProvider) -> None:
    jwks = requests.get(f"{sso.issuer}/jwks", timeout=5).json()
    provider_kid = jwks["keys"][0]["kid"]
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": sso.issuer, "aud": "privetl", "sub": "eve", "iat": now, "exp": now + 300}
    same_kid = jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": provider_kid})
    with pytest.raises(Unauthenticated, match="signed by someone else"):
        authenticate(bearer(same_kid))
    other_kid = jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": "attacker"})
    with pytest.raises(Unauthenticated, match="not signed by a key of"):
        authenticate(bearer(other_kid))
    assert not LoginEvent.objects.filter(user_id="eve").exists()


def test_blocked_sso_user_is_refused(users, sso: OidcProvider) -> None:
    from privetl.users import services

    user_id = authenticate(bearer(sso.id_token("frank-sub", preferred_username="frank"))).user_id
    services.user_block(actor=users["root"], user_id=user_id)
    with pytest.raises(Unauthenticated, match="blocked"):
        authenticate(bearer(sso.id_token("frank-sub")))


def test_unreachable_provider_is_an_actionable_error(users, settings) -> None:
    settings.OIDC_ISSUERS = [{"issuer": "http://127.0.0.1:9", "audience": "privetl"}]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = jwt.encode(
        {"iss": "http://127.0.0.1:9", "aud": "privetl", "sub": "x", "iat": now, "exp": now + 60},
        key,
        algorithm="RS256",
    )
    with pytest.raises(Unauthenticated, match="cannot reach the identity provider"):
        authenticate(bearer(token))


# --- configuration ------------------------------------------------------------------------------


def _django_setup(env_updates: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {"DJANGO_SETTINGS_MODULE": "privetl.config.settings", "PRIVETL_VAR_DIR": str(tmp_path)}
    )
    env.update(env_updates)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    done = _django_setup({"PRIVETL_MODE": "production"}, tmp_path)
    assert done.returncode != 0
    assert "PRIVETL_SECRET_KEY is not set" in done.stderr


def test_production_mode_refuses_to_start_without_a_signing_key(tmp_path) -> None:
    done = _django_setup(
        {
            "PRIVETL_MODE": "production",
            "PRIVETL_SECRET_KEY": "x" * 50,
            "PRIVETL_ALLOWED_HOSTS": "privetl.example",
        },
        tmp_path,
    )
    assert done.returncode != 0
    assert "PRIVETL_TOKEN_SIGNING_KEY is not set" in done.stderr
    assert "x" * 50 not in done.stderr  # the secret that was given is never echoed


class _JwksServer:
    """A real HTTP server on loopback publishing a JWKS, counting how often it is fetched."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        self.keys: list[dict] = []
        self.fetches = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, key, kid: str) -> None:
        import json

        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self.keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_rotated_keys_are_picked_up_and_unknown_kids_do_not_flood_the_provider(
    users, settings
) -> None:
    provider = _JwksServer()
    try:
        issuer = "https://sso.rotating.test"
        settings.OIDC_ISSUERS = [
            {"issuer": issuer, "audience": "privetl", "jwks_uri": provider.url}
        ]
        old, new = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)
        )
        provider.publish(old, "k-old")

        def token(key, kid: str, sub: str) -> str:
            now = int(time.time())
            claims = {
                "iss": issuer,
                "aud": "privetl",
                "sub": sub,
                "iat": now,
                "exp": now + 60,
                "preferred_username": sub,
            }
            return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

        assert authenticate(bearer(token(old, "k-old", "gina"))).user_id == "gina"
        assert provider.fetches == 1
        provider.publish(new, "k-new")  # the provider rotates a key in
        assert authenticate(bearer(token(new, "k-new", "gina"))).user_id == "gina"
        assert provider.fetches == 2  # one refetch for the unknown kid
        for n in range(5):
            with pytest.raises(Unauthenticated, match="not signed by a key of"):
                authenticate(bearer(token(new, f"made-up-{n}", "gina")))
        assert provider.fetches == 2  # made-up kids do not hammer the provider
        assert authenticate(bearer(token(old, "k-old", "gina"))).user_id == "gina"
        assert provider.fetches == 2  # known keys come from the cache
    finally:
        provider.close()
