"""The browser's SSO login against a real OpenID provider on loopback (oidc-provider-mock):
the authorization-code flow with PKCE, state and nonce; a first login provisions the user;
a wrong or replayed state and a blocked user are refused; impersonation names both people."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.users import services
from privetl.users.models import ExternalIdentity, LoginEvent, User
from tests.platform.conftest import CLIENT_ID, OidcProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_sso(settings, oidc_provider: OidcProvider) -> OidcProvider:
    """The platform offering the local provider on its login page."""
    settings.OIDC_ISSUERS = [
        {
            "issuer": oidc_provider.issuer,
            "audience": CLIENT_ID,
            "client_id": CLIENT_ID,
            "client_secret": "any",
            "name": "Example SSO",
        }
    ]
    return oidc_provider


def _to_provider(client: Client) -> dict[str, str]:
    """Click "Sign in with …": the query of the provider's authorization request."""
    page = client.get("/ui/login/").content.decode()
    assert 'href="/ui/login/sso/0/"' in page and "Sign in with Example SSO" in page
    response = client.get("/ui/login/sso/0/")
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}


def _consent(provider: OidcProvider, query: dict[str, str], sub: str) -> str:
    """The person signs in at the provider; the callback path (with code and state) it sends back."""
    answer = requests.post(
        f"{provider.issuer}/oauth2/authorize",
        params=query,
        data={"sub": sub},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    back = urlparse(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_the_authorization_request_carries_pkce_state_and_nonce(
    client: Client, browser_sso: OidcProvider
) -> None:
    query = _to_provider(client)
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"]
    assert query["redirect_uri"] == "http://testserver/ui/login/sso/0/callback/"
    assert "openid" in query["scope"].split()


def test_a_first_sso_login_provisions_the_user_and_opens_a_session(
    client: Client, browser_sso: OidcProvider
) -> None:
    callback = _consent(browser_sso, _to_provider(client), "carol-sub")
    response = client.get(callback)
    assert response.status_code == 302 and response["Location"] == "/ui/"
    identity = ExternalIdentity.objects.get(issuer=browser_sso.issuer, subject="carol-sub")
    page = client.get("/ui/").content.decode()
    assert identity.user_id in page  # the header names who is signed in
    event = LoginEvent.objects.filter(user_id=identity.user_id).latest("at")
    assert (event.door, event.success, event.issuer) == ("ui", True, browser_sso.issuer)
    history = client.get("/ui/me/logins/").content.decode()
    assert "signed in" in history and browser_sso.issuer in history


def test_a_replayed_or_forged_state_is_refused(client: Client, browser_sso: OidcProvider) -> None:
    callback = _consent(browser_sso, _to_provider(client), "dan-sub")
    forged = callback.replace("state=", "state=x")
    refused = client.get(forged)
    assert refused.status_code == 400 and "start again" in refused.content.decode()
    assert client.get("/ui/")["Location"] == "/ui/login/"
    assert client.get(callback).status_code == 302  # the genuine one still works, once
    replayed = client.get(callback)
    assert replayed.status_code == 400  # its state was used up
    assert User.objects.filter(external_identities__subject="dan-sub").count() == 1


def test_a_blocked_user_is_refused_at_the_callback(
    client: Client, browser_sso: OidcProvider
) -> None:
    assert client.get(_consent(browser_sso, _to_provider(client), "eve-sub")).status_code == 302
    user_id = ExternalIdentity.objects.get(subject="eve-sub").user_id
    services.user_bootstrap_admin(id="root", name="Root")
    services.user_block(actor=Actor(user_id="root", roles=frozenset({"ADMIN"})), user_id=user_id)
    assert client.get("/ui/")["Location"] == "/ui/login/"  # the open session ends at once
    again = Client()
    refused = again.get(_consent(browser_sso, _to_provider(again), "eve-sub"))
    assert refused.status_code == 401 and "blocked" in refused.content.decode()
    assert again.get("/ui/")["Location"] == "/ui/login/"


def test_an_unreachable_provider_is_named_on_the_login_page(client: Client, settings) -> None:
    settings.OIDC_ISSUERS = [{"issuer": "http://127.0.0.1:9", "client_id": "x", "name": "Gone"}]
    response = client.get("/ui/login/sso/0/")
    assert response.status_code == 502 and "cannot be reached" in response.content.decode()
    assert client.get("/ui/login/sso/7/").status_code == 404


# --- impersonation --------------------------------------------------------------------


@pytest.fixture
def people(db) -> None:
    services.user_bootstrap_admin(id="root", name="Root")
    root = Actor(user_id="root", roles=frozenset({"ADMIN"}))
    services.user_create(actor=root, id="alice", name="Alice")
    services.user_role_add(actor=root, user_id="alice", role="MANAGE_DATA")


def test_an_admin_acting_as_a_user_sees_a_banner_and_records_name_both(
    client: Client, people: None
) -> None:
    client.post("/ui/login/", {"user_id": "root"})
    assert client.post("/ui/impersonate/", {"user_id": "alice"})["Location"] == "/ui/"
    page = client.get("/ui/").content.decode()
    assert "You are <strong>root</strong> acting as <strong>alice</strong>" in page
    assert 'href="/ui/outbox/"' in page and 'href="/ui/users/"' not in page  # alice's roles
    began = AuditLog.objects.get(action="user.impersonation_begin")
    assert (began.actor_user_id, began.impersonator_user_id) == ("alice", "root")
    client.post("/ui/impersonate/end/")
    ended = AuditLog.objects.get(action="user.impersonation_end")
    assert (ended.actor_user_id, ended.impersonator_user_id) == ("alice", "root")
    back = client.get("/ui/").content.decode()
    assert "acting as" not in back and 'href="/ui/users/"' in back


def test_only_an_admin_may_act_as_someone(client: Client, people: None) -> None:
    client.post("/ui/login/", {"user_id": "alice"})
    refused = client.post("/ui/impersonate/", {"user_id": "root"})
    assert refused.status_code == 403 and "only an ADMIN" in refused.content.decode()
    assert not AuditLog.objects.filter(action="user.impersonation_begin").exists()
    assert "acting as" not in client.get("/ui/").content.decode()


def test_acting_as_an_unknown_user_is_refused(client: Client, people: None) -> None:
    client.post("/ui/login/", {"user_id": "root"})
    refused = client.post("/ui/impersonate/", {"user_id": "nobody"})
    assert refused.status_code == 403 and "no such user" in refused.content.decode()
