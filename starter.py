"""The ``claims`` command line for handlers, supervisors and auditors.

Identity: ``--actor``/``--role`` (or ``CLAIMS_ACTOR``/``CLAIMS_ROLE``) name the person at
the keyboard; it is recorded on every step. Temporal: ``TEMPORAL_ADDRESS`` for a cluster,
else the embedded dev server (``claims up`` starts it with a worker).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ValidationError

from claims.models.bounds import MAX_CALENDAR_DAYS, printable
from claims.cli.steps import step_group
from claims.cli.common import (
    NoAnswerExit,
    UsageError,
    actor_of,
    client_for,
    fmt_validation,
    ljust,
    refuse_engine_role,
    run_async,
    sessions_for,
    settings_of,
)
from claims.store.db import make_engine, make_sessionmaker, unit_of_work, upgrade_database
from claims.infra.logging import configure_logging
from claims.models import (
    TASK_QUEUE,
    Actor,
    AdjudicateInput,
    ClaimReport,
    ClaimState,
    CompleteDocumentsInput,
    DeclineInput,
    InvestigationRequestInput,
    InvestigationResultInput,
    LossFacts,
    Outcome,
    OverrideFindingInput,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
    StepInput,
    WaivedDocument,
)
from claims.infra.settings import REPO_ROOT, get_settings
from claims.domain.tabular import ENCODINGS, TabularError, decode, read_claim_reports
from claims.domain.timeutil import local

DEMO_DIR = REPO_ROOT / "data" / "demo"
OUTCOMES_REPORT = [o.value for o in Outcome]


def _parse_duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)\s*([dh])", text.strip())
    if not m:
        raise UsageError(f"--due-within: {text!r} is not a duration; write e.g. 2d or 12h")
    n = int(m.group(1))
    days = n if m.group(2) == "d" else n / 24
    if days > MAX_CALENDAR_DAYS:
        raise UsageError(f"--due-within: {text!r} is more than {MAX_CALENDAR_DAYS} days; write at most 3660d")
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)


def _say(text: str) -> None:
    """Print one line of a claim view: control and direction characters from payloads are shown
    escaped (``\\uXXXX``), so no recorded text can draw a line of its own (``claims.models.bounds``)."""
    click.echo(printable(text))


def _print_state(state: ClaimState, as_json: bool = False) -> None:
    if as_json:
        click.echo(state.model_dump_json(indent=2))
        return
    say = _say
    say(f"claim {state.claim_number}  stage {state.stage.value}  SLA {state.sla_state.value}")
    say(
        f"  {state.county} {state.township} {state.village}; accident {state.accident_date}; "
        f"policies {', '.join(state.policies)}"
    )
    say(
        f"  handler {state.assigned_handler or '-'}; green channel {'yes' if state.green_channel else 'no'}; "
        f"case class {state.case_class.value if state.case_class else '-'}"
    )
    for c in state.clocks:
        if c.breached:
            status = "BREACHED"
        elif c.stopped_at:
            status = "stopped " + local(c.stopped_at)
        elif c.paused_since:
            status = f"paused since {local(c.paused_since)} ({c.pause_reason})"
        else:
            status = "running"
        prov = " provisional" if c.deadline.provisional else ""
        target = (
            f"{c.calendar_days} calendar days" if c.calendar_days else f"{c.target_working_days} working days"
        )
        paused = f" (+{c.paused_working_days} paused)" if c.paused_working_days else ""
        say(
            f"  clock {c.name}: {target}{paused}, "
            f"due {local(c.deadline.due_at)} Asia/Shanghai{prov}, {status}"
        )
    if state.documents_required or state.documents_requested:
        got = set(state.documents_received)
        waived = {w.document for w in state.documents_waived}
        needed = list(dict.fromkeys(state.documents_required + state.documents_requested))
        missing = [d for d in needed if d not in got and d not in waived]
        say(f"  documents: checklist {', '.join(state.documents_required) or '-'}")
        say(
            f"    requested {len(state.documents_requested)}, received {len(got)}, waived {len(waived)}; "
            f"still missing: {', '.join(missing) or 'none'}"
        )
    if state.stuck is not None:
        say(f"  STUCK: {state.stuck.activity} failing since {local(state.stuck.since)} ({state.stuck.error})")
    if state.decision:
        for ln in state.decision.lines:
            say(
                f"  benefit {ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount} yuan "
                f"[{', '.join(ln.rule_ids)}]"
            )
            for d in ln.deducted:
                say(
                    f"    counted {d.amount} yuan {d.kind} {'reserved' if d.reserved else 'paid'} "
                    f"on claim {d.claim_number or '-'}"
                )
        for r in state.decision.refusals:
            say(f"  refused {r.policy_number} [{r.clause_id}]: {r.reason}")
        say(f"  decision total {state.decision.total} yuan")
    if state.adjudicated_outcome and state.adjudicated_outcome != state.reported_outcome:
        say(
            f"  outcome reported {state.reported_outcome.value if state.reported_outcome else '-'}, "
            f"adjudicated {state.adjudicated_outcome.value}"
        )
    if state.payout_authority_limit is not None:
        say(
            f"  payout authority limit {state.payout_authority_limit} yuan ({state.authority_rule}); "
            f"approved by a supervisor: {'yes' if state.payout_approved else 'no'}"
        )
    f = state.investigation_finding
    if f is not None:
        verdict = "event as reported" if f.covered_event else "EVENT NOT AS REPORTED"
        over = f"; overridden by {f.overridden_by}: {f.override_reason}" if f.overridden_by else ""
        say(f"  investigation ({f.investigator}): {verdict}{over}")
    for p in state.payments:
        say(
            f"  payment {p.payment_number}: {p.amount} yuan on {p.policy_number}, transfer {p.transfer_ref}"
        )
    if state.decline_reasons:
        say("  declined: " + "; ".join(state.decline_reasons))
    say("  timeline (Asia/Shanghai):")
    for t in state.timeline:
        rules = f" [{', '.join(t.rule_ids)}]" if t.rule_ids else ""
        say(f"    {local(t.at)}  {t.event:<28} {t.actor.role.value}:{t.actor.id}  {t.detail}{rules}")


@click.group()
@click.option("--actor", help="your staff id (or CLAIMS_ACTOR)")
@click.option("--role", help="your role: " + ", ".join(r.value for r in Role) + " (or CLAIMS_ROLE)")
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
@click.pass_context
def cli(ctx: click.Context, actor: str | None, role: str | None, log_format: str | None) -> None:
    """Claims workflow engine for family-planning household insurance (计生保险理赔)."""
    settings = get_settings()
    configure_logging(log_format or settings.log_format, settings.log_level)
    refuse_engine_role(role or settings.role)
    ctx.obj = {"settings": settings, "actor": actor, "role": role}


# --------------------------------------------------------------------------- set-up


@cli.group()
def db() -> None:
    """The SQL store."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the store's migrations (Alembic) to DATABASE_URL or the local SQLite file."""
    url = settings_of(ctx).sqlalchemy_url()
    upgrade_database(url)
    click.echo(f"store at head: {url.split('@')[-1]}")


