"""``claims sla-report``: SLA compliance per county and township for a report period.

One job: parse the period, call ``claims.services.reports.sla_report`` and print it
(``claims.cli.render.sla_report_text``).
"""

from __future__ import annotations

from datetime import date

import click

from claims.cli.common import UsageError, parse_date, services_of, viewer_of
from claims.cli.render import sla_report_text
from claims.domain.workdays import WorkingCalendar
from claims.models.bounds import MAX_DATE, MIN_DATE
from claims.services.reports import sla_report as build_report


def _report_date(value: str, flag: str) -> date:
    """A date of a report period, within the engine's bounds (``claims.models.bounds``)."""
    day = parse_date(value, flag)
    if not MIN_DATE <= day <= MAX_DATE:
        raise UsageError(f"{flag}: {value} is outside {MIN_DATE} .. {MAX_DATE}")
    return day


@click.command("sla-report")
@click.option("--from", "start", required=True, help="first report date, YYYY-MM-DD (Asia/Shanghai)")
@click.option("--to", "end", required=True, help="last report date, YYYY-MM-DD (Asia/Shanghai)")
@click.option("--county", default=None)
@click.pass_context
def sla_report(ctx: click.Context, start: str, end: str, county: str | None) -> None:
    """SLA compliance per county and township for claims reported in a period.

    Columns: claims reported, paid, declined, still open, breached; median working days from
    registration to money paid; % of decided claims (paid or declined) within target.
    """
    first, last = _report_date(start, "--from"), _report_date(end, "--to")
    if last < first:
        raise UsageError("--to is before --from")
    report = build_report(services_of(ctx), viewer_of(ctx), WorkingCalendar(), first, last, county)
    click.echo(sla_report_text(report))
