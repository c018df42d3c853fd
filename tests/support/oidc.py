"""Clients of the OpenID provider the devstack runs (referrals/devstack/oidc_provider.py), for the tests: a browser-like
sign-in (redirects followed, the login form filled in), the whole authorization-code + PKCE flow to tokens, and
RP-initiated logout.

    with oidc_provider.start(tmp, clients=[...], accounts={"ana": {"sub": "u-ana", "password": "pw", ...}},
                             resource="http://127.0.0.1:8000") as op:
        response = await password_login(authorize_url, "ana", "pw", client=http)   # redirect to redirect_uri
        token = await access_token(op, "web", "...", redirect_uri, "ana", "pw", op.resource)
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import httpx

from referrals.devstack.oidc_provider import Provider, ProviderError

# The pages' words, for tests and browsers: the sign-in form's fields and button, the sign-out button.
LOGIN_FIELD, PASSWORD_FIELD, SIGN_IN_BUTTON = "login", "password", "Sign in"
INVALID_LOGIN = "Invalid login or password"
SIGN_OUT_BUTTON = "Sign out"


class LoginRejected(ProviderError):
    """The sign-in form came back with "Invalid login or password"."""


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    code_challenge: str | None,
    state: str,
    nonce: str | None = None,
    scope: str = "openid profile email",
    resource: str | Iterable[str] | None = None,
    **extra: str,
) -> str:
    """An authorization-code request with PKCE (S256; None leaves it out, which the provider refuses);
    `resource` may repeat (RFC 8707)."""
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
    ]
    if code_challenge is not None:
        params += [("code_challenge", code_challenge), ("code_challenge_method", "S256")]
    if nonce is not None:
        params.append(("nonce", nonce))
    for value in [resource] if isinstance(resource, str) else (resource or []):
        params.append(("resource", value))
    params.extend(extra.items())
    return f"{authorization_endpoint}?{urlencode(params)}"


class _Forms(HTMLParser):
    """The forms of a page: action, method, and the fields a browser would send (hidden inputs, values)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._current = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "id": a.get("id", ""),
                "fields": {},
                "names": set(),
                "buttons": [],
            }
            self.forms.append(self._current)
        elif self._current is not None and tag == "input" and a.get("name"):
            self._current["names"].add(a["name"])
            if a.get("type", "text").lower() not in ("submit", "button", "checkbox", "radio"):
                self._current["fields"][a["name"]] = a.get("value", "")
        elif self._current is not None and tag == "button":
            self._button = {"name": a.get("name", ""), "value": a.get("value", ""), "text": ""}
            self._current["buttons"].append(self._button)

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None
        elif tag == "form":
            self._current = None


