"""The OpenID provider the product signs in against (referrals/devstack/oidc_provider.py): a real oidc-provider on
loopback, proved to give what the relying party and the API will rely on."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidKeyIdError
from joserfc.jwk import KeySet

from referrals.devstack import oidc_provider as op
from tests.support import oidc
from tests.support.browser import chromium, needs_chromium

pytestmark = pytest.mark.skipif(op.node() is None, reason="node is not on PATH: the OpenID provider needs Node.js")
# Tiers: the provider is a server of its own (`stack`); one test also drives Chromium (`browser`).

RESOURCE = "http://127.0.0.1:8000"
# Nothing listens there: the tests read the redirects, and the browser test intercepts them.
REDIRECT_URI = "http://127.0.0.1:9/auth/callback"
SIGNED_OUT = "http://127.0.0.1:9/signed-out"
WEB = {
    "client_id": "referrals-web",
    "client_secret": "web-secret-for-tests",
    "redirect_uris": [REDIRECT_URI],
    "post_logout_redirect_uris": [SIGNED_OUT],
}
CLIENT = {"client_id": WEB["client_id"], "client_secret": WEB["client_secret"], "redirect_uri": REDIRECT_URI}
ACCOUNTS = {
    "ana": {
        "sub": "u-ana",
        "password": "ana-pw",
        "email": "ana.ruiz@cpd.example",
        "email_verified": True,
        "name": "Ana Ruiz",
        "groups": ["cpd-legal"],
        "district": "010",
        "star": "12345",
        "mfa": True,
    },
    "bo": {
        "sub": "u-bo",
        "password": "bo-pw",
        "email": "bo.chen@cpd.example",
        "email_verified": False,
        "name": "Bo Chen",
        "groups": ["cpd-officers"],
        "roles": ["officer"],
        "district": "002",
        "star": "67890",
        "mfa": False,
    },
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    if not op.installed():
        op.install()
    with op.start(tmp_path_factory.mktemp("oidc"), clients=[WEB], accounts=ACCOUNTS, resource=RESOURCE) as running:
        yield running


def decode(token: str, provider: op.Provider):
    """Verified against the provider's published JWKS, as a relying party or the API does."""
    return jwt.decode(token, KeySet.import_key_set(provider.jwks()), algorithms=["RS256"])


def validate(claims: dict, **expected) -> None:
    options = {name: {"essential": True, "value": value} for name, value in expected.items()}
    jwt.JWTClaimsRegistry(**options).validate(claims)


@pytest.mark.stack
async def test_discovery_names_the_endpoints_and_pkce_s256(provider):
    metadata = provider.metadata()
    assert metadata["issuer"] == provider.issuer
    assert provider.issuer.startswith("http://127.0.0.1:")
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert metadata[endpoint].startswith(provider.issuer + "/"), endpoint
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(metadata["token_endpoint_auth_methods_supported"])
    assert {"groups", "roles", "district", "star", "amr", "acr", "email"} <= set(metadata["claims_supported"])
    # The published keys are public halves only.
    assert provider.jwks()["keys"] and all("d" not in key for key in provider.jwks()["keys"])


@pytest.mark.stack
async def test_id_token_from_code_flow_carries_identity_nonce_and_mfa(provider):
    tokens = await oidc.sign_in(provider, **CLIENT, login="ana", password="ana-pw", nonce="n-0S6_WzA2Mj")
    token = decode(tokens["id_token"], provider)
    validate(token.claims, iss=provider.issuer, aud=WEB["client_id"], nonce="n-0S6_WzA2Mj", sub="u-ana")
    claims = token.claims
    assert claims["email"] == "ana.ruiz@cpd.example" and claims["email_verified"] is True
    assert claims["name"] == "Ana Ruiz"
    assert claims["groups"] == ["cpd-legal"]
    assert (claims["district"], claims["star"]) == ("010", "12345")
    assert "roles" not in claims
    assert claims["amr"] == ["pwd", "mfa"] and claims["acr"] == "urn:cpd:mfa"
    assert claims["exp"] > time.time()

    # Another account, the client authenticating with client_secret_post this time.
    tokens = await oidc.sign_in(provider, **CLIENT, login="bo", password="bo-pw", auth_method="client_secret_post")
    claims = decode(tokens["id_token"], provider).claims
    validate(claims, iss=provider.issuer, aud=WEB["client_id"], nonce=tokens["nonce"], sub="u-bo")
    assert claims["roles"] == ["officer"] and claims["groups"] == ["cpd-officers"]
    assert "mfa" not in claims["amr"] and claims["amr"] == ["pwd"] and claims["acr"] == "urn:cpd:pwd"


@pytest.mark.stack
async def test_pkce_is_required(provider):
    metadata = provider.metadata()
    url = oidc.authorization_url(
        metadata["authorization_endpoint"],
        client_id=WEB["client_id"],
        redirect_uri=REDIRECT_URI,
        code_challenge=None,
        state="s1",
    )
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.is_redirect
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and "PKCE" in query["error_description"][0]


