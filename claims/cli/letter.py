"""``claims letter N --out FILE.pdf``: a declined claim's refusal letter (拒赔通知书, art. 24) as issued.

One job: call ``claims.services.letters.refusal_letter`` and write the PDF (or ``--html``) to
``--out``; print one line with the file, its sha256 and the sha256 the claim recorded.
"""

from __future__ import annotations

from pathlib import Path

import click

from claims.cli.common import UsageError, refused, run_async, services_of, viewer_of
from claims.errors import ClaimsError
from claims.services.letters import refusal_letter


@click.command("letter")
@click.argument("claim_number")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="file to write")
@click.option("--html", "as_html", is_flag=True, help="the printable HTML instead of the PDF")
@click.pass_context
@run_async
async def letter(ctx: click.Context, claim_number: str, out: Path, as_html: bool) -> None:
    """The refusal letter of a declined claim: reasons, clause ids and texts, terms versions,
    date and the appeal route, byte for byte as issued (its sha256 is checked)."""
    try:
        found = await refusal_letter(services_of(ctx), viewer_of(ctx), claim_number)
    except ClaimsError as e:
        raise refused(e) from None
    try:
        out.write_bytes(found.html.encode("utf-8") if as_html else found.pdf)
    except OSError as e:
        raise UsageError(f"--out: cannot write {out}: {e.strerror}") from None
    click.echo(
        f"{out}: refusal letter of {claim_number}, "
        f"issued {found.issued.issued_at.isoformat(timespec='seconds')}; "
        f"sha256 {found.sha256} (recorded {found.issued.sha256})"
    )
