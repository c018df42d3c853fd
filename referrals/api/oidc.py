"""The department's OpenID provider, as a relying party sees it: discovery, its signing keys (cached, fetched
again when a token names a key not seen yet, as after a rotation), the code exchange with PKCE, and the checks
of ID tokens and JWT access tokens. Claims become roles, district and star through `Identity.from_claims`."""

import base64
import hashlib
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlencode

import httpx
import structlog
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from referrals.config import Settings
from referrals.domain.enums import Role

log = structlog.get_logger()
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
METADATA_SECONDS = 3600
KEYS_SECONDS = 3600
# A key id not seen yet (as after a rotation) fetches the key set again, at most this often a minute: tokens
# naming made-up keys must not turn the API into a way of flooding the provider.
REFETCHES_PER_MINUTE = 10


class Refused(Exception):
    """A sign-in or token the provider's rules or ours refuse: `reason` is a short code for the access trail."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class ProviderUnavailable(Exception):
    """Discovery, the key set or the token endpoint could not be reached or answered nonsense."""


@dataclass(frozen=True)
class Identity:
    subject: str  # "<issuer> <sub>"
    email: str | None
    email_verified: bool
    name: str
    roles: tuple[Role, ...]
    district: str | None
    star: str | None

    @classmethod
    def from_claims(cls, claims: dict, settings: Settings, group_roles: dict[str, Role]) -> "Identity":
        # The roles claim holds role names or mapped groups; a `groups` claim beside it counts only through the
        # mapping (a provider's group that happens to be called "admin" grants nothing by its name alone).
        values = _strings(claims.get(settings.oidc_roles_claim))
        groups = _strings(claims.get("groups"))
        if settings.oidc_roles_claim == "groups":
            values = []
        known = {role.value: role for role in Role}
        found = {group_roles.get(value) or known.get(value) for value in values} | {
            group_roles.get(group) for group in groups
        }
        roles = {role for role in found if role is not None}
        email = claims.get("email")
        return cls(
            subject=f"{claims['iss']} {claims['sub']}",
            email=email.lower() if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=str(claims.get("name") or email or claims["sub"]),
            roles=tuple(sorted(roles, key=lambda r: r.value)),
            district=_text(claims.get(settings.oidc_district_claim)),
            star=_text(claims.get(settings.oidc_star_claim)),
        )


def _strings(raw) -> list[str]:
    return raw.split() if isinstance(raw, str) else [str(v) for v in raw] if isinstance(raw, list) else []


def _text(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def group_roles(settings: Settings) -> dict[str, Role]:
    """The provider's group names mapped to roles, from a JSON object in the setting or in the file it names."""
    spec = (settings.oidc_group_roles or "").strip()
    if not spec:
        return {}
    text = spec if spec.startswith("{") else Path(spec).read_text()
    mapping = json.loads(text)
    return {str(group): Role(role) for group, role in mapping.items()}