@pytest.mark.stack
async def test_wrong_password_shows_the_form_again(provider):
    metadata = provider.metadata()
    _, challenge = oidc.pkce_pair()
    url = oidc.authorization_url(
        metadata["authorization_endpoint"],
        client_id=WEB["client_id"],
        redirect_uri=REDIRECT_URI,
        code_challenge=challenge,
        state="s2",
        nonce="n2",
    )
    async with httpx.AsyncClient(follow_redirects=True) as http:
        page = await http.get(url)
        assert page.status_code == 200 and oidc.SIGN_IN_BUTTON in page.text
        form = oidc.forms_of(page.text)[0]
        assert form["method"] == "post" and {"login", "password"} <= form["names"]
        again = await http.post(str(page.url.join(form["action"])), data={"login": "ana", "password": "nope"})
        assert again.status_code == 401
        assert oidc.INVALID_LOGIN in again.text and 'name="password"' in again.text
        with pytest.raises(oidc.LoginRejected):
            await oidc.password_login(url, "ana", "nope", client=http)


@pytest.mark.stack
async def test_access_token_for_the_resource_is_a_jwt_for_its_audience(provider):
    value = await oidc.access_token(
        provider, WEB["client_id"], WEB["client_secret"], REDIRECT_URI, "ana", "ana-pw", RESOURCE
    )
    token = decode(value, provider)
    assert token.header["typ"] == "at+jwt" and token.header["alg"] == "RS256"
    validate(token.claims, iss=provider.issuer, aud=RESOURCE, sub="u-ana", client_id=WEB["client_id"])
    claims = token.claims
    assert claims["exp"] - claims["iat"] == 600
    assert claims["email"] == "ana.ruiz@cpd.example" and claims["groups"] == ["cpd-legal"]
    assert (claims["district"], claims["star"]) == ("010", "12345")
    assert claims["amr"] == ["pwd", "mfa"]

    # Asked for at the token endpoint only, it is the same kind of token.
    tokens = await oidc.sign_in(provider, **CLIENT, login="bo", password="bo-pw", token_resource=RESOURCE)
    claims = decode(tokens["access_token"], provider).claims
    validate(claims, iss=provider.issuer, aud=RESOURCE, sub="u-bo")
    assert claims["roles"] == ["officer"] and claims["amr"] == ["pwd"]

    # Another allowed audience, for the API to refuse.
    wrong = await oidc.access_token(
        provider, WEB["client_id"], WEB["client_secret"], REDIRECT_URI, "ana", "ana-pw", op.WRONG_AUDIENCE
    )
    assert decode(wrong, provider).claims["aud"] == op.WRONG_AUDIENCE

    # An audience the provider does not know is refused at the authorization endpoint.
    with pytest.raises(op.ProviderError, match="invalid_target"):
        await oidc.access_token(
            provider, WEB["client_id"], WEB["client_secret"], REDIRECT_URI, "ana", "ana-pw", "http://unknown.invalid"
        )

    # Without a resource the access token is the UserInfo one (opaque), not a JWT for the API.
    tokens = await oidc.sign_in(provider, **CLIENT, login="ana", password="ana-pw")
    assert tokens["access_token"].count(".") != 2


@pytest.mark.stack
async def test_rotation_signs_with_a_new_kid_and_still_publishes_the_old(provider):
    async with httpx.AsyncClient() as http:
        before = await oidc.sign_in(provider, **CLIENT, login="ana", password="ana-pw", resource=RESOURCE, http=http)
        old_kid = decode(before["id_token"], provider).header["kid"]

        new_kid = provider.rotate_keys()

        assert new_kid != old_kid
        published = [key["kid"] for key in provider.jwks()["keys"]]
        assert new_kid in published and old_kid in published
        assert provider.signing_kids()[:2] == [new_kid, old_kid]  # written first into keys_file
        assert all("d" in key for key in json.loads(provider.keys_file.read_text())["keys"])
        # The provider session outlived the swap: no password asked (a wrong one would be refused).
        after = await oidc.sign_in(provider, **CLIENT, login="ana", password="not-asked", resource=RESOURCE, http=http)
    for name in ("id_token", "access_token"):
        assert decode(after[name], provider).header["kid"] == new_kid
        assert decode(before[name], provider).header["kid"] == old_kid  # still verifies
    validate(decode(after["id_token"], provider).claims, iss=provider.issuer, aud=WEB["client_id"])

    # A key that is not published does not verify: the check above is real.
    other = KeySet.import_key_set({"keys": [k for k in provider.jwks()["keys"] if k["kid"] != old_kid]})
    with pytest.raises((InvalidKeyIdError, BadSignatureError)):
        jwt.decode(before["id_token"], other, algorithms=["RS256"])


