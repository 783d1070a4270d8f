"""What an auditor can do: find claims, read a claim's audit, replay it, decode payloads.

One job: the auditor's reads for the console (``claims.web.routes.audit`` and ``.codec``),
scoped like every other read: the reader's county (and village) **in SQL** on the projection,
and a claim outside the scope is ``ClaimNotFound``, the same answer as no claim at all.

- :func:`find_claims`: claims whose number starts with what was typed, and the recently
  closed or declined claims, newest first.
- :func:`audit`: the claim's :class:`~claims.audit.AuditReport` from its workflow history (or
  the archive), exactly what ``claims audit N`` reads; :func:`audit_json_text` is
  ``claims audit N --json``'s output, byte for byte.
- :func:`replay`: the claim's history replayed against the current workflow code and its
  decisions re-made with the current rules (``claims replay N``'s report for one claim).
- :func:`decode_payloads`: the Temporal codec-server ``/decode`` contract on the configured
  payload keys (``CLAIMS_PAYLOAD_KEYS``), for auditors only (the codec lets a reader see every
  payload of every history it is shown, so it is not scoped by county: a scoped auditor may
  not use it).

Who may: auditors and supervisors read audits and replay (:data:`AUDIT_READERS`); only
auditors decode payloads (:data:`DECODERS`). Every read is logged with the actor
(``claims.audit`` logs audits and replays; decodes are logged here).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from temporalio.api.common.v1 import Payload

from claims.audit import (
    AuditReport,
    ReplayReport,
    audit_claim,
    audit_json,
    histories_from_claims,
    replay_many,
)
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.infra.logging import get_logger
from claims.infra.temporal import converter_for
from claims.models import Actor, Role, Stage
from claims.services.context import Services
from claims.services.views import scope_of
from claims.store.db import Claim, unit_of_work
from claims.store.reports import EVERYWHERE, claim_in_scope

AUDIT_READERS = frozenset({Role.AUDITOR, Role.SUPERVISOR})
"""Roles that read audits and replay claims in the console."""

DECODERS = frozenset({Role.AUDITOR})
"""Roles that may decode payloads through the codec endpoint."""

SEARCH_LEN = 48
"""Longest claim-number search accepted (the ``claims.claim_number`` column is String(48))."""

RECENT = 20
"""Closed or declined claims listed on the audit page, and search hits shown."""

MAX_PAYLOADS = 1000
"""Payloads one decode request may carry (a history page of the Temporal UI sends far fewer)."""

MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""Bytes of payload data (after base64) one decode request may carry in all."""

_TERMINAL = (Stage.CLOSED.value, Stage.DECLINED.value, Stage.WITHDRAWN.value)


@dataclass(frozen=True)
class AuditRow:
    """A claim as the audit page lists it (times aware UTC)."""

    claim_number: str
    county: str
    township: str
    village: str
    stage: str
    outcome: str
    updated_at: dt.datetime


def _may_read(actor: Actor) -> None:
    if actor.role not in AUDIT_READERS:
        raise NotAllowed(
            f"the audit is for auditors and supervisors; you are {actor.role.value}",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )


def _search_term(text: str | None) -> str:
    term = (text or "").strip()
    if len(term) > SEARCH_LEN:
        raise InputError("q", f"a claim number has at most {SEARCH_LEN} characters", code="input.too_long")
    if any(not (c.isalnum() or c in "-_") for c in term):
        raise InputError("q", "a claim number holds letters, digits, '-' and '_' only", code="input.invalid")
    return term


def find_claims(
    services: Services, actor: Actor, q: str | None = None
) -> tuple[list[AuditRow], list[AuditRow]]:
    """Claims of the reader's scope whose number starts with ``q`` (any stage), and the most
    recently updated closed or declined claims (at most :data:`RECENT` of each, newest first).

    Raises:
        claims.errors.NotAllowed: the reader is not an auditor or a supervisor.
        claims.errors.InputError: ``q`` (field ``q``) is too long or not a claim number's characters.
    """
    _may_read(actor)
    term = _search_term(q)
    scope = scope_of(actor)
    cols = (
        Claim.claim_number,
        Claim.county,
        Claim.township,
        Claim.village,
        Claim.stage,
        Claim.outcome,
        Claim.updated_at,
    )

    def scoped(query: Any) -> Any:
        if scope.county is not None:
            query = query.where(Claim.county == scope.county)
        if scope.village is not None:
            query = query.where(Claim.village == scope.village)
        return query

    with unit_of_work(services.sessions) as session:
        hits: list[AuditRow] = []
        if term:
            found = scoped(select(*cols).where(Claim.claim_number.startswith(term, autoescape=True)))
            hits = [AuditRow(*r) for r in session.execute(found.order_by(Claim.claim_number).limit(RECENT))]
        recent_q = scoped(select(*cols).where(Claim.stage.in_(_TERMINAL)))
        recent = [
            AuditRow(*r)
            for r in session.execute(
                recent_q.order_by(Claim.updated_at.desc(), Claim.claim_number).limit(RECENT)
            )
        ]
    return hits, recent


