"""``claims payout-batch``: create, pay and show a payout batch (现场理赔) through the batch service.

One job: parse the options, call the service, print the batch sheet as lines. Supervisors only
(CLAIMS_ACTOR/CLAIMS_ROLE, scoped by CLAIMS_COUNTY).
"""

from __future__ import annotations

from datetime import timedelta

import click

from claims.cli.common import NoAnswerExit, actor_of, refused, run_async, services_of
from claims.errors import ClaimsError
from claims.services.batches import BatchSheet, batch_sheet, cancel_batch, create_batch, pay_batch
from claims.services.client import NoAnswer


def _print(sheet: BatchSheet) -> None:
    click.echo(
        f"batch {sheet.batch_id}  {sheet.county}  {sheet.status}  event: {sheet.event}"
        + (f"  transfer {sheet.transfer_ref}" if sheet.transfer_ref else "")
    )
    if sheet.cancelled_at is not None:
        at = f"{sheet.cancelled_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"cancelled by {sheet.cancelled_by} at {at}: {sheet.cancel_reason}")
    for r in sheet.rows:
        state = "paid" if r.paid > 0 else ("due" if r.due is not None else "-")
        click.echo(
            f"{r.position:>3}  {r.claim_number}  {r.township} {r.village}  {r.stage}  {r.amount:,.2f} {state}"
        )
    if sheet.status == "cancelled":
        click.echo(f"{len(sheet.rows)} claims, none paid under this batch (cancelled)")
    elif sheet.total_paid > 0 or sheet.status == "paid":
        click.echo(f"{len(sheet.rows)} claims, {sheet.total_paid:,.2f} yuan paid under this batch")
    else:  # before payment the sheet shows what is due (the benefits held at adjudication)
        click.echo(f"{len(sheet.rows)} claims, {sheet.total_amount:,.2f} yuan due, not yet paid")


@click.group("payout-batch")
def batch_group() -> None:
    """现场理赔: a supervisor's batch of payable claims of one county, paid with one transfer."""


@batch_group.command("create")
@click.option("--county", required=True, help="the batch's county (县/市/区)")
@click.option("--event", required=True, help="the on-site payout event: place, date, occasion")
@click.argument("claims", nargs=-1, required=True)
@click.pass_context
@run_async
async def create(ctx: click.Context, county: str, event: str, claims: tuple[str, ...]) -> None:
    """Create a batch of CLAIMS (in stage payout, approved, not held for review) of one county."""
    try:
        sheet = await create_batch(services_of(ctx), actor_of(ctx), county, list(claims), event)
    except ClaimsError as e:
        raise refused(e) from None
    _print(sheet)


@batch_group.command("pay")
@click.argument("batch_id")
@click.option("--transfer-ref", required=True, help="the bank reference of the one transfer")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 3600), default=60.0, show_default=True)
@click.pass_context
@run_async
async def pay(ctx: click.Context, batch_id: str, transfer_ref: str, timeout_s: float) -> None:
    """Pay every claim of BATCH_ID (each claim's pay step) with one transfer reference."""
    try:
        result = await pay_batch(
            services_of(ctx), actor_of(ctx), batch_id, transfer_ref, timeout=timedelta(seconds=timeout_s)
        )
    except NoAnswer as e:
        raise NoAnswerExit(str(e)) from None
    except ClaimsError as e:
        raise refused(e) from None
    _print(result.sheet)
    for number, why in result.refused.items():
        click.echo(f"refused {number}: {why}", err=True)
    if result.refused:
        ctx.exit(1)


@batch_group.command("show")
@click.argument("batch_id")
@click.pass_context
def show(ctx: click.Context, batch_id: str) -> None:
    """The batch sheet."""
    try:
        _print(batch_sheet(services_of(ctx), actor_of(ctx), batch_id))
    except ClaimsError as e:
        raise refused(e) from None


@batch_group.command("cancel")
@click.argument("batch_id")
@click.option("--reason", required=True, help="why the batch is cancelled (one line, shown on the sheet)")
@click.pass_context
def cancel(ctx: click.Context, batch_id: str, reason: str) -> None:
    """Cancel BATCH_ID (取消批次) before any payment was tried: its claims may go in another batch."""
    try:
        _print(cancel_batch(services_of(ctx), actor_of(ctx), batch_id, reason))
    except ClaimsError as e:
        raise refused(e) from None
