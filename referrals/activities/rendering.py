"""Message bodies from the Jinja2 templates under templates/, rendered in a sandbox."""

from datetime import timedelta
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from referrals.config import ROOT

TEMPLATES = ROOT / "templates"


def humanize(delta: timedelta) -> str:
    """'2 days 3 hours', '45 minutes', '5 seconds': the two largest units."""
    seconds = max(int(delta.total_seconds()), 0)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "less than a second"


def task_title(task: str) -> str:
    return task.replace("_", " ").capitalize()


class Templates:
    def __init__(self, folder: Path = TEMPLATES) -> None:
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(folder), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
        )

    def render(self, name: str, **context) -> str:
        return self._env.get_template(name).render(**context).strip()