@cli.group()
def register() -> None:
    """The policy register."""


@register.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default=None,
    help="of the file (default: UTF-8 with or without BOM, else GB18030 when the bytes are not UTF-8)",
)
@click.pass_context
def register_load(ctx: click.Context, file: Path, encoding: str | None) -> None:
    """Load households, insured persons and policies from a register FILE (JSON).

    The file may be UTF-8 (with or without a byte-order mark) or GB18030/GBK, detected or
    named with --encoding; the encoding used is printed when it is not plain UTF-8.
    """
    from claims.store import RegisterError, RegisterFile, age_warnings, load_register

    try:
        decoded = decode(file.read_bytes(), encoding)
        data = RegisterFile.model_validate(json.loads(decoded.text))
    except TabularError as e:
        raise UsageError(f"{file}: {e}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{file}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except ValidationError as e:
        raise UsageError(f"{file}: {fmt_validation(e)}") from None
    if decoded.how != "UTF-8":
        click.echo(f"{file}: JSON, {decoded.how}")
    with unit_of_work(sessions_for(settings_of(ctx))) as s:
        try:
            counts = load_register(s, data)
        except RegisterError as e:
            raise UsageError(f"{file}: {e}") from None
    click.echo(
        f"loaded {counts['households']} households, {counts['persons']} insured persons, "
        f"{counts['policies']} policies"
    )
    for warning in age_warnings(data):
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.option("--headless", is_flag=True, help="no web UI")
@click.pass_context
@run_async
async def up(ctx: click.Context, headless: bool) -> None:
    """Start the embedded Temporal server (unless TEMPORAL_ADDRESS is set) and a worker; Ctrl-C stops both."""
    from worker import run_worker

    settings = settings_of(ctx)
    if not settings.temporal_address:
        ui = "no web UI (--headless)" if headless else f"Temporal web UI: http://127.0.0.1:{settings.ui_port}"
        click.echo(f"{ui}  (data in {settings.data_dir})")
    await run_worker(settings, headless=headless)


@cli.command("worker")
@click.pass_context
@run_async
async def worker_cmd(ctx: click.Context) -> None:
    """Run a worker only (uses the embedded server, starting it if needed, or TEMPORAL_ADDRESS)."""
    from worker import run_worker

    await run_worker(settings_of(ctx))


# --------------------------------------------------------------------------- reporting


def _read_report(data: dict[str, Any], where: str, reporter: Actor | None) -> ClaimReport:
    """A claim report from a file or row, filed by ``reporter`` (the caller): a ``reporter`` in
    the data is refused unless it is the caller (``claims.store.check_reporter``)."""
    from claims.store import ReportError, check_reporter

    if not isinstance(data, dict):
        raise UsageError(f"{where}a claim report must be a JSON object {{...}}, not {type(data).__name__}")
    if reporter is not None and "reporter" not in data:
        data = {**data, "reporter": reporter.model_dump()}
    try:
        return check_reporter(ClaimReport.model_validate(data), reporter)
    except ValidationError as e:
        raise UsageError(fmt_validation(e, where)) from None
    except ReportError as e:
        raise UsageError(f"{where}{e}") from None


@cli.command()
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
    from claims.services.client import report_claim
    from claims.store import ReportError

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
            names = [f"--{m.replace('_', '-')}" for m in missing] + (
                [] if data["policy_numbers"] else ["--policy"]
            )
            raise UsageError(f"missing {', '.join(names)} (or give --file)")
    rep = _read_report(data, f"{file}: " if file else "", actor)
    settings = settings_of(ctx)
    client = await client_for(settings)
    with sessions_for(settings)() as s:
        try:
            result = await report_claim(client, s, rep, caller=actor)
        except ReportError as e:
            raise UsageError(str(e)) from None
    word = "reported" if result.created else "already reported"
    click.echo(f"{word}: claim {result.claim.claim_number} (workflow {result.workflow_id})")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default=None,
    help="of a text file (default: UTF-8 with or without BOM, else GB18030 when the bytes are not UTF-8)",
)
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
    from claims.services.client import report_claim
    from claims.store import ReportError, intake_report, utcnow
    from claims.domain.timeutil import today_in_shanghai

    actor = actor_of(ctx)
    try:
        table = read_claim_reports(file, encoding)
    except TabularError as e:
        raise UsageError(f"{file}: {e}") from None
    click.echo(f"{file}: {table.source}")
    rows: list[tuple[int, ClaimReport]] = []
    errors: list[tuple[int, str]] = [(bad.line, bad.message) for bad in table.errors]
    for row in table.rows:
        try:
            rows.append((row.line, _read_report(row.data, "", actor)))
        except click.ClickException as e:
            errors.append((row.line, e.message))
        except ArithmeticError as e:  # a decimal signal from a value the model could not compute
            errors.append((row.line, f"a number out of range ({type(e).__name__})"))

    def print_errors() -> None:
        for n, message in sorted(errors, key=lambda error: error[0]):
            click.echo(f"line {n}: {message}", err=True)

    settings = settings_of(ctx)
    sessions = sessions_for(settings)
    if all_or_nothing:
        # Check every row against the register inside one transaction that is rolled back.
        with sessions() as s:
            for n, rep in rows:
                try:
                    intake_report(s, rep, utcnow(), today_in_shanghai(), dry_run=True)
                except ReportError as e:
                    errors.append((n, str(e)))
            s.rollback()
        if errors:
            print_errors()
            raise click.ClickException(f"{len(errors)} bad row(s); nothing imported (--all-or-nothing)")
    client = await client_for(settings)
    imported = 0
    for n, rep in rows:
        with sessions() as s:
            try:
                result = await report_claim(client, s, rep)
                imported += result.created
                click.echo(
                    f"line {n}: {'reported' if result.created else 'already reported'} "
                    f"claim {result.claim.claim_number}"
                )
            except ReportError as e:
                errors.append((n, str(e)))
    print_errors()
    click.echo(f"{imported} imported, {len(errors)} bad row(s)")
    if errors:
        sys.exit(1)


