"""Claim documents as files: upload, list, open, accept, reject, the checklist by status, and
the claimant status page's lookup.

One job: what a person may do with a claim's document files, each given an ``Actor``:

- **scope**: the claim must lie in the reader's county and village (``claims.store.reports.
  claim_in_scope``); a claim elsewhere is ``ClaimNotFound``, as one that does not exist, and so
  is a document of another claim.
- **upload** (village secretaries, handlers, supervisors; open claims only): every file is
  checked (``claims.domain.files.check_file``: type by content, size, EXIF stripped by
  re-encoding, PDF pages, thumbnail) **before anything is stored**: one refused file refuses the
  batch, naming the file, and nothing is kept. The kept bytes and the thumbnail go to the blob
  store (``claims.infra.blobs``: by sha256, AES-GCM with the payload key ring), the metadata to
  ``claims.store.documents``.
- **open** (view inline, download, thumbnail): anyone who may see the claim, auditors included.
- **accept / reject** (handlers and supervisors; a handler only on an unassigned claim or their
  own): a rejection carries a reason code (:data:`REJECT_REASONS`) and puts the item back on
  the missing list (:func:`checklist`).
- **audit**: every upload, view, download, thumbnail, accept and reject is a row of
  ``document_events`` with who and when (:func:`audit_trail`).

The claimant status page (:func:`status_lookup`): claim number plus the last 6 characters of the
insured's identity number, rate-limited per address and per claim number (:class:`StatusLimits`,
counted on the logged lookups), every lookup logged; it answers only the stage, what is still
missing and the expected date, and the amount only once paid: no names, no identity numbers.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from claims.domain.files import MAX_BYTES, CheckedFile, FileRefused, check_file
from claims.errors import ClaimNotFound, ClaimsError, InputError, NotAllowed
from claims.infra.blobs import BlobStore, local_store
from claims.models import (
    Actor,
    ClaimState,
    DocumentFile,
    ReceiveDocumentsInput,
    RejectDocumentInput,
    RejectReason,
    Role,
)
from claims.models.bounds import DocumentName, printable
from claims.services.client import claim_state
from claims.services.context import Services
from claims.services.steps import perform
from claims.services.views import scope_of
from claims.store import documents as store
from claims.store.db import Claim, InsuredPerson, unit_of_work
from claims.store.documents import DocumentRow, DocumentStatus, EventRow
from claims.store.reports import ClaimRow, claim_in_scope

UPLOADERS = frozenset({Role.VILLAGE_SECRETARY, Role.HANDLER, Role.SUPERVISOR})
"""Who may upload a claim's documents."""

CHECKERS = frozenset({Role.HANDLER, Role.SUPERVISOR})
"""Who may accept or reject a document."""

REJECT_REASONS = tuple(r.value for r in RejectReason)
"""Why a document is rejected: 无法辨认, 不是所需资料, 已过期, 其他 (a note says more);
``claims.models.RejectReason``, which the claim's ``reject_document`` step takes."""

MAX_FILES = 20
"""Files in one upload."""

FILENAME_LEN = 200
NOTE_LEN = 500

_CLOSED_STAGES = frozenset({"closed", "declined", "withdrawn"})
_DOC_ID = re.compile(r"^D[0-9a-f]{20}$")
_KIND = TypeAdapter(DocumentName)
_BEIJING = ZoneInfo("Asia/Shanghai")


class DocumentNotFound(ClaimNotFound):
    """No such document on the claim (or the claim is not the reader's to see): a 404."""

    code = "document.not_found"

    def __init__(self, claim_number: str, document_id: str) -> None:
        super().__init__(claim_number, f"no document {document_id[:40]!r} on claim {claim_number!r}")
        self.params["document_id"] = document_id[:40]


class RateLimited(ClaimsError):
    """Too many status lookups from one address or for one claim number; ``params``:
    ``retry_after`` (seconds), ``limit`` (``address`` or ``claim``)."""

    code = "status.rate_limited"


def files_max_bytes() -> int:
    """The size limit of one file (``claims.domain.files.MAX_BYTES``)."""
    return MAX_BYTES


