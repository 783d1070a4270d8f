"""The monthly claims report in the console: ``/reports/monthly/{county}/{YYYY-MM}`` and its files.

One job: serve ``claims.services.monthly`` to the session's reader: the printable page
(``/reports/monthly/宁乡市/2026-03``, A4 landscape, header repeated when printed) and the
downloads ``.xlsx``, ``.csv`` (UTF-8 with a BOM) and ``.pdf`` of the same report;
``?edition=internal`` for full names (supervisors only). Supervisors and auditors of the
county; another county answers 404, another role 403, a malformed month or edition 422.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.domain.timeutil import today_in_shanghai
from claims.errors import InputError
from claims.models import Actor
from claims.reports.formats import MEDIA_TYPES, Format, stylesheet, to_html
from claims.services.context import Services
from claims.services.monthly import monthly_file, monthly_report, parse_edition, parse_format
from claims.web.deps import current_actor, get_services
from claims.web.routes.inbox import calendar_of

router = APIRouter()

CSS_URL = "/reports/monthly.css"


@router.get(CSS_URL, include_in_schema=False)
async def monthly_css() -> Response:
    """The printable page's stylesheet (served, not inlined: the console's CSP)."""
    return Response(
        stylesheet(), media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/reports/monthly")
async def monthly_index(
    actor: Annotated[Actor, Depends(current_actor)],
    county: str | None = None,
    month: str | None = None,
) -> Response:
    """The navigation's entry: the reader's county (or ``?county=``) and last month in
    Asia/Shanghai (or ``?month=YYYY-MM``), as a redirect to the report's page. A reader with
    no county of their own must name one (422)."""
    chosen = county or actor.county
    if not chosen:
        raise HTTPException(status_code=422, detail="county: choose one, e.g. /reports/monthly?county=宁乡市")
    if month is None:
        first = today_in_shanghai().replace(day=1)
        month = (first - timedelta(days=1)).strftime("%Y-%m")
    return RedirectResponse(f"/reports/monthly/{quote(chosen)}/{quote(month)}", status_code=303)


@router.get("/reports/monthly/{county}/{period}")
async def monthly(
    county: str,
    period: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    edition: str = "township",
) -> Response:
    """The page (``…/2026-03``) or a file (``…/2026-03.xlsx``, ``.csv``, ``.pdf``)."""
    month, _, ext = period.partition(".")
    try:
        chosen = parse_edition(edition)
        if not ext:
            report = await run_in_threadpool(
                monthly_report, services, actor, county, month, chosen, calendar_of(services)
            )
            base = f"/reports/monthly/{quote(county)}/{month}"
            query = f"?edition={chosen.value}"
            links = [
                ("下载 Excel (.xlsx)", f"{base}.xlsx{query}"),
                ("CSV", f"{base}.csv{query}"),
                ("PDF", f"{base}.pdf{query}"),
            ]
            return Response(
                to_html(report, css_href=CSS_URL, links=links), media_type=MEDIA_TYPES[Format.HTML]
            )
        fmt = parse_format(ext)
        if fmt is Format.HTML:
            raise InputError("format", "html is the page itself: drop the extension")
        built = await run_in_threadpool(
            monthly_file, services, actor, county, month, fmt, chosen, calendar_of(services)
        )
    except InputError as e:
        raise HTTPException(status_code=422, detail=e.message) from None
    return Response(
        built.content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="monthly-{month}.{fmt.value}"; '
            f"filename*=UTF-8''{quote(built.filename)}",
            "Cache-Control": "no-store",
        },
    )
