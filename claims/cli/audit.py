"""``claims audit``, ``claims history export``, ``claims replay`` and ``claims archive``.

Presentation only: parse the options, call ``claims.audit``, print its text or JSON.
Every read is logged with the actor (``--actor``/``--role`` or ``CLAIMS_ACTOR``/``CLAIMS_ROLE``);
any role may read and replay, auditors included (the workflow refuses their steps).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from temporalio.client import Client

from claims.audit import (
    HistoryError,
    ReplayReport,
    audit_claim,
    audit_json,
    claim_workflows_query,
    export_history,
    format_audit,
    format_replay,
    histories_from_claims,
    histories_from_files,
    histories_from_query,
    replay_json,
    replay_many,
)
from claims.audit.archiver import archive_closed_claims
from claims.cli.common import UsageError, actor_of, refused, run_async, services_of, settings_of
from claims.errors import ClaimsError, Unavailable
from claims.infra.logging import get_logger
from claims.infra.temporal import converter_for


async def _client(ctx: click.Context) -> Client:
    """The process's Temporal client (``services_of(ctx)``).

    Raises:
        click.ClickException: Temporal does not answer (exit 1; the message says how to start it).
    """
    try:
        return await services_of(ctx).client()
    except Unavailable as e:
        raise refused(e) from None


@click.command("audit")
@click.argument("claim_number")
@click.option("--json", "as_json", is_flag=True, help="the audit report as JSON")
@click.pass_context
@run_async
async def audit(ctx: click.Context, claim_number: str, as_json: bool) -> None:
    """A claim's timeline from its workflow history: who did what and when (Asia/Shanghai),
    stage changes, documents, the rules decision with clause ids and amounts, every SLA
    start, recomputation and breach, each payout. Falls back to the archive once Temporal
    has deleted the history."""
    actor = actor_of(ctx)
    client = await _client(ctx)
    try:
        report = await audit_claim(client, services_of(ctx).sessions, claim_number, actor)
    except ClaimsError as e:  # ClaimNotFound, HistoryError
        raise refused(e) from None
    except ValueError as e:  # ArchiveDamaged: the archived history does not match its sha256
        raise click.ClickException(str(e)) from None
    click.echo(audit_json(report) if as_json else format_audit(report))


@click.group("history")
def history() -> None:
    """Workflow histories of claims."""


@history.command("export")
@click.argument("claim_number")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write here (default stdout)")
@click.pass_context
@run_async
async def history_export(ctx: click.Context, claim_number: str, out: Path | None) -> None:
    """Write a claim's history as JSON in the form the Temporal CLI and web UI use
    (replay it with ``claims replay --file``). Payloads stay encoded."""
    actor = actor_of(ctx)
    client = await _client(ctx)
    try:
        text, source = await export_history(client, claim_number, actor, services_of(ctx).sessions)
    except ClaimsError as e:  # ClaimNotFound
        raise refused(e) from None
    except ValueError as e:  # ArchiveDamaged
        raise click.ClickException(str(e)) from None
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"history of {claim_number} written to {out} (from {source})", err=True)


@click.command("replay")
@click.argument("claim_numbers", nargs=-1)
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="a history JSON file (repeat)",
)
@click.option("--query", help="every claim a visibility query finds, e.g. \"ClaimCounty = '宁乡市'\"")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run_async
async def replay(
    ctx: click.Context,
    claim_numbers: tuple[str, ...],
    files: tuple[Path, ...],
    query: str | None,
    as_json: bool,
) -> None:
    """Replay claims against the current workflow code and re-decide them with the current rules.

    Reports per claim: ok, decision_differs (listing each difference), nondeterministic,
    replay_failed, unreadable or not_found; one failure never stops the others. Exit code 1
    when any claim is not ok.
    """
    actor = actor_of(ctx)
    if not (claim_numbers or files or query):
        raise UsageError("give CLAIM_NUMBER(s), --file FILE or --query QUERY")
    try:  # confined to claim workflows, and checked before anything is read
        full = claim_workflows_query(query) if query else ""
    except HistoryError as e:
        raise UsageError(str(e)) from None
    reports: list[ReplayReport] = []
    if files:
        dc = converter_for(settings_of(ctx))  # files are read without a client: the configured codec
        reports += await replay_many(histories_from_files(files, dc), actor, data_converter=dc)
    if claim_numbers or query:
        client = await _client(ctx)
        if claim_numbers:
            reports += await replay_many(
                histories_from_claims(client, claim_numbers), actor, data_converter=client.data_converter
            )
        if query:
            try:
                reports += await replay_many(
                    histories_from_query(client, full), actor, data_converter=client.data_converter
                )
            except HistoryError as e:
                raise UsageError(str(e)) from None
    if as_json:
        click.echo(replay_json(reports))
    else:
        click.echo(format_replay(reports))
    if any(r.outcome != "ok" for r in reports):
        sys.exit(1)


@click.command("archive")
@click.option("--since", help="only claims closed since this instant (ISO 8601, e.g. 2026-01-01T00:00:00Z)")
@click.pass_context
@run_async
async def archive(ctx: click.Context, since: str | None) -> None:
    """Copy the full history (and decision bundle) of every closed claim not yet archived
    into the store, so audits outlive Temporal's retention. The worker does this every 5 minutes."""
    actor = actor_of(ctx)
    closed_since = None
    if since:
        try:
            closed_since = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--since: {since!r} is not an ISO 8601 instant") from None
        if closed_since.tzinfo is None:
            raise UsageError("--since: give a time zone, e.g. 2026-01-01T00:00:00Z or +08:00")
    client = await _client(ctx)
    get_logger("claims.audit.archiver", actor=actor.id, role=actor.role.value).info("archive sweep requested")
    result = await archive_closed_claims(client, services_of(ctx).sessions, closed_since=closed_since)
    for wid, err in result.failed.items():
        click.echo(f"{wid}: {err}", err=True)
    click.echo(f"{result.archived} archived, {result.already} already archived, {len(result.failed)} failed")
    if result.failed:
        sys.exit(1)
