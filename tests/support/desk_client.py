"""A browser-like client of the desk for the httpx tests: its own cookie jar, signed in through the form."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import httpx

from tests.support.pages import Forms


def browser(api: httpx.AsyncClient) -> httpx.AsyncClient:
    """A browser of its own: the same app, its own cookie jar."""
    return httpx.AsyncClient(transport=api._transport, base_url="http://api")


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def sign_in(page: httpx.AsyncClient, token: str, back_to: str = "/desk/") -> httpx.Response:
    """The sign-in form as a person sends it: its CSRF token, the token typed in, where to go back to."""
    form = await page.get("/desk/sign-in", params={"next": back_to})
    return await page.post(
        "/desk/sign-in", data={"token": token, "csrf_token": hidden(form.text, "csrf_token"), "next": back_to}
    )


@asynccontextmanager
async def signed_in(api: httpx.AsyncClient, token: str, back_to: str = "/desk/") -> AsyncIterator[httpx.AsyncClient]:
    async with browser(api) as page:
        signed = await sign_in(page, token, back_to)
        assert signed.status_code == 303 and signed.headers["location"] == back_to, signed.text
        assert "referrals_session" in page.cookies
        yield page


def step_form(page: str, operation: str) -> dict | None:
    """The form of one step on the page ({action, fields, boxes}), or None when the page has none."""
    parser = Forms()
    parser.feed(page)
    return next((f for f in parser.forms if (f["action"] or "").endswith(f"/steps/{operation}")), None)


def filled(form: dict, values: dict[str, str], ticked: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The form's fields with some typed in and some boxes ticked."""
    for name in values:
        assert any(n == name for n, _ in form["fields"]), f"no field {name} in the form"
    for box in ticked:
        assert box in form["boxes"], f"no checkbox {box} in the form"
    return [(name, values.get(name, value)) for name, value in form["fields"]] + list(ticked)


async def send(page: httpx.AsyncClient, form: dict, fields: list[tuple[str, str]]) -> httpx.Response:
    return await page.post(
        form["action"], content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
