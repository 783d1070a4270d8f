"""The policy register: load a register file (households, insured persons, policies).

One job: decode and validate a register file, load it in one transaction (all or nothing)
and say which insured persons fall outside their product's insurable ages at issue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from claims.domain.tabular import TabularError, decode
from claims.models import Actor
from claims.services.context import Services
from claims.services.errors import Refused
from claims.store import RegisterError, RegisterFile, age_warnings, load_register
from claims.store.db import unit_of_work


class RegisterRefused(Refused):
    """A register file refused; nothing of it was written. ``field``: ``file`` (unreadable,
    not JSON), the dotted field the model refused, or ``register`` (the store refused it);
    the message names the problem and, for JSON, the line and column."""

    code = "register.refused"


@dataclass(frozen=True)
class RegisterLoaded:
    """What a load did.

    Attributes:
        households, persons, policies: rows inserted or updated.
        warnings: persons outside their product's insurable ages at issue (by reference).
    """

    households: int
    persons: int
    policies: int
    warnings: list[str]


def read_register(data: bytes, encoding: str | None = None) -> tuple[RegisterFile, str]:
    """A register file's bytes decoded (UTF-8 with or without BOM, else GB18030, or as
    named) and validated; returns the register and how it was decoded.

    Raises:
        RegisterRefused: undecodable, not JSON, or a field the model refuses (all listed).
    """
    try:
        decoded = decode(data, encoding)
        return RegisterFile.model_validate(json.loads(decoded.text)), decoded.how
    except TabularError as e:
        raise RegisterRefused("file", str(e)) from None
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise RegisterRefused("file", f"not valid JSON at {where}: {e.msg}") from None
    except ValidationError as e:
        parts = [f"{'.'.join(str(x) for x in err['loc']) or '(input)'}: {err['msg']}" for err in e.errors()]
        first = ".".join(str(x) for x in e.errors()[0]["loc"]) or "(input)"
        raise RegisterRefused(first, "; ".join(parts)) from None


def load(services: Services, actor: Actor | None, register: RegisterFile) -> RegisterLoaded:
    """Load a register (from :func:`read_register`) in one transaction: all of it or nothing.

    Args:
        actor: who loads it (None: the command line's unidentified caller; the command line
            has never asked for an identity here).

    Raises:
        RegisterRefused: the store refuses it (``field`` ``register``); nothing was written.
    """
    try:
        with unit_of_work(services.sessions) as session:
            counts = load_register(session, register)
    except RegisterError as e:
        raise RegisterRefused("register", str(e)) from None
    return RegisterLoaded(
        households=counts["households"],
        persons=counts["persons"],
        policies=counts["policies"],
        warnings=age_warnings(register),
    )
