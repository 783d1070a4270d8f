"""``claims report``, ``import``, ``show``, ``tasks`` and ``overdue``: reporting claims and
looking at them.

One job: parse these commands' options and files, call ``claims.services.intake`` /
``claims.services.views``, print with ``claims.cli.render``, and translate the services'
typed errors into the command line's messages and exit codes (2 bad input, 1 refused or not
found, 3 no worker answered).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from claims.cli.common import (
    UsageError,
    actor_of,
    encoding_option,
    identity_given,
    run_async,
    services_of,
    settings_of,
    viewer_of,
)
from claims.cli.render import print_overdue, print_state, print_tasks
from claims.domain.tabular import TabularError
from claims.domain.workdays import CalendarError, get_calendar
from claims.errors import ClaimNotFound, Unavailable
from claims.models import Outcome
from claims.models.bounds import MAX_CALENDAR_DAYS
from claims.services import documents, intake, views
from claims.services.intake import IntakeResult, ReportInvalid
from claims.services.views import FilterRefused, NoQueryAnswer, OverdueFilter

OUTCOMES_REPORT = [o.value for o in Outcome]


def _parse_duration(text: str) -> timedelta:
    """``--due-within`` as a time span: ``<n>d`` or ``<n>h``, at most ``MAX_CALENDAR_DAYS``."""
    m = re.fullmatch(r"(\d+)\s*([dh])", text.strip())
    if not m:
        raise UsageError(f"--due-within: {text!r} is not a duration; write e.g. 2d or 12h")
    n = int(m.group(1))
    days = n if m.group(2) == "d" else n / 24
    if days > MAX_CALENDAR_DAYS:
        raise UsageError(f"--due-within: {text!r} is more than {MAX_CALENDAR_DAYS} days; write at most 3660d")
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)


def _report_problems(e: ReportInvalid, where: str) -> str:
    """A refused report's problems, each prefixed with ``where`` (the file name, or nothing)."""
    return "; ".join(f"{where}{p}" for p in e.problems)


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a JSON claim report (fields as in data/demo/claims.json 'report')",
)
@click.option("--policy", "policies", multiple=True, help="policy number (repeat for several)")
@click.option("--id-number", help="the insured person's identity number")
@click.option("--accident-date", help="YYYY-MM-DD")
@click.option("--reported-on", help="YYYY-MM-DD, default today")
@click.option("--outcome", type=click.Choice(OUTCOMES_REPORT))
@click.option("--cause", help="e.g. fall_from_height, drowning, road_accident")
@click.option("--grade", "disability_grade", type=int, help="reported disability grade 1-10")
@click.option("--description", default="")
@click.option("--green-channel", "nominate", is_flag=True, help="nominate for the green channel")
@click.pass_context
@run_async
async def report(ctx: click.Context, file: Path | None, **fields: Any) -> None:
    """Report a claim (报案), from flags or a JSON file; prints the claim number.

    A second report of the same event for the same insured person returns the existing claim.
    """
    actor = actor_of(ctx)
    if file:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise UsageError(f"{file}: not UTF-8; save the file as UTF-8") from None
        except json.JSONDecodeError as e:
            raise UsageError(f"{file}: not valid JSON at line {e.lineno}: {e.msg}") from None
    else:
        data = {
            "policy_numbers": list(fields.pop("policies")),
            "nominate_green_channel": fields.pop("nominate"),
        }
        data.update({k: v for k, v in fields.items() if v not in (None, "")})
        missing = [f for f in ("id_number", "accident_date", "outcome", "cause") if f not in data]
        if missing or not data["policy_numbers"]:
            names = [f"--{m.replace('_', '-')}" for m in missing]
            names += [] if data["policy_numbers"] else ["--policy"]
            raise UsageError(f"missing {', '.join(names)} (or give --file)")
    where = f"{file}: " if file else ""
    try:
        rep = intake.read_report(data, actor)
    except ReportInvalid as e:
        raise UsageError(_report_problems(e, where)) from None
    try:
        result = await intake.report(services_of(ctx), actor, rep)
    except ReportInvalid as e:
        raise UsageError(_report_problems(e, "")) from None
    except Unavailable as e:
        raise click.ClickException(e.message) from None
    word = "reported" if result.created else "already reported"
    click.echo(f"{word}: claim {result.claim.claim_number} (workflow {result.workflow_id})")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@encoding_option("a text file")
