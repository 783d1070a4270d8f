"""Helpers shared by every ``claims`` command module: who is calling, the services context,
and the translation of typed errors into exit codes.

One job: the command line's plumbing between click and ``claims.services``; no business
rules (those are the services') and no printing of results (``claims.cli.render``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from temporalio.client import Client

from claims.domain.tabular import ENCODINGS
from claims.errors import ClaimsError, InputError, NotAllowed
from claims.infra.settings import Settings
from claims.models import Actor, Role
from claims.services.context import Services, connect_temporal

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


def encoding_option(of: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--encoding`` option of a command that reads a file (``of``: the file in its help
    text): one of ``ENCODINGS``, or None to detect it."""
    return click.option(
        "--encoding",
        type=click.Choice(ENCODINGS),
        default=None,
        help=f"of {of} (default: UTF-8 with or without BOM, else GB18030 when the bytes are not UTF-8)",
    )


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


def parse_date(value: str, flag: str) -> date:
    """A ``YYYY-MM-DD`` option value.

    Raises:
        UsageError: not a date, naming the option (``--from: '2026-02-30' is not a date``).
    """
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a date; write YYYY-MM-DD") from None


def run_async(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


def settings_of(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def actor_of(ctx: click.Context) -> Actor:
    s = settings_of(ctx)
    actor_id, role = ctx.obj.get("actor") or s.actor.id, ctx.obj.get("role") or s.actor.role
    if not actor_id or not role:
        raise UsageError("who are you? give --actor ID --role ROLE (or set CLAIMS_ACTOR and CLAIMS_ROLE)")
    refuse_engine_role(role)
    try:
        return Actor(id=actor_id, role=Role(role), county=s.actor.county, village=s.actor.village)
    except ValidationError as e:
        raise UsageError(f"--actor/--role: {fmt_validation(e)}") from None
    except ValueError:
        raise UsageError(
            f"--role: {role!r} is not a role; roles: {', '.join(r.value for r in Role)}"
        ) from None


def identity_given(ctx: click.Context) -> bool:
    """True when the caller named themselves (``--actor`` or ``CLAIMS_ACTOR``)."""
    return bool(ctx.obj.get("actor") or settings_of(ctx).actor.id)


def viewer_of(ctx: click.Context) -> Actor | None:
    """The reader of a view: the caller when they named themselves (their scope applies),
    else None (read-only commands have never asked for an identity).

    Raises:
        UsageError: an identity that is given but not valid (as ``actor_of``).
    """
    return actor_of(ctx) if identity_given(ctx) else None


async def connect_client(settings: Settings) -> Client:
    """How the command line reaches Temporal (tests put a stand-in here)."""
    return await connect_temporal(settings)


def _connect(settings: Settings) -> Awaitable[Client]:
    return connect_client(settings)  # looked up at call time, so a stand-in takes effect


def services_of(ctx: click.Context) -> Services:
    """The process's services context, built on first use (the store migrated once, Temporal
    connected when a command first needs it)."""
    services = ctx.obj.get("services")
    if services is None:
        services = ctx.obj["services"] = Services(settings_of(ctx), connect=_connect)
        ctx.find_root().call_on_close(services.close)
    return services


def refused(e: ClaimsError) -> click.ClickException:
    """A typed error as the command line shows it, by type: bad input and a role that may not
    do the operation exit 2 (nothing was attempted), anything else refused exits 1."""
    if isinstance(e, (InputError, NotAllowed)):
        return UsageError(e.message)
    return click.ClickException(e.message)
