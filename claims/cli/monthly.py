"""``claims monthly``: the monthly claims report by township (理赔明细) written to a file.

One job: parse the options, call ``claims.services.monthly.monthly_file`` and write the bytes
to ``--out``; print one line with the file, its rows, its total and the ledger's total.
(``claims report`` stays the claim report, 报案.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from claims.cli.common import UsageError, refused, services_of, viewer_of
from claims.errors import ClaimsError
from claims.services.monthly import monthly_file, parse_edition, parse_format


@click.command("monthly")
@click.option("--county", required=True, help="the county (县/市/区), e.g. 宁乡市")
@click.option("--month", required=True, help="the month of payment dates, YYYY-MM (Asia/Shanghai)")
@click.option(
    "--edition",
    default="township",
    type=click.Choice(["township", "internal"]),
    show_default=True,
    help="township: names masked (张*); internal: full names (supervisors only)",
)
@click.option(
    "--format", "fmt", default="xlsx", type=click.Choice(["xlsx", "csv", "pdf", "html"]), show_default=True
)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="file to write"
)
@click.pass_context
def monthly(ctx: click.Context, county: str, month: str, edition: str, fmt: str, out: Path) -> None:
    """The monthly claims report (理赔明细) of a county: one row per payout, township subtotals
    and the total; sheets of the month's declined and open claims and a summary by township.

    For supervisors and auditors (CLAIMS_ACTOR/CLAIMS_ROLE, scoped by CLAIMS_COUNTY); the
    internal edition (full names) for supervisors only. The same data gives the same bytes.
    """
    try:
        built = monthly_file(
            services_of(ctx), viewer_of(ctx), county, month, parse_format(fmt), parse_edition(edition)
        )
    except ClaimsError as e:
        raise refused(e) from None
    try:
        out.write_bytes(built.content)
    except OSError as e:
        raise UsageError(f"--out: cannot write {out}: {e.strerror}") from None
    r = built.report
    click.echo(
        f"{out}: {r.county} {r.month} {r.edition.value}, "
        f"{r.total.payouts} payouts of {r.total.claims} claims, "
        f"{r.total.amount:,.2f} yuan (ledger {r.ledger_total:,.2f}); "
        f"{len(r.others)} declined or open; sha256 {hashlib.sha256(built.content).hexdigest()}"
    )
