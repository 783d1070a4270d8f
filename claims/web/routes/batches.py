"""The payout batch sheet (现场理赔发放表, ``/batches/{batch_id}``): a printable page with signature lines.

One job: show a supervisor's batch (``claims.services.batches.batch_sheet``) as a sheet to print
and sign at the on-site event: the batch, its claims in order with the insured person, place and
what was paid under the batch, the total, and a line per claim for the recipient's signature
and the date, then the handler's and the supervisor's. Another county's batch is 404 (as if
absent); other roles 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from claims.errors import ClaimNotFound, InputError
from claims.models import Actor
from claims.services.batches import batch_sheet
from claims.services.context import Services
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.templating import locale_of, render

router = APIRouter()


@router.get("/batches/{batch_id}")
async def batch_page(
    request: Request,
    batch_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The batch sheet; 404 when there is no such batch in the reader's county, 403 for non-supervisors."""
    if len(batch_id) > 32:
        raise ClaimNotFound(batch_id[:32])
    try:
        sheet = await run_in_threadpool(batch_sheet, services, actor, batch_id)
    except InputError:
        raise ClaimNotFound(batch_id) from None
    return render(
        request,
        "batch_sheet.html",
        actor=actor,
        L=present.Words(locale_of(request)),
        sheet=sheet,
        yuan=present.yuan,
        when=present.when,
    )