def mfa_met(claims: dict, settings: Settings) -> bool:
    if not settings.mfa_required:
        return True
    amr = claims.get("amr")
    if isinstance(amr, list) and "mfa" in amr:
        return True
    return bool(settings.oidc_mfa_acr) and claims.get("acr") == settings.oidc_mfa_acr


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Provider:
    """One per API process; its caches are only a cache: every process fetches what it needs by itself."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None):
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/") if settings.oidc_issuer else ""
        self.client_id = settings.oidc_client_id or ""
        self.audience = settings.oidc_audience or self.client_id
        self.group_roles = group_roles(settings)
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._metadata: dict | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._fetches: deque[float] = deque()

    async def close(self) -> None:
        await self._http.aclose()

    async def _get_json(self, url: str) -> dict:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from exc

    async def metadata(self) -> dict:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if not isinstance(found, dict) or not all(
                isinstance(found.get(name), str) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            ):
                raise ProviderUnavailable("discovery lacks the authorization, token or jwks_uri endpoint")
            # The document must name the issuer we were configured with (OpenID Connect Discovery 1.0, 4.3).
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise ProviderUnavailable(f"discovery names the issuer {found.get('issuer')!r}, not {self.issuer!r}")
            self._metadata, self._metadata_at = found, time.monotonic()
        return self._metadata

    async def _key(self, kid):
        kid = kid if isinstance(kid, str) else None
        fresh = self._keys is not None and time.monotonic() - self._keys_at < KEYS_SECONDS
        key = self._find(kid) if fresh else None
        if key is None and (not fresh or self._may_refetch()):
            try:
                self._keys = await self._fetch_keys()
                self._keys_at = time.monotonic()
            except ProviderUnavailable:
                if self._keys is None:
                    raise
                log.warning("oidc_keys_not_refreshed")  # the keys held are still the provider's: keep using them
            key = self._find(kid)
        if key is None:
            raise Refused("unknown_key", "the token is signed with a key the provider does not publish")
        return key

    async def _fetch_keys(self) -> KeySet:
        metadata = await self.metadata()
        if not isinstance(metadata.get("jwks_uri"), str):
            raise ProviderUnavailable("discovery names no jwks_uri")
        try:
            # The provider's JSON, as a key set: import_key_set checks it (what it raises is caught here).
            return KeySet.import_key_set(cast(KeySetSerialization, await self._get_json(metadata["jwks_uri"])))
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable(f"the key set is not a JWKS ({type(exc).__name__})") from None

    def _may_refetch(self) -> bool:
        now = time.monotonic()
        while self._fetches and self._fetches[0] < now - 60:
            self._fetches.popleft()
        if len(self._fetches) >= REFETCHES_PER_MINUTE:
            return False
        self._fetches.append(now)
        return True

    def _find(self, kid: str | None):
        if self._keys is None:
            return None
        if kid is None:
            return self._keys.keys[0] if len(self._keys.keys) == 1 else None
        try:
            return self._keys.get_by_kid(kid)
        except (JoseError, ValueError, KeyError):
            return None

    async def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{(await self.metadata())['authorization_endpoint']}?{urlencode(query)}"

    async def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> dict:
        """The token endpoint's answer to the code; a code used before or not ours is refused there."""
        secret = self.settings.oidc_client_secret.get_secret_value() if self.settings.oidc_client_secret else ""
        try:
            response = await self._http.post(
                (await self.metadata())["token_endpoint"],
                auth=(self.client_id, secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                },
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise ProviderUnavailable("token endpoint answered something other than JSON") from None
        if not isinstance(answer, dict):
            raise ProviderUnavailable("token endpoint answered JSON that is not an object")
        if response.status_code != 200 or not isinstance(answer.get("id_token"), str):
            said = answer.get("error", response.status_code)
            raise Refused("code", f"the provider refused the sign-in code ({said})")
        return answer

    async def _verified(self, raw: str, *, audience: str, kind: str) -> dict:
        try:
            header = jws.extract_compact(raw.encode()).protected
        except (JoseError, ValueError, UnicodeError):
            raise Refused("malformed", f"the {kind} is not a signed JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise Refused("algorithm", f"the {kind} is not signed with an accepted algorithm")
        key = await self._key(header.get("kid"))
        try:
            claims = jwt.decode(raw, key, algorithms=ALGORITHMS).claims
        except (JoseError, ValueError):
            raise Refused("signature", f"the {kind}'s signature does not verify") from None
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise Refused("issuer", f"the {kind} comes from another issuer")
        aud = claims.get("aud")
        if not (aud == audience or (isinstance(aud, list) and audience in aud)):
            raise Refused("audience", f"the {kind} is meant for another audience")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise Refused("subject", f"the {kind} names nobody")
        try:
            registry = jwt.JWTClaimsRegistry(leeway=self.settings.oidc_clock_skew_seconds, exp={"essential": True})
            registry.validate(claims)
        except JoseError as exc:
            reason = "expired" if "exp" in str(exc) else "time"
            raise Refused(reason, f"the {kind} has expired or is not valid yet") from None
        return claims

    async def id_token_claims(self, raw: str, *, nonce: str) -> dict:
        claims = await self._verified(raw, audience=self.client_id, kind="ID token")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise Refused("audience", "the ID token was issued to another party")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise Refused("nonce", "the ID token does not answer this sign-in (its nonce differs)")
        return claims

    async def access_token_claims(self, raw: str) -> dict:
        claims = await self._verified(raw, audience=self.audience, kind="access token")
        # An ID token (ours always carry a nonce) is no access token, even where both name the client as audience.
        if "nonce" in claims:
            raise Refused("id_token", "an ID token is not an access token")
        return claims

    async def end_session_url(self, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except ProviderUnavailable:
            return None
        if not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(query)}"