# --------------------------------------------------------------------------- steps
# The ``claims step`` group lives in claims/cli/steps.py (one command per registry entry).
cli.add_command(step_group(_print_state))


# --------------------------------------------------------------------------- views


@cli.command()
@click.argument("claim_number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run_async
async def show(ctx: click.Context, claim_number: str, as_json: bool) -> None:
    """Show one claim: stage, amounts, deadlines (Asia/Shanghai) and timeline."""
    from temporalio.service import RPCError, RPCStatusCode

    from claims.services.client import UnknownClaim, claim_state

    client = await client_for(settings_of(ctx))
    try:
        state = await claim_state(client, claim_number)
    except UnknownClaim as e:
        raise click.ClickException(str(e)) from None
    except RPCError as e:
        no_answer = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED)
        if e.status not in no_answer:
            raise
        # a query is answered by a worker; with none running it times out (exit 3, as a step)
        click.echo(
            f"error: show: no worker answered the query for {claim_number} ({e.message}); start one with "
            "claims up or claims worker, or read the history with claims audit "
            f"{claim_number}",
            err=True,
        )
        raise SystemExit(3) from None
    _print_state(state, as_json)


@cli.command()
@click.pass_context
@run_async
async def reconcile(ctx: click.Context) -> None:
    """Claims recorded on one side only: store rows without a workflow, workflows without a row.

    Exit code 1 when anything is found. A row without a workflow is started again by reporting
    the claim again (``claims report`` / ``claims import`` find the row and start it).
    """
    from claims.services.reconcile import reconcile as find

    settings = settings_of(ctx)
    client = await client_for(settings)
    with sessions_for(settings)() as s:
        found = await find(client, s)
    click.echo(f"{found.rows} claim row(s) in the store, {found.workflows} claim workflow(s) in Temporal")
    for number, stage in found.rows_without_workflow:
        click.echo(f"row without workflow: {number} (stage {stage}); report it again to start its workflow")
    for wid in found.workflows_without_row:
        click.echo(f"workflow without row: {wid}; its claim was never recorded in this store")
    if not found.consistent:
        raise SystemExit(1)
    click.echo("consistent")


