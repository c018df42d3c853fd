"""Where the desk sends a person after signing in (referrals/web/auth.py's safe_next): only a path of this site under
/desk/ (or the Temporal UI behind it); anything else, however it is dressed, is /desk/. And the links the
notifications give point at the desk page, which that check lets through."""

import pytest

from referrals.config import Settings
from referrals.web.auth import safe_next, sign_in_url

pytestmark = pytest.mark.unit

CASE = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    "destination",
    [
        "/desk/",
        f"/desk/cases/{CASE}",
        f"/desk/cases/{CASE}#evidence-2",
        "/desk/dashboard?x=1",
        "/desk/cases?q=broken%20window&stage=open",
        "/desk/cases?q=caf%C3%A9",  # encoded words in a search are a search, not a path
        f"/temporal/namespaces/default/workflows/incident-{CASE}/history?x=1",
    ],
)
def test_a_path_on_the_desk_is_kept(destination):
    assert safe_next(destination) == destination


@pytest.mark.parametrize(
    "hostile",
    [
        None,
        "",
        # another site
        "//evil.example",
        "//evil.example/desk/",
        "https://evil.example",
        "https://evil.example/desk/",
        "http:/desk/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\\evil.example",
        "\\\\evil.example",
        "/desk\\evil.example",
        "/desk/\\evil.example",
        "/desk//evil.example",
        "/desk/@evil.example",
        " /desk/",
        "\t//evil.example",
        # out of the desk on this site
        "/",
        "/desk",
        "/DESK/",
        "/deskx/",
        "/incidents/" + CASE,
        "/desk/..",
        "/desk/../..",
        "/desk/../../evil",
        "/desk/./cases",
        "/desk/cases/..",
        # encoded, once or more
        "%2F%2Fevil.example",
        "%2f%2fevil.example",
        "/desk/%2F%2Fevil.example",
        "/desk%2F..%2F..%2Fevil",
        "/desk/%2e%2e/%2e%2e/evil",
        "/desk/.%2E/evil",
        "/desk/%252e%252e/evil",
        "/desk/%252F%252Fevil.example",
        "/desk/%5Cevil.example",
        "/desk/%255Cevil.example",
        "/desk/%25%32%66%25%32%66evil",
        "/desk/%25252525252F",  # still changing after four decodings
        "/desk/%ff",
        "%68ttps://evil.example",
        # header splitting and markup
        "/desk/\r\nSet-Cookie: referrals_session=x",
        "/desk/x\nLocation: https://evil.example",
        "/desk/x%0d%0aSet-Cookie:%20a=b",
        "/desk/cases?q=%0d%0aLocation:%20//evil",
        "/desk/\x00",
        '/desk/"><script>alert(1)</script>',
        "/desk/x';url=//evil.example",
        "/desk/caf\u00e9",
        "/desk/" + "a" * 2001,
    ],
)
def test_anything_else_goes_to_the_desk_home(hostile):
    assert safe_next(hostile) == "/desk/"


def test_the_sign_in_page_is_asked_to_come_back_to_the_same_place():
    assert sign_in_url("/desk/dashboard?x=1") == "/desk/sign-in?next=/desk/dashboard%3Fx%3D1"
    assert sign_in_url(f"/desk/cases/{CASE}", "locked") == f"/desk/sign-in?next=/desk/cases/{CASE}&ended=locked"


def test_a_notification_links_the_case_desk_page_at_the_public_address():
    settings = Settings(
        env="test",
        database_url="postgresql+asyncpg://nobody@localhost/none",
        public_url="https://referrals.example.gov/",
    )
    url = settings.case_url(CASE)
    assert url == f"https://referrals.example.gov/desk/cases/{CASE}"
    assert safe_next(url.removeprefix("https://referrals.example.gov")) == f"/desk/cases/{CASE}"
