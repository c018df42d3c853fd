"""Rendering the desk's pages: one Jinja2 environment, times in the department's own clock."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from referrals.config import ROOT
from referrals.domain.enums import Role
from referrals.domain.permissions import allowed
from referrals.domain.words import label, month_name, sentence
from referrals.web import choices

TEMPLATES = ROOT / "templates" / "web"
STATIC = TEMPLATES / "static"
PREFIX = "/desk"
# Every asset is ours and local: no inline script, no third-party origin, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def relative(when: datetime | None, now: datetime) -> str:
    """'in 5 h', '3 days ago': how far a time is from now, in words."""
    if when is None:
        return ""
    delta = when - now
    return f"in {_span(delta)}" if delta >= timedelta(0) else f"{_span(delta)} ago"


def age(since: datetime | None, now: datetime) -> str:
    return _span(now - since) if since else ""


def options(values) -> list[tuple[str, str]]:
    """[(value, label)] of enum members, for a select or a group of checkboxes."""
    return [(member.value, label(member)) for member in values]


def build_environment(zone) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def local(when: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        """A time as people here read it, in the department's time zone."""
        if when is None:
            return ""
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        return when.astimezone(zone).strftime(fmt)

    def input_value(when: datetime | str | None) -> str:
        """A time as a datetime-local field shows it, in the department's time zone."""
        if not when:
            return ""
        if isinstance(when, str):
            text = when
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                return text
        if when.tzinfo is None:
            return when.strftime("%Y-%m-%dT%H:%M")
        return when.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    env.filters.update(local=local, input_value=input_value, label=label, month_name=month_name, sentence=sentence)
    env.globals.update(relative=relative, age=age, prefix=PREFIX)
    # The lists of a fact entered once (referrals/web/choices.py: templates/web/choices.html).
    env.globals.update(
        district_options=choices.district_options,
        agency_options=choices.agency_options,
        language_options=choices.language_options,
        chosen=choices.chosen,
        OTHER=choices.OTHER,
    )
    env.filters.update(language=choices.language_label)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = request.app.state
    desk = getattr(request.state, "desk", None)  # the signed-in user and session, when there is one
    roles = [Role(r) for r in desk.user.roles] if desk else []

    def may(operation: str) -> bool:
        """Whether the signed-in user's roles may take this operation (referrals/domain/permissions.py)."""
        return allowed(operation, roles)

    context.setdefault("active", None)  # which item of the navigation is this page
    html = state.web_pages.get_template(template).render(
        request=request,
        desk=desk,
        now=datetime.now(UTC),
        policy=state.policy,
        zone=state.policy.time_zone,
        may=may,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
