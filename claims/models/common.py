"""Shared base of the boundary models: the frozen base class, money types, roles, actors, stages, outcomes.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from claims.models.bounds import ColumnAmount, PlaceName, StaffId

TASK_QUEUE = "jisheng-claims"
"""The Temporal task queue the claim worker polls."""


def _plain_amount(v: object) -> object:
    """Amounts come as ASCII decimal strings (``"40000.00"``) or integers: no floats (binary
    fractions), no full-width digits, no thousands separators. (An exponent, as ``Decimal``
    itself may write one in a payload, is exact and accepted.)"""
    if isinstance(v, float):
        raise ValueError(
            'write amounts as a string in yuan, e.g. "40000.00", not as a JSON number with a fraction'
        )
    if isinstance(v, str) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", v.strip()):
        raise ValueError(
            f"{v!r} is not an amount in yuan: use ASCII digits and one decimal point, e.g. 40000.00 "
            "(no thousands separators or full-width digits)"
        )
    return v


Yuan = Annotated[Decimal, BeforeValidator(_plain_amount), ColumnAmount]
"""An amount of money in yuan, exact to the fen, finite and within what the ledger's
``Numeric(14, 2)`` holds (``claims.models.bounds.MAX_YUAN``)."""


NonNegativeYuan = Annotated[Decimal, BeforeValidator(_plain_amount), Field(ge=0), ColumnAmount]


class Frozen(BaseModel):
    """Base for boundary models: unknown fields are rejected, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """Who performs a step. Permissions per role are enforced by the workflow's validators."""

    VILLAGE_SECRETARY = "village_secretary"  # 村计生协秘书长: reports, uploads documents
    HANDLER = "handler"  # 理赔员: registers, requests documents, adjudicates, pays
    INVESTIGATOR = "investigator"  # 调查员: records investigation findings
    SUPERVISOR = "supervisor"  # 主管: may do any handler step, reassigns
    AUDITOR = "auditor"  # 审计: reads and replays only
    SYSTEM = "system"  # the engine itself (timers, rules)


class Actor(Frozen):
    """The person (or the engine) behind a step: an opaque staff id and a role.

    ``county`` and ``village`` scope the actor, when set: a handler or supervisor of a
    county acts only on that county's claims, a village secretary only on their village's.
    Unset means unscoped (e.g. the provincial office, the engine).
    """

    id: StaffId
    role: Role
    county: PlaceName | None = None
    village: PlaceName | None = None


SYSTEM = Actor(id="engine", role=Role.SYSTEM)
"""The engine itself as the actor of what no person did (timers, rules, notices): one definition."""


class Stage(StrEnum):
    """Where a claim stands. Terminal stages: ``closed``, ``declined`` and ``withdrawn``."""

    REPORTED = "reported"  # 报案: waiting for registration (立案)
    DOCUMENTS = "documents"  # 资料收集: registered, collecting documents
    INVESTIGATION = "investigation"  # 调查
    ADJUDICATION = "adjudication"  # 核定: documents complete, waiting for the decision
    PAYOUT = "payout"  # 赔付: approved, waiting for the money to be paid
    CLOSED = "closed"  # 结案: paid
    DECLINED = "declined"  # 拒赔: declined with reasons
    WITHDRAWN = "withdrawn"  # 撤案: withdrawn before payment (a new report opens a new claim)

    @property
    def terminal(self) -> bool:
        """True for ``closed``, ``declined`` and ``withdrawn``."""
        return self in (Stage.CLOSED, Stage.DECLINED, Stage.WITHDRAWN)


class Outcome(StrEnum):
    """What the event caused, for the benefit that answers it."""

    DEATH = "death"
    DISABILITY = "disability"
    MEDICAL = "medical"
    ILLNESS = "illness"  # a diagnosed disease (critical illness, hospital cash)


class Ack(Frozen):
    """An empty-ish result for activities that only record."""

    ok: Literal[True] = True