def _in_scope(services: Services, actor: Actor, claim_number: str) -> None:
    """Raise ClaimNotFound unless the claim is in the reader's scope (an unscoped reader: anywhere)."""
    if len(claim_number) > SEARCH_LEN:
        raise ClaimNotFound(claim_number[:SEARCH_LEN])
    scope = scope_of(actor)
    if scope == EVERYWHERE:
        return
    with unit_of_work(services.sessions) as session:
        if claim_in_scope(session, claim_number, scope) is None:
            raise ClaimNotFound(claim_number)


async def audit(services: Services, actor: Actor, claim_number: str) -> AuditReport:
    """The claim's audit report (as ``claims audit N``), if the reader may see the claim.

    Raises:
        claims.errors.NotAllowed: the reader is not an auditor or a supervisor.
        claims.errors.ClaimNotFound: no such claim, or none in the reader's scope.
        claims.audit.HistoryError: a history that cannot be decoded.
        claims.errors.Unavailable: Temporal does not answer.
    """
    _may_read(actor)
    _in_scope(services, actor, claim_number)
    client = await services.client()
    return await audit_claim(client, services.sessions, claim_number, actor)


def audit_json_text(report: AuditReport) -> str:
    """``claims audit N --json``'s output for ``report`` (without the final line break ``echo`` adds)."""
    return audit_json(report)


async def replay(services: Services, actor: Actor, claim_number: str) -> ReplayReport:
    """Replay the claim's history against the current code and rules (``claims replay N``).

    Returns:
        The report: ``outcome`` ``ok``, ``decision_differs``, ``nondeterministic``,
        ``replay_failed``, ``unreadable`` or ``not_found``, with a message and the decision checks.

    Raises:
        claims.errors.NotAllowed / claims.errors.ClaimNotFound: as :func:`audit`.
    """
    _may_read(actor)
    _in_scope(services, actor, claim_number)
    client = await services.client()
    (report,) = await replay_many(
        histories_from_claims(client, [claim_number]), actor, data_converter=client.data_converter
    )
    return report


def _b64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(field, "base64 text expected", code="input.invalid")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field, "not valid base64", code="input.invalid") from None


def _payload(item: object, n: int) -> Payload:
    if not isinstance(item, Mapping):
        raise InputError(f"payloads[{n}]", "an object with metadata and data expected", code="input.invalid")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise InputError(f"payloads[{n}].metadata", "an object expected", code="input.invalid")
    return Payload(
        metadata={
            str(k)[:256]: _b64(v, f"payloads[{n}].metadata.{str(k)[:64]}") for k, v in metadata.items()
        },
        data=_b64(item.get("data", ""), f"payloads[{n}].data"),
    )


def _as_json(p: Payload) -> dict[str, Any]:
    return {
        "metadata": {k: base64.b64encode(v).decode("ascii") for k, v in p.metadata.items()},
        "data": base64.b64encode(p.data).decode("ascii"),
    }


async def decode_payloads(services: Services, actor: Actor, body: object) -> dict[str, list[dict[str, Any]]]:
    """The codec server's ``/decode``: ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}``
    in, the same shape out with every payload the project's codec encrypted decrypted
    (others pass through unchanged). Without configured keys every payload passes through.

    Raises:
        claims.errors.NotAllowed: the reader is not an auditor.
        claims.errors.InputError: the body is not that shape, not base64, or over
            :data:`MAX_PAYLOADS` / :data:`MAX_PAYLOAD_BYTES` (the field is named).
        claims.infra.codec.PayloadKeyError: a payload names a key not configured, or fails
            authentication (a ``ValueError``; the message names the key id, never key material).
    """
    if actor.role not in DECODERS:
        raise NotAllowed(
            f"decoding payloads is for auditors; you are {actor.role.value}",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    items = body.get("payloads") if isinstance(body, Mapping) else None
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InputError("payloads", 'a JSON object {"payloads": [...]} expected', code="input.invalid")
    if len(items) > MAX_PAYLOADS:
        raise InputError("payloads", f"at most {MAX_PAYLOADS} payloads a request", code="input.too_long")
    payloads = [_payload(item, n) for n, item in enumerate(items)]
    if sum(len(p.data) for p in payloads) > MAX_PAYLOAD_BYTES:
        raise InputError(
            "payloads", f"at most {MAX_PAYLOAD_BYTES} bytes of data a request", code="input.too_long"
        )
    codec = converter_for(services.settings).payload_codec
    decoded = await codec.decode(payloads) if codec is not None else payloads
    get_logger("claims.audit", actor=actor.id, role=actor.role.value).info(
        "payloads decoded", count=len(decoded)
    )
    return {"payloads": [_as_json(p) for p in decoded]}
