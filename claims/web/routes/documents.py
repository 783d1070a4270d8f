"""Document files in the console, and the claimant status page.

One job: hand document uploads, views and checks to ``claims.services.documents`` in the
session's name, and answer the public status page.

- ``GET /claims/{number}/documents``: the claim's checklist by status (required / uploaded /
  received / accepted / rejected / waived) with each file's thumbnail, an upload form with one
  file input per item (``accept="image/*,application/pdf" capture multiple``: a phone's camera
  or files, several at once, each tagged with its item), and accept/reject forms for handlers
  and supervisors. The full page, or the panel for htmx (the claim page loads it into its
  ``_documents.html`` partial).
- ``POST /claims/{number}/documents``: fields ``file:<item>``; every file is checked before any
  is kept, a refusal answers 422 naming the file and why.
- ``GET /claims/{number}/documents/{id}`` (download; ``?inline=1`` to view),
  ``GET …/{id}/thumb`` (PNG, or a PDF icon), ``POST …/{id}/accept`` (the item is then received
  on the claim through its ``receive_documents`` step, the file's id and sha256 in the step's
  note; a refused step answers 422 with the reason), ``POST …/{id}/reject`` (reason:
  unreadable, wrong_document, expired, other; a note): the item is missing again.
- ``POST /claims/new/documents``: the village secretary's report with its first photos in one
  go: the photos are checked first, then the report is filed, then the photos kept; a refused
  photo or a refused report re-renders the form with what was typed.
- ``GET /status``, ``POST /status``: the claimant status page, without login: claim number plus
  the last 6 characters of the insured's identity number (POST, so the identity characters are
  not in addresses or logs); 404 for a pair that does not match, 429 over the rate limit; only
  the stage, what is missing, the expected date and (once paid) the amount.

A claim or document outside the reader's scope answers 404, a role that may not act 403.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from claims.domain.files import MAX_BYTES
from claims.errors import ClaimNotFound, InputError, NotAllowed, StepRejected
from claims.models import Actor
from claims.models.bounds import printable
from claims.services import documents, intake
from claims.services.context import Services
from claims.web import forms, present
from claims.web.deps import current_actor, get_services
from claims.web.i18n import error_message, gettext_for
from claims.web.templating import locale_of, render

router = APIRouter()

REASONS = {
    "unreadable": ("无法辨认", "unreadable"),
    "wrong_document": ("不是所需资料", "wrong document"),
    "expired": ("已过期", "expired"),
    "other": ("其他", "other"),
}
STATUS_WORDS = {
    "required": ("待提交", "required"),
    "uploaded": ("已上传·待审核", "uploaded, to be checked"),
    "received": ("已收到（纸质）", "received (on paper)"),
    "accepted": ("已审核通过", "accepted"),
    "rejected": ("已退回·需重交", "rejected: hand in again"),
    "waived": ("已免除", "waived"),
}
PDF_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="120" viewBox="0 0 96 120">'
    b'<path d="M8 4h56l24 24v88H8z" fill="#fff" stroke="#b00" stroke-width="4"/>'
    b'<path d="M64 4v24h24" fill="none" stroke="#b00" stroke-width="4"/>'
    b'<text x="48" y="84" font-family="sans-serif" font-size="24" font-weight="bold" fill="#b00" '
    b'text-anchor="middle">PDF</text></svg>'
)
"""The thumbnail of a PDF whose first page could not be drawn."""

MAX_REQUEST = MAX_BYTES * 4
"""The largest upload request read (several photos at once)."""


def _words(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    zh, en = table.get(key, (key, key))
    return zh if present.is_zh(lang) else en


async def _panel(
    request: Request,
    services: Services,
    actor: Actor,
    number: str,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    items = await documents.claim_checklist(services, actor, number)
    lang = locale_of(request)
    page = not request.headers.get("hx-request")
    if not page and status == 422:
        status = 200  # htmx 2 does not swap a 4xx answer: the panel with the reason comes as a 200
    return render(
        request,
        "documents.html" if page else "_documents_panel.html",
        status_code=status,
        actor=actor,
        number=number,
        items=items,
        may_upload=actor.role in documents.UPLOADERS,
        may_check=actor.role in documents.CHECKERS,
        reasons=REASONS,
        L=present.Words(lang),
        lang=lang,
        P=present,
        words=lambda key: _words(STATUS_WORDS, key, lang),
        reason_words=lambda key: _words(REASONS, key or "", lang),
        error=error,
        notice=notice,
    )


# ------------------------------------------------------------------ report with photos
# (registered before /claims/{number}/documents: "new" is no claim number)


@router.post("/claims/new/documents")
async def report_with_documents(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The report form with its first photos: photos checked first, then the report filed, then
    the photos kept; any refusal re-renders the form as typed (422) with the reason."""
    from claims.web.routes.claims import _may_report, _report_page

    _may_report(actor)
    problems: dict[str, list[str]] = {}
    try:
        ups, form = await _uploads(request)
    except InputError as e:
        return _report_page(request, actor, {}, {"photos": [printable(e.message)]}, 422)
    try:
        if ups:
            await run_in_threadpool(documents.check_uploads, ups, "photos")
    except InputError as e:
        problems["photos"] = [printable(e.message)]
    if not problems:
        try:
            report = intake.read_report(
                forms.report_data({k: v for k, v in form.items() if k != "kind"}), actor
            )
            result = await intake.report(services, actor, report)
        except forms.FormInvalid as e:
            problems = e.by_field()
        except intake.ReportInvalid as e:
            for p in e.problems:
                problems.setdefault(forms.report_field(p.field or e.field), []).append(printable(str(p)))
    if problems:
        return _report_page(request, actor, form, problems, 422)
    number = result.claim.claim_number
    if ups:
        try:
            await run_in_threadpool(documents.upload, services, actor, number, ups)
        except (InputError, NotAllowed) as e:  # the report stands; say why the photos did not
            return RedirectResponse(
                f"/claims/{quote(number)}/documents?failed={quote(e.code)}", status_code=303
            )
    again = "" if result.created else "?reported=again"
    return RedirectResponse(f"/claims/{quote(number)}{again}", status_code=303)


