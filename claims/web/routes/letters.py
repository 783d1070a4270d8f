"""The refusal letter (拒赔通知书, art. 24) of a declined claim: ``/claims/{number}/letter`` and ``.pdf``.

One job: serve the letter the claim issued, built again byte for byte and checked against the
sha256 the claim recorded (``claims.services.letters``), to anyone who may read the claim (its
county's staff, the village's secretary, auditors). A claim outside the reader's scope, or one
that issued no letter, is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.errors import ClaimNotFound
from claims.models import Actor
from claims.reports.letter import letter_html, stylesheet
from claims.services.context import Services
from claims.services.letters import LetterFile, NoLetter, refusal_letter
from claims.web.deps import current_actor, get_services

router = APIRouter()

MAX_NUMBER = 48
"""A claim number longer than its column is not found without a query."""
CSS_URL = "/letters/letter.css"


@router.get(CSS_URL, include_in_schema=False)
async def letter_css() -> Response:
    """The letter page's stylesheet (served, not inlined: the console's CSP)."""
    return Response(
        stylesheet(), media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"}
    )


async def _letter(services: Services, actor: Actor, number: str) -> LetterFile:
    if len(number) > MAX_NUMBER:
        raise ClaimNotFound(number[:MAX_NUMBER])
    try:
        found = await refusal_letter(services, actor, number)
    except NoLetter:
        raise ClaimNotFound(number) from None
    return found


@router.get("/claims/{number}/letter")
async def letter_page(
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The letter as a printable page (its own layout, A4)."""
    found = await _letter(services, actor, number)
    html = letter_html(found.issued.request, css_href=CSS_URL)
    return HTMLResponse(html, headers={"X-Letter-Sha256": found.sha256})


@router.get("/claims/{number}/letter.pdf")
async def letter_pdf_file(
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The letter's PDF as issued (its sha256 in ``X-Letter-Sha256``)."""
    found = await _letter(services, actor, number)
    pdf = await run_in_threadpool(lambda: found.pdf)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="refusal-letter-{found.claim_number}.pdf"',
            "X-Letter-Sha256": found.sha256,
        },
    )