@pytest.mark.stack
async def test_a_changed_account_shows_in_the_next_tokens(provider):
    try:
        async with httpx.AsyncClient() as http:
            first = await oidc.sign_in(provider, **CLIENT, login="bo", password="bo-pw", http=http)
            assert decode(first["id_token"], provider).claims["groups"] == ["cpd-officers"]
            provider.set_account("bo", groups=["cpd-officers", "cpd-command"], roles=None)
            # In the same provider session, and in a new one.
            same = await oidc.sign_in(provider, **CLIENT, login="bo", password="bo-pw", http=http, resource=RESOURCE)
        fresh = await oidc.sign_in(provider, **CLIENT, login="bo", password="bo-pw")
        for tokens in (same, fresh):
            claims = decode(tokens["id_token"], provider).claims
            assert claims["groups"] == ["cpd-officers", "cpd-command"] and "roles" not in claims
        assert decode(same["access_token"], provider).claims["groups"] == ["cpd-officers", "cpd-command"]
    finally:
        provider.set_account("bo", **ACCOUNTS["bo"])


@pytest.mark.stack
async def test_access_token_ttl_sets_exp(tmp_path):
    if not op.installed():
        op.install()
    with op.start(tmp_path, clients=[WEB], accounts=ACCOUNTS, resource=RESOURCE, access_token_ttl=2) as short:
        tokens = await oidc.sign_in(short, **CLIENT, login="ana", password="ana-pw", resource=RESOURCE)
        claims = decode(tokens["access_token"], short).claims
        assert claims["exp"] - claims["iat"] == 2 and tokens["expires_in"] == 2
        id_claims = decode(tokens["id_token"], short).claims
        assert id_claims["exp"] - id_claims["iat"] == 3600  # the ID token keeps its own lifetime
        with pytest.raises(ExpiredTokenError):
            jwt.JWTClaimsRegistry(now=claims["exp"] + 1).validate(claims)


@pytest.mark.stack
async def test_logout_redirects_to_the_registered_uri(provider):
    async with httpx.AsyncClient() as http:
        tokens = await oidc.sign_in(provider, **CLIENT, login="ana", password="ana-pw", http=http)
        page = await http.get(
            provider.metadata()["end_session_endpoint"],
            params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT},
        )
        assert page.status_code == 200 and oidc.SIGN_OUT_BUTTON in page.text  # the confirmation form

        response = await oidc.end_session(
            provider, client=http, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT, state="st-1"
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"{SIGNED_OUT}?state=st-1"
        # Signed out: the next sign-in asks for the password again.
        with pytest.raises(oidc.LoginRejected):
            await oidc.sign_in(provider, **CLIENT, login="ana", password="not-the-password", http=http)

        # With no session left, only client_id: the provider still lands on the registered URI.
        response = await oidc.end_session(
            provider, client=http, client_id=WEB["client_id"], post_logout_redirect_uri=SIGNED_OUT
        )
        assert response.headers["location"] == SIGNED_OUT
        # An unregistered one is refused.
        refused = await http.get(
            provider.metadata()["end_session_endpoint"],
            params={"client_id": WEB["client_id"], "post_logout_redirect_uri": "http://evil.invalid/"},
        )
        assert refused.status_code == 400


@needs_chromium
async def test_a_browser_signs_in_and_out(provider):
    metadata = provider.metadata()
    _, challenge = oidc.pkce_pair()
    url = oidc.authorization_url(
        metadata["authorization_endpoint"],
        client_id=WEB["client_id"],
        redirect_uri=REDIRECT_URI,
        code_challenge=challenge,
        state="b1",
        nonce="bn",
        resource=RESOURCE,
    )
    landed = []

    async def relying_party(route):
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>relying party</p>")

    async with chromium() as browser:
        page = await browser.new_page()
        await page.route("http://127.0.0.1:9/**", relying_party)
        await page.goto(url)
        await page.fill("input[name=login]", "ana")
        await page.fill("input[name=password]", "wrong")
        await page.click(f"button:has-text('{oidc.SIGN_IN_BUTTON}')")
        await page.wait_for_selector(f"text={oidc.INVALID_LOGIN}")
        await page.fill("input[name=password]", "ana-pw")
        await page.click(f"button:has-text('{oidc.SIGN_IN_BUTTON}')")
        await page.wait_for_url(lambda url: url.startswith(REDIRECT_URI))
        query = parse_qs(urlsplit(landed[-1]).query)
        assert query["state"] == ["b1"] and query["code"] and query["iss"] == [provider.issuer]

        await page.goto(
            f"{metadata['end_session_endpoint']}?client_id={WEB['client_id']}"
            f"&post_logout_redirect_uri={SIGNED_OUT}&state=b2"
        )
        await page.click(f"button:has-text('{oidc.SIGN_OUT_BUTTON}')")
        await page.wait_for_url(lambda url: url.startswith(SIGNED_OUT))
        assert landed[-1] == f"{SIGNED_OUT}?state=b2"
        await page.close()
