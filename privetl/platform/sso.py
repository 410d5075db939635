"""The browser's SSO login: the OpenID Connect authorization-code flow with PKCE, state and
nonce, through authlib's Django client (a well-kept library rather than hand-made OAuth).

Providers come from ``PRIVETL_OIDC_ISSUERS`` (the same list the API's bearer tokens are checked
against); an entry with a ``client_id`` is offered on the login page::

    [{"issuer": "https://sso.example.com", "client_id": "privetl", "client_secret": "…",
      "name": "Example SSO"}]

authlib keeps the state, the nonce and the PKCE verifier in the session, checks the state on
the way back, sends the verifier with the code and checks the ID token's signature and nonce.
The ID token is then checked once more by ``auth.authenticate_bearer`` — the one rule of every
door (issuer, audience, first-login provisioning, blocked users, the login history) — so a
browser login can never let in someone a token would not.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings

from privetl.common.errors import NotFound

SCOPES = "openid email profile"


@dataclass(frozen=True)
class SsoProvider:
    """One provider the login page offers: its position in the settings' list and its label."""

    index: int
    name: str
    issuer: str


def sso_providers() -> list[SsoProvider]:
    """The configured issuers a browser can sign in with (those given a ``client_id``)."""
    return [
        SsoProvider(
            index=i, name=str(c.get("name") or c["issuer"]), issuer=str(c["issuer"]).rstrip("/")
        )
        for i, c in enumerate(settings.OIDC_ISSUERS)
        if c.get("client_id") and c.get("issuer")
    ]


def sso_client(index: int) -> DjangoOAuth2App:
    """authlib's client for provider ``index``, made per login from the current settings (the
    provider's metadata is fetched by discovery at that moment: logins are rare, keys rotate)."""
    config = next((c for c in settings.OIDC_ISSUERS[index : index + 1] if c.get("client_id")), None)
    if config is None:
        raise NotFound(f"no SSO provider number {index} is configured", field="provider")
    issuer = str(config["issuer"]).rstrip("/")
    registry = OAuth()
    client: DjangoOAuth2App = registry.register(
        name=f"sso{index}",
        client_id=config["client_id"],
        client_secret=config.get("client_secret", ""),
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256"},
    )
    return client