@cli.command()
@click.option("--handler", help="only claims assigned to this handler (default: you, if you are a handler)")
@click.pass_context
def tasks(ctx: click.Context, handler: str | None) -> None:
    """A handler's open claims, earliest deadline first (unregistered claims included)."""
    from claims.store import open_tasks

    if handler is None and (ctx.obj.get("actor") or settings_of(ctx).actor):
        handler = ctx.obj.get("actor") or settings_of(ctx).actor
    with sessions_for(settings_of(ctx))() as s:
        rows = open_tasks(s, handler)
        click.echo(f"{'claim number':<22} {'stage':<13} {'handler':<20} {'due (Asia/Shanghai)':<19} sla")
        for r in rows:
            due = local(r.sla_deadline) if r.sla_deadline else "-"
            click.echo(
                f"{r.claim_number:<22} {r.stage:<13} {r.assigned_handler or '-':<20} {due:<19} {r.sla_state}"
            )
        click.echo(f"{len(rows)} open claim(s)")


@cli.command()
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
    from claims.audit import HistoryError, visibility_literal
    from claims.store import overdue_claims
    from claims.domain.workdays import get_calendar

    within = _parse_duration(due_within) if due_within else None
    try:  # refused before anything is looked up: the printed query says exactly the filter given
        given = (("--county", county), ("--township", township), ("--handler", handler))
        literals = {option: visibility_literal(value, option) for option, value in given if value}
    except HistoryError as e:
        raise UsageError(str(e)) from None
    now = datetime.now(UTC)
    from claims.domain.workdays import CalendarError

    try:
        cal = get_calendar()
    except CalendarError as e:
        raise UsageError(str(e)) from None
    with sessions_for(settings_of(ctx))() as s:
        rows = overdue_claims(s, now, within, county, township, handler, green)
        click.echo(
            f"{'claim number':<22} {'county':<12} {'township':<10} {'handler':<20} {'stage':<13} "
            f"{'due (Asia/Shanghai)':<19} {'wd late':>7} sla"
        )
        for r, late in zip(rows, working_days_late(cal, [r.sla_deadline for r in rows], now), strict=True):
            due = local(r.sla_deadline) if r.sla_deadline else "-"
            click.echo(
                f"{r.claim_number:<22} {ljust(r.county, 12)} {ljust(r.township, 10)} "
                f"{r.assigned_handler or '-':<20} {r.stage:<13} {due:<19} {late:>7} {r.sla_state}"
                + (f" ({r.stuck_activity} failing since {local(r.stuck_since)})" if r.stuck_activity else "")
            )
        click.echo(f"{len(rows)} claim(s)")
    clauses = ["ExecutionStatus = 'Running'"]
    horizon = (now + within) if within else now
    clauses.append(
        f"(SlaState IN ('breached', 'stuck') OR SlaDeadline <= '{horizon.strftime('%Y-%m-%dT%H:%M:%SZ')}')"
    )
    for attr, option, value in (
        ("ClaimCounty", "--county", county),
        ("ClaimTownship", "--township", township),
        ("AssignedHandler", "--handler", handler),
    ):
        if value:
            clauses.append(f"{attr} = {literals[option]}")
    if green is not None:
        clauses.append(f"GreenChannel = {'true' if green else 'false'}")
    click.echo("visibility query: " + " AND ".join(clauses))


