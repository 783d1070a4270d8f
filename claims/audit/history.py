"""Reading claim histories: from a JSON file, from Temporal, or from the archive in the store.

One job: hand the audit and the replay a checked, whole ``ClaimWorkflow`` history (or,
once Temporal and the archive only keep a decision bundle, that bundle), and decode one
payload of it. Also the visibility-query guards that choose which histories a bulk replay
reads (a user's query is confined to claim workflows).

Bad input raises :class:`HistoryError` with a message naming the source and the problem;
an unknown claim raises :class:`claims.errors.ClaimNotFound`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from google.protobuf.json_format import ParseError
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from claims import models as m
from claims.errors import ClaimNotFound, ClaimsError
from claims.infra.logging import get_logger
from claims.store import workflow_id_for
from claims.store.archive import ArchivedClaim, DecisionBundle, load_archive
from claims.store.db import Sessions

WORKFLOW_TYPE = "ClaimWorkflow"
"""The workflow type every claim history must have."""

CLAIM_WORKFLOWS = "WorkflowType = 'ClaimWorkflow'"
"""The visibility clause every query of claims starts with."""

Json = dict[str, "Json"] | list["Json"] | str | int | float | bool | None
"""A decoded payload that no model describes (plain JSON)."""

M = TypeVar("M", bound=BaseModel)


class HistoryError(ClaimsError, ValueError):
    """A history that cannot be audited or replayed; the message names the source and the problem."""

    code = "history.unreadable"


# --------------------------------------------------------------------------- files


def _walk_payloads(node: Json, path: str) -> Iterable[tuple[str, Json]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "payloads" and isinstance(v, list):
                for i, item in enumerate(v):
                    yield f"{path}.payloads[{i}]", item
            else:
                yield from _walk_payloads(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_payloads(v, f"{path}[{i}]")


def parse_history_json(text: str | bytes, source: str = "history") -> WorkflowHistory:
    """Parse a history in the Temporal CLI / web UI JSON form and check it is a claim's.

    The workflow id is not part of that form: it is derived later from the claim number
    in the start input (see :func:`read_history`); here it is ``source``.

    Raises:
        HistoryError: not valid JSON (corrupted or truncated: line and column named), no
            ``events`` list, payloads exported decoded (plain JSON in place of
            ``metadata``/``data``), events not numbered 1..n (truncated or edited), first
            event not a workflow start, or another workflow type than ``ClaimWorkflow``.
    """
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        raise HistoryError(f"{source}: not UTF-8 text; a history export is UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise HistoryError(
            f"{source}: not valid JSON at line {e.lineno} column {e.colno} ({e.msg}): "
            "the file is corrupted or truncated; export it again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list) or not data["events"]:
        raise HistoryError(
            f"{source}: no 'events' list: not a Temporal workflow history "
            "(export one with `claims history export` or `temporal workflow show --output json`)"
        )
    for path, item in _walk_payloads(data["events"], "events"):
        if not (
            isinstance(item, dict)
            and "metadata" in item
            and set(item) <= {"metadata", "data", "externalPayloads"}
        ):
            raise HistoryError(
                f"{source}: {path} holds a decoded payload (plain JSON in place of metadata and "
                "data): the history was exported with decoded payloads, which cannot be replayed "
                "or decoded again; export it without decoding (`claims history export`, or "
                "`temporal workflow show --output json` without a codec server)"
            )
    try:
        history = WorkflowHistory.from_json(source, data)
    except (ParseError, ValueError, TypeError, KeyError) as e:
        raise HistoryError(f"{source}: not a Temporal workflow history: {e}") from None
    check_claim_history(history, source)
    return history


def check_claim_history(history: WorkflowHistory, source: str = "history") -> None:
    """Check a history is a complete-from-the-start ``ClaimWorkflow`` history.

    Raises:
        HistoryError: empty, events not numbered 1..n, first event not a workflow start,
            or another workflow type.
    """
    events = history.events
    if not events:
        raise HistoryError(f"{source}: the history has no events")
    for i, ev in enumerate(events, start=1):
        if ev.event_id != i:
            raise HistoryError(
                f"{source}: event {ev.event_id} is at position {i}: events are missing "
                "(truncated or edited history); export it again"
            )
    first = events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        raise HistoryError(f"{source}: the first event is not a workflow start: not a whole history")
    wtype = first.workflow_execution_started_event_attributes.workflow_type.name
    if wtype != WORKFLOW_TYPE:
        raise HistoryError(f"{source}: a history of workflow type {wtype!r}, not {WORKFLOW_TYPE!r}")


async def decode_payload(
    dc: DataConverter, payloads: Sequence[Payload], hint: type[M] | None, where: str
) -> M | Json:
    """The first payload decoded: as ``hint`` when it validates, else plain JSON (a payload
    written by another version of the models); None when there is no payload.

    Raises:
        HistoryError: the payload cannot be decoded (e.g. encrypted and no codec given).
    """
    if not payloads:
        return None
    try:
        raw = (await dc.decode(list(payloads), None))[0]
    except Exception as e:  # noqa: BLE001 - codec and converter errors come in many types
        encoding = payloads[0].metadata.get("encoding", b"").decode("utf-8", "replace")
        raise HistoryError(
            f"{where}: payload (encoding {encoding!r}) cannot be decoded: {e}; "
            "pass the data converter with the payload codec the claims were written with"
        ) from None
    if hint is None:
        return raw  # type: ignore[no-any-return]  # the JSON converter's plain value
    try:
        return hint.model_validate(raw)
    except ValidationError:
        return raw  # type: ignore[no-any-return]  # written by another version of the models


async def read_history(
    text: str | bytes, source: str = "history", data_converter: DataConverter | None = None
) -> WorkflowHistory:
    """:func:`parse_history_json`, then name the history by its claim's workflow id.

    Raises:
        HistoryError: as :func:`parse_history_json`, or the start input is not a claim.
    """
    history = parse_history_json(text, source)
    start = history.events[0].workflow_execution_started_event_attributes
    inp = await decode_payload(
        data_converter or pydantic_data_converter, start.input.payloads, m.ClaimInput, source
    )
    if not isinstance(inp, m.ClaimInput):
        raise HistoryError(f"{source}: the start input is not a claim (ClaimInput)")
    return WorkflowHistory(workflow_id_for(inp.claim_number), history.events)


# --------------------------------------------------------------------------- Temporal and the archive


async def fetch_claim_history(client: Client, claim_number: str) -> WorkflowHistory:
    """The claim's whole history from Temporal (running or closed, while retained).

    Raises:
        ClaimNotFound: Temporal has no workflow for the claim number (never existed, or
            deleted after the retention period).
        HistoryError: the workflow is not a whole claim history.
    """
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        history = await handle.fetch_history()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ClaimNotFound(claim_number, f"no claim {claim_number!r} in Temporal") from None
        raise
    check_claim_history(history, f"claim {claim_number}")
    return history


@dataclass(frozen=True)
class FoundHistory:
    """Where a claim's record was found: a whole history, or only the archived decision bundle.

    ``source`` is ``temporal`` or ``archive`` (``history`` set) or ``archive-bundle``
    (``bundle`` set, the history is gone).
    """

    source: Literal["temporal", "archive", "archive-bundle"]
    history: WorkflowHistory | None = None
    bundle: DecisionBundle | None = None


async def find_claim_history(
    client: Client, sessions: Sessions | None, claim_number: str, data_converter: DataConverter
) -> FoundHistory:
    """The claim's history from Temporal, or from the archive once Temporal has none.

    Args:
        sessions: the store's session factory (the archive), or None to read Temporal only.

    Raises:
        ClaimNotFound: neither Temporal nor the archive knows the claim.
        HistoryError: an archived history that cannot be read.
        claims.store.archive.ArchiveDamaged: the archived history does not match its sha256.
    """
    try:
        return FoundHistory("temporal", history=await fetch_claim_history(client, claim_number))
    except ClaimNotFound:
        archived = _archived(sessions, claim_number)
        if archived is None:
            raise ClaimNotFound(
                claim_number,
                f"no claim {claim_number!r} in Temporal or in the archive: check the claim number",
            ) from None
        if archived.history_json:
            history = await read_history(archived.history_json, f"archive of {claim_number}", data_converter)
            return FoundHistory("archive", history=history)
        return FoundHistory("archive-bundle", bundle=archived.bundle)


def _archived(sessions: Sessions | None, claim_number: str) -> ArchivedClaim | None:
    if sessions is None:
        return None
    with sessions() as s:
        return load_archive(s, claim_number)


async def export_history(
    client: Client, claim_number: str, actor: m.Actor, sessions: Sessions | None = None
) -> tuple[str, str]:
    """The claim's history as Temporal CLI/web UI JSON (``WorkflowHistory.to_json()``).

    Falls back to the archived copy when Temporal has none. Logged with the actor.

    Returns:
        ``(json_text, source)`` with source ``temporal`` or ``archive``.

    Raises:
        ClaimNotFound: neither Temporal nor the archive holds the history.
    """
    log = get_logger("claims.audit", claim_number=claim_number, actor=actor.id, role=actor.role.value)
    try:
        text, source = (await fetch_claim_history(client, claim_number)).to_json(), "temporal"
    except ClaimNotFound:
        archived = _archived(sessions, claim_number)
        if archived is None or not archived.history_json:
            raise ClaimNotFound(
                claim_number, f"no history of claim {claim_number!r} in Temporal or in the archive"
            ) from None
        text, source = archived.history_json, "archive"  # as stored: payloads stay encoded
    log.info("history exported", source=source)
    return text, source


# --------------------------------------------------------------------------- bulk sources

HistorySource = AsyncIterator[tuple[str, WorkflowHistory | Exception]]
"""``(name, history)`` pairs, or ``(name, exception)`` for a history that could not be read."""


async def histories_from_files(
    paths: Sequence[Path], data_converter: DataConverter | None = None
) -> HistorySource:
    """``(file name, history or error)`` for each history file."""
    for p in paths:
        try:
            yield str(p), await read_history(p.read_bytes(), str(p), data_converter)
        except HistoryError as e:
            yield str(p), e
        except OSError as e:
            yield str(p), HistoryError(str(e))


async def histories_from_claims(client: Client, claim_numbers: Sequence[str]) -> HistorySource:
    """``(claim number, history or error)`` fetched from Temporal."""
    for n in claim_numbers:
        try:
            yield n, await fetch_claim_history(client, n)
        except (ClaimNotFound, HistoryError, RPCError) as e:
            yield n, e


_FORBIDDEN_IN_VALUE = ("'", '"', "\\", "`")
_FORBIDDEN_OUTSIDE_STRINGS = (";", "--", "/*", "*/", "#", "`")


def visibility_literal(value: str, option: str) -> str:
    """``value`` as a string literal of a Temporal visibility query (``'宁乡市'``).

    Temporal's SQL-like list filter parses quotes and backslash escapes inside literals;
    rather than rely on one escaping rule, a value holding a quote, backslash or control
    character is refused (no county, township or staff id has one), so a printed query can
    never say more than the filter the user gave.

    Raises:
        HistoryError: naming ``option`` (e.g. ``--county``) and the character refused.
    """
    bad = next((c for c in value if c in _FORBIDDEN_IN_VALUE or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise HistoryError(
            f"{option}: {bad!r} is not allowed in a value used in a visibility query; "
            "give the name without quotes, backslashes or control characters"
        )
    return f"'{value}'"


def claim_workflows_query(user_query: str) -> str:
    """Confine a user's visibility query to claim workflows: ``WorkflowType = 'ClaimWorkflow'
    AND (<query>)``.

    The query is checked first so it cannot leave its parentheses: brackets balanced outside
    string literals (never closing one it did not open), literals closed, no comments,
    statement separators or clauses after a bracket (``ORDER BY``, ``GROUP BY``, ``LIMIT``).

    Raises:
        HistoryError: ``--query: …`` saying what was refused.
    """
    text = user_query.strip()
    if not text:
        raise HistoryError("--query: the query is empty")
    if any(ord(c) < 32 and c not in "\t" for c in text):
        raise HistoryError("--query: control characters (line breaks) are not allowed")
    depth, quote, i, outside = 0, "", 0, []
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                if text[i + 1 : i + 2] == quote:  # a doubled quote inside the literal
                    i += 2
                    continue
                quote = ""
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise HistoryError(
                    "--query: a ')' closes a bracket the query did not open; the query must stay "
                    "within claim workflows"
                )
        outside.append(c if not quote else " ")
        i += 1
    if quote:
        raise HistoryError(f"--query: a string literal opened with {quote} is not closed")
    if depth:
        raise HistoryError(f"--query: {depth} '(' not closed")
    bare = "".join(outside)
    found = next((t for t in _FORBIDDEN_OUTSIDE_STRINGS if t in bare), None)
    if found:
        raise HistoryError(f"--query: {found!r} is not allowed outside a string literal")
    words = " ".join(bare.upper().split())
    for clause in ("ORDER BY", "GROUP BY", "LIMIT"):
        if clause in words:
            raise HistoryError(f"--query: {clause} is not allowed; the query selects claims only")
    return f"{CLAIM_WORKFLOWS} AND ({text})"


async def histories_from_query(client: Client, query: str) -> HistorySource:
    """``(workflow id, history or error)`` for every workflow a visibility query finds.

    Workflows of other types are reported as unreadable, not replayed.

    Raises:
        HistoryError: the query itself is rejected by the server (message says why).
    """
    try:
        async for wf in client.list_workflows(query):
            try:
                history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
                check_claim_history(history, wf.id)
                yield wf.id, history
            except (HistoryError, RPCError) as e:
                yield wf.id, e
    except RPCError as e:
        if e.status == RPCStatusCode.INVALID_ARGUMENT:
            raise HistoryError(f"--query: the server rejected the visibility query: {e.message}") from None
        raise
