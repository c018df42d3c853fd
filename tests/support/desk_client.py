"""A browser-like client of the desk for the httpx tests: its own cookie jar, signed in through the form."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx


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