def forms_of(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def password_login(
    start_url: str,
    login: str,
    password: str,
    *,
    client: httpx.AsyncClient,
    issuer: str | None = None,
    max_steps: int = 20,
) -> httpx.Response:
    """Drive a sign-in as a browser would, from `start_url` (the authorization URL, or a relying party's
    page that redirects there): follow redirects, fill in the login form, and return the response that
    redirects from the provider back to the client (its Location has code and state, or error), unfollowed.

    `client` keeps the cookies: with a provider session already in it, no form is shown. Without `issuer`,
    the provider is recognised by its /auth and /interaction/ paths. Raises LoginRejected on a wrong
    password, ProviderError when the flow stops anywhere else.
    """
    provider = _origin(issuer) if issuer else None
    method, url, data = "GET", start_url, None
    for _ in range(max_steps):
        response = await client.request(method, url, data=data, follow_redirects=False)
        here = _origin(str(response.url))
        path = response.url.path
        if provider is None and (path == "/auth" or path.startswith(("/auth/", "/interaction/"))):
            provider = here
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if provider is not None and here == provider and _origin(target) != provider:
                return response
            method, url, data = "GET", target, None
            continue
        form = next((f for f in forms_of(response.text) if {LOGIN_FIELD, PASSWORD_FIELD} <= f["names"]), None)
        if form is not None:
            if method == "POST" and INVALID_LOGIN in response.text:
                raise LoginRejected(f"{login!r}: {INVALID_LOGIN}")
            provider = provider or here
            fields = {**form["fields"], LOGIN_FIELD: login, PASSWORD_FIELD: password}
            method, url, data = "POST", urljoin(str(response.url), form["action"] or str(response.url)), fields
            continue
        raise ProviderError(f"sign-in stopped at {method} {response.url}: {response.status_code} {response.text[:800]}")
    raise ProviderError(f"sign-in did not come back to the client within {max_steps} steps (last: {url})")


async def _metadata(provider: Provider | str, http: httpx.AsyncClient) -> dict[str, Any]:
    issuer = provider.issuer if isinstance(provider, Provider) else provider.rstrip("/")
    response = await http.get(f"{issuer}/.well-known/openid-configuration")
    response.raise_for_status()
    return response.json()


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 2.3.1: each part form-urlencoded before the base64.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


async def sign_in(
    provider: Provider | str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    login: str,
    password: str,
    scope: str = "openid profile email",
    resource: str | Iterable[str] | None = None,
    token_resource: str | None = None,
    nonce: str | None = None,
    auth_method: str = "client_secret_basic",
    http: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """A whole authorization-code + PKCE flow against the provider; returns the token response
    (access_token, id_token, token_type, expires_in, scope) plus the "nonce" and "state" it sent.

    `resource` goes in the authorization request, `token_resource` in the token request (it must be one the
    authorization request named, or one of the provider's allowed resources when it named none).
    `auth_method` is client_secret_basic or client_secret_post. `http` (its cookies: an existing provider
    session skips the form) defaults to a fresh client.
    """
    owned = http is None
    http = http or httpx.AsyncClient(timeout=30)
    try:
        metadata = await _metadata(provider, http)
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), nonce or secrets.token_urlsafe(16)
        url = authorization_url(
            metadata["authorization_endpoint"],
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            state=state,
            nonce=nonce,
            scope=scope,
            resource=resource,
        )
        redirect = await password_login(url, login, password, client=http, issuer=metadata["issuer"])
        location = urlsplit(redirect.headers["location"])
        params = dict(httpx.QueryParams(location.query))
        if "error" in params:
            raise ProviderError(f"authorization failed: {params}")
        if params.get("state") != state:
            raise ProviderError(f"the state came back changed: {params}")
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        if token_resource is not None:
            form["resource"] = token_resource
        headers = {}
        if auth_method == "client_secret_basic":
            headers["Authorization"] = _basic(client_id, client_secret)
        elif auth_method == "client_secret_post":
            form.update(client_id=client_id, client_secret=client_secret)
        else:
            raise ValueError(f"auth_method {auth_method!r}: client_secret_basic or client_secret_post")
        response = await http.post(metadata["token_endpoint"], data=form, headers=headers)
        if response.status_code != 200:
            raise ProviderError(f"token request failed: {response.status_code} {response.text[:800]}")
        return {**response.json(), "nonce": nonce, "state": state}
    finally:
        if owned:
            await http.aclose()


async def access_token(
    provider: Provider | str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    login: str,
    password: str,
    resource: str,
) -> str:
    """Sign `login` in (code + PKCE, a fresh client) and return an access token for `resource`: a JWT whose
    aud is `resource` (which must be the provider's resource or one of its extra_resources)."""
    tokens = await sign_in(
        provider,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        login=login,
        password=password,
        resource=resource,
    )
    return tokens["access_token"]


async def end_session(
    provider: Provider | str,
    *,
    client: httpx.AsyncClient,
    id_token_hint: str | None = None,
    client_id: str | None = None,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
) -> httpx.Response:
    """RP-initiated logout as a browser does it: the end_session_endpoint, then its confirmation form
    ("Sign out" button, or the auto-submitted form when there is no session); returns the provider's final
    redirect (to post_logout_redirect_uri, or its own "Signed out" page), unfollowed."""
    metadata = await _metadata(provider, client)
    params = {
        key: value
        for key, value in {
            "id_token_hint": id_token_hint,
            "client_id": client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        }.items()
        if value is not None
    }
    response = await client.get(metadata["end_session_endpoint"], params=params, follow_redirects=False)
    if response.is_redirect:
        return response
    forms = [f for f in forms_of(response.text) if f["method"] == "post" and "xsrf" in f["fields"]]
    if response.status_code != 200 or not forms:
        raise ProviderError(f"logout stopped at {response.url}: {response.status_code} {response.text[:800]}")
    form = forms[0]
    fields = dict(form["fields"])
    button = next((b for b in form["buttons"] if b["text"].strip() == SIGN_OUT_BUTTON), None)
    if button is not None and button["name"]:
        fields[button["name"]] = button["value"]
    response = await client.post(urljoin(str(response.url), form["action"]), data=fields, follow_redirects=False)
    if not response.is_redirect:
        raise ProviderError(f"logout confirmation failed: {response.status_code} {response.text[:800]}")
    return response
