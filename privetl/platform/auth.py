"""Identity: issue the platform's own tokens, and turn a bearer token into an ``Actor``.

Two kinds of issuer are accepted:

- the platform's own (``settings.TOKEN_ISSUER``), HS256 with ``settings.TOKEN_SIGNING_KEY``:
  what ``privetl token`` and the CLI login hand out;
- external OIDC providers (``settings.OIDC_ISSUERS``) for SSO, verified with the keys of
  their JWKS (discovered from ``<issuer>/.well-known/openid-configuration`` unless given,
  cached for ``settings.OIDC_JWKS_CACHE_SECONDS``, refetched once on an unknown ``kid``).

Roles and the blocked flag are never taken from the token: they are read from the
database on every call (``user_get_for_auth``), so a block or a role removal bites at the
next request. A person seen for the first time in a valid SSO token is provisioned.

Login history: a *login* is the first use of a token. Each token (by ``jti``, or a hash of
the token when it has none) is recorded once per process, so a client calling GetUser in
a loop with one token writes one login row, not one per call. Failed attempts that name
a user are recorded once per token as well. The cache is bounded and per process.

Refusals: a refused call is recorded by ``refusal_record`` (both doors call it): in the
audit log when an authenticated actor, or a genuine token naming a user, was refused; as
a count per address, minute and reason in the login history (``LoginRefusal``) when
nobody was identified, so anonymous callers cannot grow the audit chain.

Speed: a token whose signature, issuer, audience and times were verified is remembered
(by its exact text, bounded LRU, per process) until its ``exp`` — and for an SSO token no
longer than the JWKS cache lifetime — so a client calling in a loop pays for the signature
check once. Only the *token's* verdict is cached: the user, roles and blocked flag are
still read from the database on every call, and an expired token always goes through
full verification again (which refuses it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings
from django.db import transaction

from privetl.audit.services import audit_denied
from privetl.common.context import Actor
from privetl.common.errors import PermissionDenied, PrivetlError, Unauthenticated
from privetl.users.selectors import principal_for
from privetl.users.services import (
    login_record,
    login_refusal_record,
    user_provision_from_claims,
)

logger = logging.getLogger(__name__)

OWN_ALGORITHM = "HS256"
SSO_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
LEEWAY_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 5
JWKS_MIN_REFRESH_SECONDS = 10.0
NO_CREDENTIALS_REASON = "no credentials"


# --- issuing --------------------------------------------------------------------------


def token_issue(
    *,
    user_id: str,
    impersonator_id: str | None = None,
    ttl_seconds: int | None = None,
    jti: str | None = None,
) -> str:
    """A signed access token of the platform's own issuer for ``user_id``.

    With ``impersonator_id`` the token says "``impersonator_id`` acting as ``user_id``"
    (claim ``act``, as in RFC 8693); the admin rights of the impersonator are checked
    again at every use, not trusted from the token. ``jti`` is the token id an audit
    record already names (``services.token_issue_record``); a fresh one otherwise.
    """
    if not user_id:
        raise ValueError("token_issue needs a user_id")
    now = int(time.time())
    ttl = settings.TOKEN_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    claims: dict[str, Any] = {
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "sub": user_id,
        "iat": now,
        "nbf": now,
        "exp": now + int(ttl),
        "jti": jti or uuid.uuid4().hex,
    }
    if impersonator_id:
        claims["act"] = {"sub": impersonator_id}
    return jwt.encode(claims, settings.TOKEN_SIGNING_KEY, algorithm=OWN_ALGORITHM)


# --- external issuers: discovery and JWKS cache ------------------------------------------


@dataclass
class _JwksEntry:
    client: jwt.PyJWKClient
    fetched_at: float


class _JwksCache:
    """JWKS clients per issuer: discovered once, keys cached, refetched once on unknown kid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _JwksEntry] = {}
        self._refreshed_at: dict[str, float] = {}

    def clear(self) -> None:
        """Forget every issuer's keys (tests; or after a provider rotated keys)."""
        with self._lock:
            self._entries.clear()
            self._refreshed_at.clear()

    def _jwks_uri(self, config: dict[str, str]) -> str:
        if config.get("jwks_uri"):
            return config["jwks_uri"]
        issuer = config["issuer"].rstrip("/")
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            return str(response.json()["jwks_uri"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            logger.warning("OIDC discovery failed for %s: %s", issuer, type(exc).__name__)
            raise Unauthenticated(
                f"cannot reach the identity provider {issuer} to check the token; "
                "try again later or use a token of another issuer",
                reason="identity provider unreachable",
            ) from None

    def client(self, config: dict[str, str]) -> jwt.PyJWKClient:
        issuer = config["issuer"]
        ttl = settings.OIDC_JWKS_CACHE_SECONDS
        with self._lock:
            entry = self._entries.get(issuer)
            if entry is not None and time.monotonic() - entry.fetched_at < ttl:
                return entry.client
        uri = self._jwks_uri(config)
        client = jwt.PyJWKClient(
            uri, cache_keys=True, lifespan=max(ttl, 1), timeout=HTTP_TIMEOUT_SECONDS
        )
        with self._lock:
            self._entries[issuer] = _JwksEntry(client=client, fetched_at=time.monotonic())
        return client

    def _may_refresh(self, issuer: str) -> bool:
        """At most one forced refetch per issuer every ``JWKS_MIN_REFRESH_SECONDS``.

        Tokens with made-up ``kid``s must not turn us into a tool for flooding the
        identity provider with JWKS requests.
        """
        now = time.monotonic()
        with self._lock:
            last = self._refreshed_at.get(issuer)
            if last is not None and now - last < JWKS_MIN_REFRESH_SECONDS:
                return False
            self._refreshed_at[issuer] = now
            return True

    def signing_keys(self, config: dict[str, str], token: str) -> list[Any]:
        """The provider's candidate keys for this token.

        With a ``kid`` in the header, that one key; an unknown kid refetches the key set
        once (rate-limited), so keys the provider rotated in are picked up. Without a kid
        (some providers omit it), every signing key of the set: the signature decides.
        """
        issuer = config["issuer"]
        try:
            client = self.client(config)
            kid = jwt.get_unverified_header(token).get("kid")
            keys = client.get_signing_keys()
            if not kid:
                return [k.key for k in keys]
            found = [k.key for k in keys if k.key_id == kid]
            if not found and self._may_refresh(issuer):
                found = [k.key for k in client.get_signing_keys(refresh=True) if k.key_id == kid]
            if not found:
                raise jwt.PyJWKClientError(f"unknown kid {kid!r}")
            return found[:1]
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated(
                f"cannot fetch the signing keys of {issuer}; try again later",
                reason="identity provider unreachable",
            ) from None
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise Unauthenticated(
                f"the token was not signed by a key of {issuer}; sign in again with that provider",
                reason="bad signature",
            ) from None


JWKS = _JwksCache()


# --- one login record per token ---------------------------------------------------------


class _SeenTokens:
    """A bounded, thread-safe set of token fingerprints already recorded as a login."""

    def __init__(self, limit: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def first_time(self, fingerprint: str) -> bool:
        """True exactly once per fingerprint (per process, while it stays in the cache)."""
        with self._lock:
            if fingerprint in self._seen:
                self._seen.move_to_end(fingerprint)
                return False
            self._seen[fingerprint] = None
            if len(self._seen) > self._limit:
                self._seen.popitem(last=False)
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


SEEN_TOKENS = _SeenTokens()


# --- verified tokens -------------------------------------------------------------------------


class _VerifiedTokens:
    """A bounded, thread-safe LRU of tokens already verified: exact text → claims, until when.

    Each entry also keeps the verification settings it was checked against (issuer,
    audience, key or SSO configuration): when those change, the entry no longer matches and
    the token is verified afresh. Nothing about the user is cached here.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[dict[str, Any], float, Any]] = OrderedDict()
        self._limit = limit

    def get(self, token: str) -> tuple[dict[str, Any], Any] | None:
        """(claims, settings checked against) of a token verified earlier and still in date."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            claims, valid_until, against = entry
            if time.time() >= valid_until:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return claims, against

    def discard(self, token: str) -> None:
        """Forget one token (its verification settings changed)."""
        with self._lock:
            self._entries.pop(token, None)

    def put(
        self,
        token: str,
        claims: dict[str, Any],
        *,
        checked_against: Any,
        max_age: float | None = None,
    ) -> None:
        """Remember a verified token until its ``exp`` (and at most ``max_age`` seconds)."""
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            return
        valid_until = float(exp)
        if max_age is not None:
            valid_until = min(valid_until, time.time() + max_age)
        with self._lock:
            self._entries[token] = (claims, valid_until, checked_against)
            self._entries.move_to_end(token)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


VERIFIED_TOKENS = _VerifiedTokens()


def _fingerprint(token: str, claims: dict[str, Any] | None, outcome: str) -> str:
    jti = (claims or {}).get("jti")
    base = (
        f"{(claims or {}).get('iss', '')}|{jti}"
        if jti
        else hashlib.sha256(token.encode()).hexdigest()
    )
    return f"{base}|{outcome}"


def _login_record(
    *,
    token: str,
    claims: dict[str, Any] | None,
    user_id: str,
    issuer: str,
    address: str | None,
    door: str,
    success: bool,
    reason: str = "",
) -> None:
    """Record the first use of a token by a known user (the user's login history)."""
    if not user_id:
        return
    if not SEEN_TOKENS.first_time(_fingerprint(token, claims, "ok" if success else reason)):
        return
    try:
        with transaction.atomic():
            login_record(
                user_id=user_id,
                issuer=issuer,
                address=address,
                door=door,
                success=success,
                reason=reason,
            )
    except Exception:
        logger.exception("could not record a login of %s", user_id)


# --- verification ---------------------------------------------------------------------------


def _parse_header(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated(
            "no credentials: send 'Authorization: Bearer <token>' "
            "(get a token with 'privetl token USER_ID' or from your SSO provider)",
            reason=NO_CREDENTIALS_REASON,
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthenticated(
            "malformed Authorization header: expected 'Bearer <token>'", reason="malformed header"
        )
    return token


def _unverified(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError:
        raise Unauthenticated(
            "malformed token: not a JWT; sign in again for a new one", reason="malformed token"
        ) from None
    if not isinstance(claims, dict) or not claims.get("iss"):
        raise Unauthenticated("malformed token: it names no issuer (iss)", reason="malformed token")
    return claims


class _Expired(Unauthenticated):
    """A genuine token past its ``exp``: it still identifies its user for the login history."""


class _BadSignature(Unauthenticated):
    """The signature does not verify with the key tried (another key may still match)."""


def _decode(
    token: str, *, key: Any, algorithms: list[str], issuer: str, audience: str
) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key=key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise _Expired(
            "the token has expired; sign in again for a new one", reason="expired token"
        ) from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated(
            f"the token is meant for another service (audience is not {audience!r})",
            reason="wrong audience",
        ) from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated(
            "the token is not valid yet; check the clocks", reason="token not yet valid"
        ) from None
    except jwt.InvalidSignatureError:
        raise _BadSignature(
            f"the token's signature does not verify against {issuer}: it was signed by someone else",
            reason="bad signature",
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(
            f"malformed token: the claim {exc.claim!r} is missing", reason="malformed token"
        ) from None
    except jwt.InvalidAlgorithmError:
        raise Unauthenticated(
            f"the token uses an algorithm {issuer} does not sign with", reason="bad algorithm"
        ) from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(
            f"invalid token: {type(exc).__name__}", reason="invalid token"
        ) from None


def _decode_with_any(token: str, *, keys: list[Any], issuer: str, audience: str) -> dict[str, Any]:
    """Verify with the first of ``keys`` whose signature matches (a kid-less token)."""
    failure: Unauthenticated | None = None
    for key in keys:
        try:
            return _decode(
                token, key=key, algorithms=SSO_ALGORITHMS, issuer=issuer, audience=audience
            )
        except _BadSignature as exc:
            failure = exc
    raise failure or Unauthenticated(
        f"the token was not signed by a key of {issuer}", reason="bad signature"
    )


def _checked_against(issuer: str) -> tuple[Any, ...] | None:
    """What a token of ``issuer`` is verified with now; None for an issuer not accepted."""
    if issuer == settings.TOKEN_ISSUER:
        return ("own", settings.TOKEN_AUDIENCE, settings.TOKEN_SIGNING_KEY)
    config = next((c for c in settings.OIDC_ISSUERS if c.get("issuer") == issuer), None)
    if config is None:
        return None
    return ("sso", tuple(sorted(config.items())), settings.TOKEN_AUDIENCE)


def _verified(
    token: str, *, address: str | None, door: str
) -> tuple[dict[str, Any], str, str, str | None]:
    """(claims, issuer, user id, impersonator id) of a genuine, in-date token.

    Served from ``VERIFIED_TOKENS`` when this exact token was verified before against the
    same settings; otherwise fully verified (and remembered). An SSO identity is looked up
    (or provisioned) on every call, as before.
    """
    cached = VERIFIED_TOKENS.get(token)
    if cached is not None:
        claims, against = cached
        issuer = str(claims["iss"])
        if against != _checked_against(issuer):
            VERIFIED_TOKENS.discard(token)
            claims = _verify(token, address=address, door=door)
    else:
        claims = _verify(token, address=address, door=door)
    issuer = str(claims["iss"])
    if issuer == settings.TOKEN_ISSUER:
        act = claims.get("act")
        impersonator = act.get("sub") if isinstance(act, dict) else None
        return claims, issuer, str(claims["sub"]), impersonator
    return claims, issuer, _provisioned_user(issuer=issuer, claims=claims), None


def _verify(token: str, *, address: str | None, door: str) -> dict[str, Any]:
    """Check a token's signature, issuer, audience and times; remember it when genuine."""
    unverified = _unverified(token)
    issuer = str(unverified["iss"])
    if issuer == settings.TOKEN_ISSUER:
        try:
            claims = _decode(
                token,
                key=settings.TOKEN_SIGNING_KEY,
                algorithms=[OWN_ALGORITHM],
                issuer=issuer,
                audience=settings.TOKEN_AUDIENCE,
            )
        except _Expired as exc:
            _login_record(
                token=token,
                claims=unverified,
                user_id=str(unverified.get("sub") or ""),
                issuer=issuer,
                address=address,
                door=door,
                success=False,
                reason=exc.message,
            )
            raise
        VERIFIED_TOKENS.put(token, claims, checked_against=_checked_against(issuer))
        return claims
    config = next((c for c in settings.OIDC_ISSUERS if c.get("issuer") == issuer), None)
    if config is None:
        raise Unauthenticated(
            f"tokens of issuer {issuer!r} are not accepted here; "
            "use a token of this platform or of a configured SSO provider",
            reason="unknown issuer",
        )
    claims = _decode_with_any(
        token,
        keys=JWKS.signing_keys(config, token),
        issuer=issuer,
        audience=config.get("audience") or settings.TOKEN_AUDIENCE,
    )
    VERIFIED_TOKENS.put(
        token,
        claims,
        checked_against=_checked_against(issuer),
        max_age=settings.OIDC_JWKS_CACHE_SECONDS,
    )
    return claims


def authenticate_bearer(
    authorization: str | None,
    *,
    act_as: str | None,
    address: str | None,
    request_id: str,
    door: str,
) -> Actor:
    """The ``Actor`` of a request carrying ``Authorization: Bearer <jwt>``.

    Raises ``Unauthenticated`` (with a message saying what to do) for a missing,
    malformed, expired, foreign-signed or wrong-audience token, an unknown issuer, an
    unknown or blocked user; ``PermissionDenied`` when a non-admin asks to act as someone.
    """
    token = _parse_header(authorization)
    claims, issuer, user_id, token_impersonator = _verified(token, address=address, door=door)
    try:
        actor = _actor_for(
            user_id=user_id,
            token_impersonator=token_impersonator,
            act_as=act_as,
            address=address,
            request_id=request_id,
            door=door,
        )
    except (Unauthenticated, PermissionDenied) as exc:
        identified = token_impersonator or user_id
        _login_record(
            token=token,
            claims=claims,
            user_id=identified,
            issuer=issuer,
            address=address,
            door=door,
            success=False,
            reason=exc.message[:200],
        )
        # The token was genuine: the doors name this user in the audit of the refusal.
        raise type(exc)(
            exc.message, field=exc.field, identified_user_id=identified, reason=exc.reason
        ) from None
    _login_record(
        token=token,
        claims=claims,
        user_id=actor.impersonator_id or actor.user_id,
        issuer=issuer,
        address=address,
        door=door,
        success=True,
    )
    return actor


def _provisioned_user(*, issuer: str, claims: dict[str, Any]) -> str:
    """The platform user of an SSO identity, created on its first valid login."""
    return user_provision_from_claims(issuer=issuer, subject=str(claims["sub"]), claims=claims)


def _actor_for(
    *,
    user_id: str,
    token_impersonator: str | None,
    act_as: str | None,
    address: str | None,
    request_id: str,
    door: str,
) -> Actor:
    """The actor of a token (and ``X-Act-As``), the users checked by ``principal_for``.

    An impersonation token already says who acts as whom; it cannot be pointed at yet
    another user. A plain token with ``act_as`` asks to impersonate ``act_as``.
    """
    if act_as and token_impersonator and act_as != user_id:
        raise PermissionDenied("an impersonation token cannot act as yet another user")
    impersonator_id = token_impersonator
    target_id = user_id
    if impersonator_id is None and act_as and act_as != user_id:
        impersonator_id, target_id = user_id, act_as
    principal = principal_for(user_id=target_id, impersonator_id=impersonator_id)
    return Actor(
        user_id=principal.subject.user_id,
        roles=frozenset(principal.subject.roles),
        impersonator_id=principal.impersonator.user_id if principal.impersonator else None,
        address=address,
        request_id=request_id,
        door=door,
    )


# --- where a refused call is recorded ---------------------------------------------------------


def refusal_record(
    *,
    actor: Actor | None,
    error: PrivetlError | None,
    service: str,
    action: str,
    message: str,
    reason: str,
    address: str | None,
    host: str | None,
    request_id: str,
    door: str,
) -> None:
    """Record a refused call (401 / 403) where it belongs; the one rule of both doors.

    - Someone was identified — an authenticated ``actor`` refused a permission, or a
      genuine token named a user who is blocked or may not impersonate
      (``error.identified_user_id``): an audit record of the attempt under that user.
    - Nobody was identified (no token, a malformed, foreign-signed, expired or unusable
      one): one more in the login history's count for (``host``, minute, ``reason``), and
      nothing in the audit log, so an anonymous flood neither grows the hash chain nor
      queues on its lock.

    Never raises: the door is already answering with the refusal.
    """
    identified = error.identified_user_id if error is not None else ""
    if actor is None and identified:
        actor = Actor(user_id=identified, address=address, request_id=request_id, door=door)
    if actor is not None and actor.user_id:
        audit_denied(actor=actor, service=service, action=action, message=message)
        return
    try:
        login_refusal_record(host=host, reason=reason or "refused")
    except Exception:
        logger.exception("could not count a refused authentication on the %s door", door)