def blobs(services: Services) -> BlobStore:
    """The configured blob store: ``<data dir>/documents``, keys ``CLAIMS_PAYLOAD_KEYS``."""
    keys = services.settings.temporal.payload_keys
    return local_store(services.settings.store.data_dir, keys.get_secret_value() if keys else None)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _claim(services: Services, actor: Actor, claim_number: str) -> ClaimRow:
    with unit_of_work(services.sessions) as session:
        row = claim_in_scope(session, claim_number[:48], scope_of(actor))
    if row is None or len(claim_number) > 48:
        raise ClaimNotFound(claim_number[:48])
    return row


def _kind(kind: str, field: str = "kind") -> str:
    try:
        return _KIND.validate_python(kind)
    except ValidationError as e:
        raise InputError(field, e.errors()[0]["msg"]) from None


def _filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return printable(base)[:FILENAME_LEN] or "file"


@dataclass(frozen=True)
class Upload:
    """One file to upload: its checklist item, the name it came with, its bytes."""

    kind: str
    filename: str | None
    data: bytes


def check_uploads(uploads: Sequence[Upload], field: str = "file") -> list[tuple[Upload, CheckedFile]]:
    """Check every file (no store, no scope): the console checks a report's photos with this
    before filing the report, so a refused photo keeps the form as typed.

    Raises:
        claims.domain.files.FileRefused: the first refused file, by name.
        claims.errors.InputError: no file, too many, or a bad checklist item.
    """
    if not uploads:
        raise InputError(field, "choose at least one file")
    if len(uploads) > MAX_FILES:
        raise InputError(field, f"{len(uploads)} files; at most {MAX_FILES} in one upload")
    out = []
    for u in uploads:
        kind = _kind(u.kind)
        out.append((Upload(kind, u.filename, u.data), check_file(u.data, u.filename, field=field)))
    return out


