"""structlog set-up: JSON off a terminal, console on one; personal data masked.

Configure once at process start with :func:`configure_logging`. The standard library's
records (Temporal's SDK logs through them) are routed through the same processors, so a
workflow's or activity's ``claim_number`` and ``workflow_id`` become fields.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from temporalio import activity

from claims.domain.identity import mask_text

_configured = False


def _mask_personal_data(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Mask identity numbers, bank cards and phone numbers in every string field."""
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = mask_text(value)
    return event_dict


def configure_logging(fmt: str | None = None, level: str = "INFO") -> None:
    """Configure structlog and the standard library logging once per process.

    Args:
        fmt: ``json`` or ``console``; ``None`` picks console on a terminal, JSON otherwise.
        level: a standard logging level name.
    """
    global _configured
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_personal_data,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every migration step at INFO; only its warnings matter to users.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str = "claims", **bound: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger with ``bound`` fields (e.g. ``claim_number``).

    Inside a Temporal activity the workflow id and the activity type are bound as well.
    """
    if activity.in_activity():
        info = activity.info()
        bound = {"workflow_id": info.workflow_id, "activity": info.activity_type, **bound}
    return structlog.stdlib.get_logger(name).bind(**bound)