@click.option(
    "--all-or-nothing",
    is_flag=True,
    help="import nothing if any row is bad (default: import the good rows, report the bad)",
)
@click.pass_context
@run_async
async def import_batch(ctx: click.Context, file: Path, encoding: str | None, all_or_nothing: bool) -> None:
    """Import a batch FILE of claim reports: JSON Lines, CSV or Excel .xlsx (see claims/domain/tabular.py).

    A spreadsheet's first row names the columns, in Chinese (保单号, 身份证号, 出险日期, ...) or
    as the report's field names. The first output line says how the file was read (format,
    encoding or sheet). Every bad row is reported as ``line N: field: message`` (N: the line
    of the file, the sheet row of a workbook); the good rows are imported, or none with
    --all-or-nothing. Exit code 1 when any row was bad, 2 when the file cannot be read.
    """
    actor = actor_of(ctx)
    try:
        batch = intake.read_batch(file, encoding, actor)
    except TabularError as e:
        raise UsageError(f"{file}: {e}") from None
    click.echo(f"{file}: {batch.source}")

    def reported(line: int, result: IntakeResult) -> None:
        word = "reported" if result.created else "already reported"
        click.echo(f"line {line}: {word} claim {result.claim.claim_number}")

    try:
        done = await intake.import_batch(
            services_of(ctx), actor, batch, all_or_nothing=all_or_nothing, on_reported=reported
        )
    except Unavailable as e:
        raise click.ClickException(e.message) from None
    for bad in done.bad:
        click.echo(f"line {bad.line}: {bad.message}", err=True)
    if all_or_nothing and done.bad:
        raise click.ClickException(f"{len(done.bad)} bad row(s); nothing imported (--all-or-nothing)")
    click.echo(f"{done.imported} imported, {len(done.bad)} bad row(s)")
    if done.bad:
        sys.exit(1)


@click.command()
@click.argument("claim_number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run_async
async def show(ctx: click.Context, claim_number: str, as_json: bool) -> None:
    """Show one claim: stage, amounts, deadlines (Asia/Shanghai) and timeline."""
    try:
        state = await views.claim_view(services_of(ctx), viewer_of(ctx), claim_number)
    except (ClaimNotFound, Unavailable) as e:
        if not isinstance(e, NoQueryAnswer):
            raise click.ClickException(e.message) from None
        click.echo(
            f"error: show: {e.message}; start one with claims up or claims worker, or read the history "
            f"with claims audit {claim_number}",
            err=True,
        )
        raise SystemExit(3) from None
    files = await asyncio.to_thread(documents.list_documents, services_of(ctx), viewer_of(ctx), claim_number)
    print_state(state, as_json, files)


@click.command()
@click.option("--handler", help="only claims assigned to this handler (default: you, if you are a handler)")
@click.pass_context
def tasks(ctx: click.Context, handler: str | None) -> None:
    """A handler's open claims, earliest deadline first (unregistered claims included)."""
    if handler is None and identity_given(ctx):
        handler = ctx.obj.get("actor") or settings_of(ctx).actor.id
    print_tasks(views.inbox(services_of(ctx), viewer_of(ctx), handler))


@click.command()
@click.option("--county")
@click.option("--township")
@click.option("--handler")
@click.option("--green/--not-green", "green", default=None, help="only green-channel claims, or only others")
@click.option("--due-within", default=None, help="also list claims due within this time, e.g. 2d")
@click.pass_context
def overdue(
    ctx: click.Context,
    county: str | None,
    township: str | None,
    handler: str | None,
    green: bool | None,
    due_within: str | None,
) -> None:
    """Breached and at-risk open claims, most late first, with the responsible handler.

    Also prints the same filter as a Temporal visibility query for the web UI.
    """
    within = _parse_duration(due_within) if due_within else None
    where = OverdueFilter(county=county, township=township, handler=handler, green_channel=green)
    now = datetime.now(UTC)
    labels = {"county": "--county", "township": "--township", "handler": "--handler"}
    try:  # refused before anything is looked up: the printed query says exactly the filter given
        query = views.overdue_visibility_query(where, now, within, labels)
    except FilterRefused as e:
        raise UsageError(e.message) from None
    try:
        cal = get_calendar(settings_of(ctx).calendar.folder)
    except CalendarError as e:
        raise UsageError(str(e)) from None
    print_overdue(views.overdue(services_of(ctx), viewer_of(ctx), cal, now, within, where))
    click.echo("visibility query: " + query)


COMMANDS = (report, import_batch, show, tasks, overdue)
"""This module's commands, in the order ``claims --help`` lists them."""
