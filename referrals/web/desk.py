"""Wires the reviewer's desk into the API's app: its pages, its stylesheet, its answers to errors."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from referrals.web.auth import SignInRequired, sign_in_url
from referrals.web.pages import PREFIX, STATIC, build_environment, render
from referrals.web.routes import access_log, case, cases, dashboard, evidence, filing, signin, work


def _error_page(request: Request, status: int, message: str, details, headers):
    response = render(request, "error.html", status, status=status, message=message)
    for name, value in (headers or {}).items():
        if name.lower() != "www-authenticate":  # a browser would show its own sign-in box
            response.headers[name] = value
    return response


def install(app: FastAPI, zone) -> None:
    app.state.web_pages = build_environment(zone)
    app.state.error_page = _error_page
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="desk-static")
    for module in (signin, work, cases, dashboard, filing, case, evidence, access_log):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, exc: SignInRequired):
        return RedirectResponse(sign_in_url(exc.back_to, exc.ended), status_code=303)

    @app.get("/", include_in_schema=False)
    async def _home():
        return RedirectResponse(f"{PREFIX}/", status_code=303)
