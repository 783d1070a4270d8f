"""``claims doc add|list|get|accept|reject``: a claim's document files at the command line.

One job: parse, call ``claims.services.documents`` in the caller's name and print. Every
command needs an identity (``--actor``/``--role`` or ``CLAIMS_ACTOR``/``CLAIMS_ROLE``): each
upload and download is written to the documents' audit trail with who did it. A refused file
(wrong type by content, too large, empty, damaged) exits 2 naming the file, and nothing of the
batch is kept; a claim outside your scope is "not found" (exit 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from claims.cli.common import UsageError, actor_of, refused, run_async, services_of
from claims.errors import ClaimsError
from claims.infra.blobs import BlobError
from claims.services import documents


@click.group("doc")
def doc_group() -> None:
    """A claim's document files (upload, list, download)."""


@doc_group.command("add")
@click.argument("number")
@click.option("--kind", required=True, help="the checklist item the files are (e.g. death_certificate)")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
def doc_add(ctx: click.Context, number: str, kind: str, files: tuple[Path, ...]) -> None:
    """Upload FILES as the claim's KIND: checked by content (JPEG, PNG, HEIC, PDF), photos
    re-encoded without EXIF/GPS, stored encrypted; prints each document's id and sha256."""
    actor = actor_of(ctx)
    ups = []
    for f in files:
        if f.stat().st_size > documents.files_max_bytes():
            raise UsageError(f"file: {f.name} is larger than {documents.files_max_bytes() // 1048576} MB")
        ups.append(documents.Upload(kind, f.name, f.read_bytes()))
    try:
        rows = documents.upload(services_of(ctx), actor, number, ups)
    except ClaimsError as e:
        raise refused(e) from None
    for r in rows:
        click.echo(
            f"{r.id}  {r.kind}  {r.content_type}  {r.pages}p  {r.size} bytes  sha256 {r.sha256}  {r.filename}"
        )


@doc_group.command("list")
@click.argument("number")
@click.pass_context
def doc_list(ctx: click.Context, number: str) -> None:
    """The claim's documents: id, item, status (uploaded / accepted / rejected and why), type,
    size, sha256, who uploaded when."""
    try:
        rows = documents.list_documents(services_of(ctx), actor_of(ctx), number)
    except ClaimsError as e:
        raise refused(e) from None
    if not rows:
        click.echo(f"{number}: no document files")
    for r in rows:
        why = f" ({r.reason}{': ' + r.note if r.note else ''})" if r.reason else ""
        click.echo(
            f"{r.id}  {r.kind}  {r.status}{why}  {r.content_type}  {r.size} bytes  sha256 {r.sha256}  "
            f"{r.uploaded_by} {r.uploaded_at.isoformat(timespec='seconds')}"
        )


@doc_group.command("get")
@click.argument("number")
@click.argument("document_id")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="file to write"
)
@click.pass_context
def doc_get(ctx: click.Context, number: str, document_id: str, out: Path) -> None:
    """Write a document's file (decrypted, as stored: without EXIF) to --out (mode 0600)."""
    try:
        row, data = documents.open_document(services_of(ctx), actor_of(ctx), number, document_id)
    except ClaimsError as e:
        raise refused(e) from None
    except BlobError as e:
        raise click.ClickException(str(e)) from None
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    click.echo(f"{out}: {row.kind} {row.content_type} {len(data)} bytes sha256 {row.sha256}")


@doc_group.command("accept")
@click.argument("number")
@click.argument("document_id")
@click.option("--note", default=None, help="a note (kept with the decision)")
@click.pass_context
@run_async
async def doc_accept(ctx: click.Context, number: str, document_id: str, note: str | None) -> None:
    """Accept a document (handlers, supervisors): its item is then received on the claim
    through the claim's receive_documents step, which records the file's id and sha256."""
    try:
        row = await documents.accept_and_receive(services_of(ctx), actor_of(ctx), number, document_id, note)
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(f"{row.id}  {row.kind}  accepted by {row.decided_by}")


@doc_group.command("reject")
@click.argument("number")
@click.argument("document_id")
@click.option("--reason", required=True, type=click.Choice(documents.REJECT_REASONS), help="why")
@click.option("--note", default=None, help="what the claimant should do, in words")
@click.pass_context
@run_async
async def doc_reject(ctx: click.Context, number: str, document_id: str, reason: str, note: str | None) -> None:
    """Send a document back (handlers, supervisors): the claim's reject_document step records
    the file and the reason, and its item is missing again (asking for it again is a
    re-request, not a second notice)."""
    try:
        row = await documents.reject_and_return(
            services_of(ctx), actor_of(ctx), number, document_id, reason, note
        )
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(
        f"{row.id}  {row.kind}  rejected ({row.reason}) by {row.decided_by}; the item is missing again"
    )


COMMANDS = (doc_group,)