# --------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--register",
    "register_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEMO_DIR / "register.json",
    show_default=True,
)
@click.option(
    "--claims",
    "claims_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEMO_DIR / "claims.json",
    show_default=True,
)
@click.pass_context
@run_async
async def demo(ctx: click.Context, register_path: Path, claims_path: Path) -> None:
    """Carry the seed's three real cases end to end and print the table.

    Starts the embedded Temporal server (unless TEMPORAL_ADDRESS is set) and a worker in
    this process, and stops both at the end.
    """
    from claims.services.demo import format_table, run_demo
    from claims.infra.temporal import TemporalUnavailable, connect, embedded_mode, start_embedded_server
    from claims.domain.workdays import get_calendar
    from worker import build_worker

    settings = settings_of(ctx)
    url = settings.sqlalchemy_url()
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    server = None
    try:
        if embedded_mode(settings):
            try:
                server = start_embedded_server(settings)
            except TemporalUnavailable as e:
                raise click.ClickException(str(e)) from None
            click.echo(
                f"Temporal dev server at {server.address}, web UI {server.ui_url} "
                f"(data in {settings.data_dir})"
            )
        client = await connect(settings, server.address if server else None)
        async with build_worker(client, sessions, task_queue=TASK_QUEUE):
            try:
                rows = await run_demo(
                    client, sessions, register_path, claims_path, get_calendar(), TASK_QUEUE
                )
            except ValueError as e:
                raise click.ClickException(str(e)) from None
        click.echo(format_table(rows))
    finally:
        engine.dispose()
        if server:
            server.stop()


# --------------------------------------------------------------------------- feature commands
# Each feature module adds its commands here: one import and one cli.add_command line each.
from claims.cli.terms import terms  # noqa: E402

cli.add_command(terms)
from claims.cli.sla import calendar_group, sla_report, working_days_late  # noqa: E402

cli.add_command(calendar_group)
cli.add_command(sla_report)
from claims.cli.audit import archive as archive_cmd  # noqa: E402
from claims.cli.audit import audit as audit_cmd  # noqa: E402
from claims.cli.audit import history as history_group  # noqa: E402
from claims.cli.audit import replay as replay_cmd  # noqa: E402

cli.add_command(audit_cmd)
cli.add_command(history_group)
cli.add_command(replay_cmd)
cli.add_command(archive_cmd)


def main() -> None:
    """Entry point of the ``claims`` command. Exits with the command's code.

    Leaves through ``os._exit`` after flushing: short processes that used a Temporal client
    can otherwise abort at interpreter shutdown (sdk-python issue #300).
    """
    try:
        cli.main(standalone_mode=False)
        code = 0
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}", err=True)
        code = e.exit_code
    except click.exceptions.Abort:
        code = 130
    except click.exceptions.Exit as e:
        code = e.exit_code
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
