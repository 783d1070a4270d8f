"""``claims loss-ratio``: the loss ratio (赔付率) by county, product and policy year.

One job: parse the filters, call ``claims.services.loss_ratio.loss_ratio`` and print its table
(earned premium, paid, 赔付率, claims, claim frequency per 1,000 insured, average paid).
"""

from __future__ import annotations

from decimal import Decimal

import click

from claims.cli.common import parse_date, refused, services_of, viewer_of
from claims.cli.render import display_width, ljust
from claims.errors import ClaimsError
from claims.services.loss_ratio import LossRatioLine, LossRatioReport
from claims.services.loss_ratio import loss_ratio as build_loss_ratio

HEADERS = (
    "county",
    "product",
    "year",
    "policies",
    "insured",
    "earned premium",
    "paid",
    "loss ratio",
    "claims",
    "paid claims",
    "per 1,000",
    "average paid",
)


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _cells(line: LossRatioLine) -> list[str]:
    return [
        line.county,
        line.product,
        "all" if line.year is None else str(line.year),
        str(line.policies),
        str(line.insured),
        _money(line.earned_premium),
        _money(line.paid),
        "-" if line.loss_ratio is None else f"{line.loss_ratio}%",
        str(line.claims),
        str(line.paid_claims),
        "-" if line.frequency is None else str(line.frequency),
        _money(line.average_paid),
    ]


def loss_ratio_text(report: LossRatioReport) -> str:
    """The report as a text table: one line per group, then the total line."""
    rows = [_cells(line) for line in report.lines] + [_cells(report.total)]
    widths = [max(display_width(h), *(display_width(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    numeric = set(range(3, len(HEADERS)))

    def fmt(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else ljust(c, w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [f"loss ratio (赔付率) as of {report.as_of.isoformat()}: paid / earned premium", fmt(HEADERS)]
    out.append("  ".join("-" * w for w in widths))
    out.extend(fmt(r) for r in rows)
    return "\n".join(out)


@click.command("loss-ratio")
@click.option("--county", default=None, help="one county (a scoped reader sees only theirs)")
@click.option("--product", default=None, help="one product code, e.g. family_accident")
@click.option("--year", type=int, default=None, help="policy year (the year policies start), YYYY")
@click.option(
    "--as-of", "as_of", default=None, help="premium earned to this date, YYYY-MM-DD (default today)"
)
@click.pass_context
def loss_ratio(
    ctx: click.Context, county: str | None, product: str | None, year: int | None, as_of: str | None
) -> None:
    """Loss ratio (赔付率 = paid / earned premium) by county, product and policy year, with
    claim frequency (claims per 1,000 insured) and average paid; premiums from the register."""
    day = parse_date(as_of, "--as-of") if as_of else None
    try:
        report = build_loss_ratio(services_of(ctx), viewer_of(ctx), county, product, year, day)
    except ClaimsError as e:
        raise refused(e) from None
    if not report.lines:
        click.echo(
            "no policies on the register" + (" for these filters" if county or product or year else "")
        )
        return
    click.echo(loss_ratio_text(report))