@router.get("/claims/{number}/documents")
async def documents_panel(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The claim's documents (page, or the panel for htmx)."""
    return await _panel(request, services, actor, number)


async def _uploads(request: Request) -> tuple[list[documents.Upload], dict[str, list[str]]]:
    """The form's files by item (``file:<item>``) and its other fields."""
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_REQUEST:
        raise InputError(
            "file", f"the upload is {length / 1048576:.0f} MB; at most {MAX_REQUEST // 1048576} MB at once"
        )
    form = await request.form(max_files=documents.MAX_FILES + 1)
    ups: list[documents.Upload] = []
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if not value.filename:  # an input left empty
                continue
            kind = key.removeprefix("file:") if key.startswith("file:") else (form.get("kind") or "")
            ups.append(documents.Upload(str(kind), value.filename, await value.read(MAX_BYTES + 1)))
        elif key != "csrftoken":
            fields.setdefault(key, []).append(value)
    return ups, fields


@router.post("/claims/{number}/documents")
async def upload_documents(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Upload files for the claim's items; 303 back to the documents (or the panel for htmx),
    422 with the reason when a file is refused (nothing kept)."""
    if actor.role not in documents.UPLOADERS:
        raise NotAllowed(f"role '{actor.role.value}' may not upload documents")
    try:
        ups, _ = await _uploads(request)
        rows = await run_in_threadpool(documents.upload, services, actor, number, ups)
    except InputError as e:
        return await _panel(request, services, actor, number, 422, error=printable(e.message))
    L = present.Words(locale_of(request))
    notice = L(f"已上传 {len(rows)} 个文件", f"{len(rows)} file(s) uploaded")
    if request.headers.get("hx-request"):
        return await _panel(request, services, actor, number, notice=notice)
    return RedirectResponse(f"/claims/{quote(number)}/documents", status_code=303)


@router.get("/claims/{number}/documents/{document_id}")
async def get_document(
    request: Request,
    number: str,
    document_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    inline: int = 0,
) -> Response:
    """The file as stored (EXIF removed), decrypted: a download, or inline with ``?inline=1``."""
    row, data = await run_in_threadpool(
        documents.open_document, services, actor, number, document_id, action="view" if inline else "download"
    )
    ext = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}.get(row.content_type, "")
    name = f"{row.claim_number}-{row.kind}-{row.id}{ext}"
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": row.sha256,
        },
    )


@router.get("/claims/{number}/documents/{document_id}/thumb")
async def get_thumbnail(
    number: str,
    document_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The file's thumbnail (PNG), or a PDF icon (SVG) when a PDF's first page was not drawn."""
    data = await run_in_threadpool(documents.thumbnail, services, actor, number, document_id)
    headers = {"Cache-Control": "private, no-store"}  # identity cards and bank cards: not kept in caches
    if data is None:
        return Response(PDF_ICON, media_type="image/svg+xml", headers=headers)
    return Response(data, media_type="image/png", headers=headers)


async def _decision(
    request: Request, services: Services, actor: Actor, number: str, document_id: str, accept: bool
) -> Response:
    form = await request.form()
    note = str(form.get("note") or "")
    try:
        if accept:
            await documents.accept_and_receive(services, actor, number, document_id, note)
        else:
            reason = str(form.get("reason") or "")
            await documents.reject_and_return(services, actor, number, document_id, reason, note)
    except InputError as e:
        return await _panel(request, services, actor, number, 422, error=printable(e.message))
    except (StepRejected, NotAllowed) as e:  # the claim refused the step, or the file was decided already
        if isinstance(e, NotAllowed) and not e.code.startswith("document."):
            raise
        message = error_message(e, gettext_for(locale_of(request)), in_words=True)
        return await _panel(request, services, actor, number, 422, error=message)
    if request.headers.get("hx-request"):
        return await _panel(request, services, actor, number)
    return RedirectResponse(f"/claims/{quote(number)}/documents", status_code=303)


@router.post("/claims/{number}/documents/{document_id}/accept")
async def accept_document(
    request: Request,
    number: str,
    document_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Accept a document (handlers, supervisors)."""
    return await _decision(request, services, actor, number, document_id, True)


@router.post("/claims/{number}/documents/{document_id}/reject")
async def reject_document(
    request: Request,
    number: str,
    document_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Reject a document with a reason: its item is missing again."""
    return await _decision(request, services, actor, number, document_id, False)


# --------------------------------------------------------------------------- the status page


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _status_page(request: Request, status: int = 200, **context: object) -> Response:
    lang = locale_of(request)
    return render(
        request,
        "status.html",
        status_code=status,
        actor=None,
        L=present.Words(lang),
        lang=lang,
        P=present,
        **{"result": None, "error": None, "number": "", **context},
    )


@router.get("/status")
async def status_form(request: Request) -> Response:
    """The status page's form (no login)."""
    return _status_page(request)


@router.post("/status")
async def status_answer(request: Request, services: Annotated[Services, Depends(get_services)]) -> Response:
    """The claim's stage, what is missing, the expected date; 404 / 429 / 422 as the module says."""
    form = await request.form()
    number = str(form.get("number") or "")[:64]
    tail = str(form.get("id6") or "")[:16]
    L = present.Words(locale_of(request))
    limits = getattr(request.app.state, "status_limits", documents.StatusLimits())
    try:
        result = await documents.status_lookup(services, _address(request), number, tail, limits=limits)
    except documents.RateLimited as e:
        page = _status_page(
            request,
            429,
            number=number[:48],
            error=L("查询过于频繁，请稍后再试。", "Too many lookups; please try again later."),
        )
        page.headers["Retry-After"] = str(e.params.get("retry_after", 900))
        return page
    except InputError as e:
        msg = L(
            "请填写正确的赔案号和身份证号后6位。",
            "Enter the claim number and the last 6 characters of the ID number.",
        )
        return _status_page(request, 422, number=number[:48], error=f"{msg} ({e.field})")
    except ClaimNotFound:
        return _status_page(
            request,
            404,
            number=number[:48],
            error=L(
                "未找到：赔案号或身份证号后6位不符。",
                "Not found: the claim number or the ID characters do not match.",
            ),
        )
    return _status_page(request, number=result.claim_number, result=result)


__all__ = ["router"]
