"""The published monthly reports (``/reports/published``): the files the schedule stored.

One job: list the files ``MonthlyReportWorkflow`` stored (``claims.services.publication``) for
the supervisors of their county, newest month first, with size and sha256, and serve each for
download at ``/reports/published/{id}`` (its bytes as stored; another county's file is 404,
as if absent; other roles 403). ``?month=YYYY-MM`` narrows the list.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from claims.errors import ClaimNotFound, InputError
from claims.models import Actor
from claims.services.context import Services
from claims.services.publication import download, published
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.templating import locale_of, render

router = APIRouter()

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}
"""Media types by file format (anything else is served as bytes)."""

MAX_ID = 2**31 - 1


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/reports/published")
async def published_page(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    month: str | None = None,
) -> Response:
    """The list; 403 for roles other than supervisor, 422 for a month not ``YYYY-MM``."""
    words = present.Words(locale_of(request))
    month = (month or "").strip() or None
    try:
        files = await run_in_threadpool(published, services, actor, None, month)
    except InputError as e:
        return render(
            request,
            "error.html",
            status_code=422,
            status=422,
            title=words("输入有误", "Invalid input"),
            message=e.message,
        )
    return render(
        request,
        "published.html",
        actor=actor,
        L=words,
        files=files,
        month=month or "",
        when=present.when,
        size=lambda n: f"{n:,}",
    )


@router.get("/reports/published/{file_id}")
async def published_download(
    file_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """One stored file, as stored; 404 when absent or of another county."""
    if not file_id.isdigit() or not 0 < int(file_id) <= MAX_ID:
        raise ClaimNotFound(f"report-{file_id[:20]}", "no such published report")
    info, content = await run_in_threadpool(download, services, actor, int(file_id))
    return Response(
        content,
        media_type=MEDIA_TYPES.get(info.fmt, "application/octet-stream"),
        headers={"Content-Disposition": content_disposition(info.filename), "X-Content-SHA256": info.sha256},
    )