def upload(
    services: Services,
    actor: Actor,
    claim_number: str,
    uploads: Sequence[Upload],
    now: datetime | None = None,
) -> list[DocumentRow]:
    """Check and keep files for the claim's checklist items, in the actor's name.

    Raises:
        claims.errors.ClaimNotFound: no such claim in the actor's scope.
        claims.errors.NotAllowed: the actor's role may not upload, or the claim is closed.
        claims.domain.files.FileRefused / claims.errors.InputError: a refused file (nothing kept).
    """
    if actor.role not in UPLOADERS:
        raise NotAllowed(
            f"upload: role '{actor.role.value}' may not upload documents "
            f"(roles: {', '.join(sorted(r.value for r in UPLOADERS))})",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    claim = _claim(services, actor, claim_number)
    if claim.stage in _CLOSED_STAGES:
        raise NotAllowed(
            f"upload: claim {claim.claim_number} is {claim.stage}; documents are no longer taken",
            code="document.claim_closed",
            params={"stage": claim.stage},
        )
    checked = check_uploads(uploads)
    at = _now(now)
    bs = blobs(services)
    rows = []
    for u, c in checked:  # blobs first: a row never points at bytes that are not there
        digest, kid = bs.put(c.content)
        thumb = bs.put(c.thumbnail)[0] if c.thumbnail else None
        rows.append(
            DocumentRow(
                id="D" + secrets.token_hex(10),
                claim_number=claim.claim_number,
                kind=u.kind,
                filename=_filename(u.filename),
                sha256=digest,
                size=c.size,
                content_type=c.content_type,
                pages=c.pages,
                key_id=kid,
                thumb_sha256=thumb,
                uploaded_by=actor.id,
                uploader_role=actor.role.value,
                uploaded_at=at,
                status=DocumentStatus.UPLOADED.value,
                reason=None,
                note=None,
                decided_by=None,
                decided_at=None,
            )
        )
    with unit_of_work(services.sessions) as session:
        for r in rows:
            store.add_document(session, r)
            detail = f"{r.kind} {r.filename} {r.content_type} {r.size} bytes sha256 {r.sha256}"
            store.record_event(
                session, r.claim_number, r.id, "upload", actor.id, actor.role.value, at, detail
            )
    return rows


def list_documents(services: Services, actor: Actor, claim_number: str) -> list[DocumentRow]:
    """The claim's documents, oldest first (metadata only: listing is not a view of a file)."""
    claim = _claim(services, actor, claim_number)
    with unit_of_work(services.sessions) as session:
        return store.documents_of(session, claim.claim_number)


def _document(services: Services, actor: Actor, claim_number: str, document_id: str) -> DocumentRow:
    claim = _claim(services, actor, claim_number)
    if not _DOC_ID.match(document_id):
        raise DocumentNotFound(claim.claim_number, document_id)
    with unit_of_work(services.sessions) as session:
        row = store.document(session, claim.claim_number, document_id)
    if row is None:
        raise DocumentNotFound(claim.claim_number, document_id)
    return row


def open_document(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    *,
    action: str = "download",
    now: datetime | None = None,
) -> tuple[DocumentRow, bytes]:
    """A document's bytes (decrypted) and metadata, logged as ``view`` or ``download``.

    Raises:
        DocumentNotFound / claims.errors.ClaimNotFound: not on this claim, or not in scope.
        claims.infra.blobs.BlobError: the blob is missing or its key is not configured.
    """
    if action not in ("view", "download"):
        raise ValueError(action)
    row = _document(services, actor, claim_number, document_id)
    data = blobs(services).get(row.sha256)
    with unit_of_work(services.sessions) as session:
        store.record_event(session, row.claim_number, row.id, action, actor.id, actor.role.value, _now(now))
    return row, data


def thumbnail(
    services: Services, actor: Actor, claim_number: str, document_id: str, now: datetime | None = None
) -> bytes | None:
    """A document's thumbnail (PNG), logged as ``thumbnail``; None when there is none (a PDF
    whose first page could not be drawn)."""
    row = _document(services, actor, claim_number, document_id)
    if row.thumb_sha256 is None:
        return None
    data = blobs(services).get(row.thumb_sha256)
    with unit_of_work(services.sessions) as session:
        store.record_event(
            session, row.claim_number, row.id, "thumbnail", actor.id, actor.role.value, _now(now)
        )
    return data


def _may_check(actor: Actor, claim: ClaimRow) -> None:
    if actor.role not in CHECKERS:
        raise NotAllowed(
            f"role '{actor.role.value}' may not accept or reject documents (roles: handler, supervisor)",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    if actor.role == Role.HANDLER and claim.assigned_handler not in (None, actor.id):
        raise NotAllowed(
            f"claim is assigned to {claim.assigned_handler}, not {actor.id}; ask a supervisor to reassign it",
            code="step.not_assigned",
            params={"handler": claim.assigned_handler or ""},
        )


def _decide(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    status: DocumentStatus,
    reason: str | None,
    note: str | None,
    now: datetime | None,
) -> DocumentRow:
    _, row = _checked(services, actor, claim_number, document_id)
    return _record(services, actor, row, status, reason, note, now)


def _checked(
    services: Services, actor: Actor, claim_number: str, document_id: str
) -> tuple[ClaimRow, DocumentRow]:
    """The claim and its document, once the actor may check its files (scope, role, assignment)."""
    claim = _claim(services, actor, claim_number)
    _may_check(actor, claim)
    return claim, _document(services, actor, claim_number, document_id)


def _record(
    services: Services,
    actor: Actor,
    row: DocumentRow,
    status: DocumentStatus,
    reason: str | None,
    note: str | None,
    now: datetime | None,
) -> DocumentRow:
    """Write a checked file's decision and its audit event (``document_events``)."""
    note = printable(note or "").strip()[:NOTE_LEN] or None
    at = _now(now)
    with unit_of_work(services.sessions) as session:
        done = store.decide(session, row.id, status, actor.id, at, reason, note)
        action = "accept" if status == DocumentStatus.ACCEPTED else "reject"
        detail = " ".join(x for x in (reason, note) if x) or None
        store.record_event(session, row.claim_number, row.id, action, actor.id, actor.role.value, at, detail)
    return done


def accept(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DocumentRow:
    """Accept a document (handlers, supervisors)."""
    return _decide(services, actor, claim_number, document_id, DocumentStatus.ACCEPTED, None, note, now)


def file_of(row: DocumentRow) -> DocumentFile:
    """The workflow's record of a stored file: id, checklist item, sha256."""
    return DocumentFile(id=row.id, kind=row.kind, sha256=row.sha256)


async def accept_and_receive(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DocumentRow:
    """Accept a document: perform the claim's ``receive_documents`` step in the actor's name
    with the file (id, item, sha256: ``ReceiveDocumentsInput.files``), so the workflow's state
    and history say which file each item was received as and the decision bundle lists the
    files accepted when the claim was decided (files themselves never enter histories); then
    mark the file accepted. The workflow's validator decides first (stage documents or
    investigation, role, assignment, scope); a refused step leaves the document unchecked.
    A file already accepted is not received twice.

    Raises:
        claims.errors.StepRejected: the claim refused ``receive_documents`` (``code`` says why).
        as :func:`accept`.
    """
    text = _note(note)
    claim, row = _checked(services, actor, claim_number, document_id)
    _not_yet(row, DocumentStatus.ACCEPTED)
    inp = ReceiveDocumentsInput(actor=actor, documents=[row.kind], files=[file_of(row)], note=text)
    await perform(services, actor, claim.claim_number, inp)
    return await asyncio.to_thread(_record, services, actor, row, DocumentStatus.ACCEPTED, None, text, now)


async def reject_and_return(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DocumentRow:
    """Send a document back (退回): perform the claim's ``reject_document`` step with the file
    and the reason (the workflow takes the item off the received list unless another accepted
    file stands for it, so it is missing again, and a request for it again is a re-request,
    not a second art. 22 notice), then mark the file rejected. The workflow's validator
    decides first (stage documents or investigation, role, assignment, scope).

    Raises:
        claims.errors.InputError: ``reason`` is not one of :data:`REJECT_REASONS` (field ``reason``).
        claims.errors.StepRejected: the claim refused ``reject_document`` (``code`` says why).
        as :func:`reject`.
    """
    _reason(reason)
    text = _note(note)
    claim, row = _checked(services, actor, claim_number, document_id)
    _not_yet(row, DocumentStatus.REJECTED)
    inp = RejectDocumentInput(actor=actor, file=file_of(row), reason=RejectReason(reason), note=text)
    await perform(services, actor, claim.claim_number, inp)
    return await asyncio.to_thread(_record, services, actor, row, DocumentStatus.REJECTED, reason, text, now)


def _note(note: str | None) -> str:
    """A check's note on one line; longer than :data:`NOTE_LEN` is refused (field ``note``)."""
    text = printable(note or "").strip()
    if len(text) > NOTE_LEN:
        raise InputError("note", f"at most {NOTE_LEN} characters (got {len(text)})")
    return text


def _not_yet(row: DocumentRow, status: DocumentStatus) -> None:
    """Refuse deciding a file the same way twice (a second 退回 would overwrite the first
    reason and note, a second 审核通过 would record nothing new)."""
    if row.status == status:
        word = "accepted" if status == DocumentStatus.ACCEPTED else "sent back"
        raise NotAllowed(
            f"document {row.id} was already {word} by {row.decided_by}",
            code=f"document.already_{status.value}",
            params={"document": row.id},
        )


def _reason(reason: str) -> None:
    if reason not in REJECT_REASONS:
        raise InputError(
            "reason", f"{str(reason)[:40]!r} is not a reason; reasons: {', '.join(REJECT_REASONS)}"
        )


def reject(
    services: Services,
    actor: Actor,
    claim_number: str,
    document_id: str,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DocumentRow:
    """Mark a document rejected in the store with a reason of :data:`REJECT_REASONS` (the
    checklist then shows its item missing again). Store only: people send a file back with
    :func:`reject_and_return`, which records it on the claim first.

    Raises:
        claims.errors.InputError: ``reason`` is not one of :data:`REJECT_REASONS`.
    """
    _reason(reason)
    return _decide(services, actor, claim_number, document_id, DocumentStatus.REJECTED, reason, note, now)


def awaiting_check(services: Services, actor: Actor) -> dict[str, int]:
    """Files waiting for a handler's check on the open claims the actor may see, per claim
    number (for the supervisor's page: the sum is the counter, the keys the list)."""
    with unit_of_work(services.sessions) as session:
        return store.awaiting_check(session, scope_of(actor))


def audit_trail(services: Services, actor: Actor, claim_number: str) -> list[EventRow]:
    """Who uploaded, viewed, downloaded, accepted or rejected the claim's documents, in order."""
    claim = _claim(services, actor, claim_number)
    with unit_of_work(services.sessions) as session:
        return store.events_of(session, claim.claim_number)


# --------------------------------------------------------------------------- the checklist


@dataclass(frozen=True)
class ChecklistItem:
    """One document of the claim with where it stands: ``required`` (nothing yet),
    ``uploaded`` (a file not yet checked), ``received`` (recorded by name in a step, no file),
    ``accepted``, ``rejected`` (its newest file rejected: missing again) or ``waived``.
    """

    kind: str
    status: str
    required: bool
    files: list[DocumentRow] = field(default_factory=list)
    waived_reason: str | None = None

    @property
    def missing(self) -> bool:
        """Still to be handed in: nothing yet, or the newest file was rejected."""
        return self.status in ("required", "rejected")


def checklist(state: ClaimState, docs: Sequence[DocumentRow]) -> list[ChecklistItem]:
    """The claim's items (required and requested first, in order; then items with files only)
    with their status from the workflow's state and the files' statuses."""
    waived = {w.document: w.reason for w in state.documents_waived}
    by_kind: dict[str, list[DocumentRow]] = {}
    for d in docs:
        by_kind.setdefault(d.kind, []).append(d)
    needed = list(dict.fromkeys(state.documents_required + state.documents_requested))
    kinds = list(dict.fromkeys(needed + state.documents_received + list(waived) + list(by_kind)))
    items = []
    for k in kinds:
        files = by_kind.get(k, [])
        if k in waived:
            status = "waived"
        elif any(f.status == DocumentStatus.ACCEPTED for f in files):
            status = "accepted"
        elif files and files[-1].status == DocumentStatus.REJECTED:
            status = "rejected"
        elif files:
            status = "uploaded"
        elif k in state.documents_received:
            status = "received"
        else:
            status = "required"
        items.append(ChecklistItem(k, status, k in needed, files, waived.get(k)))
    return items


def missing(state: ClaimState, docs: Sequence[DocumentRow]) -> list[str]:
    """The items still to be handed in: needed ones without a file or name received, and any
    whose newest file was rejected (a re-request of a rejected document)."""
    return [i.kind for i in checklist(state, docs) if i.missing and (i.required or i.status == "rejected")]


async def claim_checklist(services: Services, actor: Actor, claim_number: str) -> list[ChecklistItem]:
    """The claim's checklist by status (the claim's state query plus its files)."""
    from claims.services.views import claim_view

    state = await claim_view(services, actor, claim_number)
    return checklist(state, list_documents(services, actor, claim_number))


# --------------------------------------------------------------------------- the status page


@dataclass(frozen=True)
class StatusLimits:
    """How many lookups the status page answers in ``window``: per address and per claim number."""

    per_address: int = 20
    per_claim: int = 10
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class ClaimantStatus:
    """What the status page shows: no names, no identity numbers, an amount only once paid.
    ``missing`` is None when the claim's state did not answer (the page says it is unknown)."""

    claim_number: str
    stage: str
    missing: list[str] | None
    expected_by: date | None
    paid_amount: Decimal | None
    paid_on: date | None


_ID_TAIL = re.compile(r"^[0-9]{5}[0-9Xx]$")
_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,48}$")


async def status_lookup(
    services: Services,
    address: str,
    claim_number: str,
    id_tail: str,
    now: datetime | None = None,
    limits: StatusLimits = StatusLimits(),
) -> ClaimantStatus:
    """The claimant's view of a claim, for its number and the last 6 characters of the insured's
    identity number. Every call is logged (``status_lookups``), refused ones too.

    Raises:
        RateLimited: ``limits`` reached for this address or this claim number.
        claims.errors.InputError: a malformed number (``number``) or tail (``id6``).
        claims.errors.ClaimNotFound: no such claim, or the 6 characters do not match (one answer
            for both, so the page does not tell which claim numbers exist).
    """
    at = _now(now)
    number = claim_number.strip()[:48]
    # a malformed number (a NUL, a space, a letter outside ASCII) names no claim: it is counted
    # and logged as "-", never put in a query (PostgreSQL's driver cannot carry a NUL)
    logged = number if _NUMBER.match(number) else "-"
    since = at - limits.window
    with unit_of_work(services.sessions) as session:
        by_address = store.lookups_since(session, since, address=address)
        by_claim = store.lookups_since(session, since, claim_number=logged)
        limited = (
            "address"
            if by_address >= limits.per_address
            else "claim"
            if by_claim >= limits.per_claim
            else None
        )
        if limited:
            store.log_lookup(session, address, logged, False, True, at)
    if limited:
        raise RateLimited(
            f"too many lookups {'from this address' if limited == 'address' else 'for this claim number'}; "
            f"try again in {int(limits.window.total_seconds() // 60)} minutes",
            params={"retry_after": int(limits.window.total_seconds()), "limit": limited},
        )
    found: tuple[str, str, Decimal, datetime | None, datetime | None] | None = None
    problem: InputError | None = None
    if not _NUMBER.match(number):
        problem = InputError("number", "a claim number is letters, digits and '-' (e.g. JS20210626-P0001)")
    elif not _ID_TAIL.match(id_tail.strip()):
        problem = InputError("id6", "the last 6 characters of the identity number: 5 digits and a digit or X")
    with unit_of_work(services.sessions) as session:
        if problem is None:
            row = session.execute(
                select(
                    InsuredPerson.id_number, Claim.stage, Claim.total_paid, Claim.paid_at, Claim.sla_deadline
                )
                .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
                .where(Claim.claim_number == number)
            ).first()
            if row is not None and hmac.compare_digest(
                row[0][-6:].upper().encode(), id_tail.strip().upper().encode()
            ):
                found = (row[0], row[1], row[2], row[3], row[4])
        store.log_lookup(session, address, logged, found is not None, False, at)
    if problem is not None:
        raise problem
    if found is None:
        raise ClaimNotFound(number, "no claim with this number and identity number ending")
    _, stage, total_paid, paid_at, deadline = found
    still: list[str] | None = []
    if stage not in _CLOSED_STAGES:
        try:
            state = await claim_state(await services.client(), number)
            stage = state.stage.value
            running = [c for c in state.clocks if c.kind.value == "programme" and c.stopped_at is None]
            if running:  # the clock that runs now (registration, then resolution), pauses included
                deadline = running[-1].deadline.due_at
            with unit_of_work(services.sessions) as session:
                still = missing(state, store.documents_of(session, number))
        except Exception:  # noqa: BLE001 - the page still answers the stage from the store
            still = None  # unknown for now (the page says so), never "nothing missing"
    paid = paid_at is not None and total_paid > 0
    return ClaimantStatus(
        claim_number=number,
        stage=str(stage),
        missing=still,
        expected_by=deadline.astimezone(_BEIJING).date()
        if deadline is not None and stage not in _CLOSED_STAGES
        else None,
        paid_amount=total_paid if paid else None,
        paid_on=paid_at.astimezone(_BEIJING).date() if paid and paid_at else None,
    )


__all__ = [
    "CHECKERS",
    "REJECT_REASONS",
    "UPLOADERS",
    "ChecklistItem",
    "ClaimantStatus",
    "DocumentNotFound",
    "FileRefused",
    "RateLimited",
    "StatusLimits",
    "Upload",
    "accept",
    "accept_and_receive",
    "audit_trail",
    "awaiting_check",
    "check_uploads",
    "checklist",
    "claim_checklist",
    "list_documents",
    "missing",
    "open_document",
    "reject",
    "status_lookup",
    "thumbnail",
    "upload",
]
