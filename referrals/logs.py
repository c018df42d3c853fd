"""structlog: JSON lines in production, readable console output in development. (Every line an activity writes
carries its workflow id, run id and activity type: referrals/activity_log_context.py.)"""

import logging
from typing import TextIO

import structlog


def configure(log_format: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """`stream`: where the lines go (stdout unless given: the `referrals` command keeps stdout for its output)."""
    renderer = structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,  # loggers follow a reconfiguration (tests capture logs)
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    # Libraries log through the standard library: their warnings and errors only, unless debugging.
    logging.basicConfig(level=logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING, format="%(message)s")
