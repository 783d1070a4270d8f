"""Helpers shared by every ``claims`` subcommand module: identity, settings, store, client, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from claims.store.db import make_engine, make_sessionmaker, upgrade_database
from claims.models import Actor, Role
from claims.infra.settings import Settings

T = TypeVar("T")


class UsageError(click.ClickException):
    """A command-line error shown as ``error: ...`` with exit code 2."""

    exit_code = 2


class NoAnswerExit(click.ClickException):
    """A step no worker answered in time, shown as one line with exit code 3.

    Distinct from 1 (refused: nothing happened) because the step may still be performed;
    repeat the same command (same update id) or check ``claims show``.
    """

    exit_code = 3


EXIT_CODES = {0: "done", 1: "refused or failed", 2: "bad input or usage", 3: "no answer in time"}
"""The exit codes of ``claims`` commands (documented in the README)."""


def refuse_engine_role(role: str | None) -> None:
    """``system`` is the engine's own role (timers, rules): no person claims it.

    Raises:
        UsageError: ``role`` is ``system`` (from ``--role`` or ``CLAIMS_ROLE``).
    """
    if role is not None and role.strip().lower() == Role.SYSTEM.value:
        raise UsageError(
            "--role: 'system' is the engine's own role and cannot be claimed at the command line"
        )


def fmt_validation(e: ValidationError, source: str = "") -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(input)"
        parts.append(f"{source}{loc}: {err['msg']}")
    return "; ".join(parts)


def run_async(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


def settings_of(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def actor_of(ctx: click.Context) -> Actor:
    s = settings_of(ctx)
    actor_id, role = ctx.obj.get("actor") or s.actor, ctx.obj.get("role") or s.role
    if not actor_id or not role:
        raise UsageError("who are you? give --actor ID --role ROLE (or set CLAIMS_ACTOR and CLAIMS_ROLE)")
    refuse_engine_role(role)
    try:
        return Actor(id=actor_id, role=Role(role), county=s.county or None, village=s.village or None)
    except ValidationError as e:
        raise UsageError(f"--actor/--role: {fmt_validation(e)}") from None
    except ValueError:
        raise UsageError(
            f"--role: {role!r} is not a role; roles: {', '.join(r.value for r in Role)}"
        ) from None


def sessions_for(settings: Settings) -> Any:
    url = settings.sqlalchemy_url()
    upgrade_database(url)
    return make_sessionmaker(make_engine(url))


async def client_for(settings: Settings) -> Any:
    from claims.infra.temporal import TemporalUnavailable, connect

    try:
        return await connect(settings)
    except TemporalUnavailable as e:
        raise click.ClickException(str(e)) from None


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: CJK (wide and full-width) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def ljust(text: str, width: int) -> str:
    """``str.ljust`` by terminal columns, so Chinese county and township names line up."""
    return text + " " * max(0, width - display_width(text))
