"""``claims user add``, ``list``, ``disable``, ``enable`` and ``password``: the web console's
local accounts.

One job: parse these commands and print their answers (``claims.services.accounts`` holds the
rules). This is the operator's tool: whoever runs it against the store administers the
accounts. A password is read from standard input (``--password-stdin``; hidden and asked
twice on a terminal), never from an argument, and never printed or logged.
"""

from __future__ import annotations

import sys

import click

from claims.cli.common import UsageError, refused, services_of
from claims.cli.render import display_width, ljust
from claims.errors import ClaimsError
from claims.models import Role
from claims.models.bounds import printable
from claims.services import accounts

PERSON_ROLES = [r.value for r in Role if r is not Role.SYSTEM]


@click.group("user")
def user_group() -> None:
    """The web console's accounts (the operator's tool)."""


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        raise UsageError("--password-stdin: give the password on standard input (never as an argument)")
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@user_group.command("add")
@click.argument("user_id", metavar="ID")
@click.option("--role", required=True, type=click.Choice(PERSON_ROLES), help="the account's role")
@click.option("--county", default=None, help="the county the account acts for (its scope)")
@click.option("--village", default=None, help="the village (village secretaries; needs --county)")
@click.option(
    "--password-stdin",
    "password_stdin",
    is_flag=True,
    help=f"read the password (at least {accounts.MIN_PASSWORD} characters) from standard input",
)
@click.pass_context
def user_add(
    ctx: click.Context, user_id: str, role: str, county: str | None, village: str | None, password_stdin: bool
) -> None:
    """Create the console account ID (the staff id recorded on every step it performs).

    Example: ``printf '%s\\n' "$PW" | claims user add handler.ningxiang --role handler
    --county 宁乡市 --password-stdin``.
    """
    password = _read_password(password_stdin)
    try:
        account = accounts.add_user(services_of(ctx), user_id, role, password, county=county, village=village)
    except ClaimsError as e:
        raise refused(e) from None
    scope = " ".join(x for x in (account.county, account.village) if x) or "no scope"
    click.echo(f"account {account.id} added: {account.role.value}, {scope}")


@user_group.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """Every account: id, role, county, village, status (no password hashes)."""
    rows = accounts.list_users(services_of(ctx))
    if not rows:
        click.echo("no accounts; add one with: claims user add ID --role ROLE --password-stdin")
        return
    header = ("id", "role", "county", "village", "status", "created (UTC)")
    table = [
        (
            a.id,
            a.role.value,
            a.county or "-",
            a.village or "-",
            "disabled" if a.disabled else "active",
            a.created_at.strftime("%Y-%m-%d %H:%M"),
        )
        for a in rows
    ]
    widths = [max(display_width(r[i]) for r in (header, *table)) for i in range(len(header))]
    for row in (header, *table):
        click.echo(printable("  ".join(ljust(v, w) for v, w in zip(row, widths, strict=True)).rstrip()))


@user_group.command("disable")
@click.argument("user_id", metavar="ID")
@click.pass_context
def user_disable(ctx: click.Context, user_id: str) -> None:
    """Disable the account ID: no more logins, and its open sessions end at their next request."""
    try:
        account = accounts.disable_user(services_of(ctx), user_id)
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(f"account {account.id} disabled")


@user_group.command("enable")
@click.argument("user_id", metavar="ID")
@click.pass_context
def user_enable(ctx: click.Context, user_id: str) -> None:
    """Enable the account ID again; also clears a lock after failed logins."""
    try:
        account = accounts.enable_user(services_of(ctx), user_id)
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(f"account {account.id} enabled")


@user_group.command("password")
@click.argument("user_id", metavar="ID")
@click.option(
    "--password-stdin", "password_stdin", is_flag=True, help="read the new password from standard input"
)
@click.pass_context
def user_password(ctx: click.Context, user_id: str, password_stdin: bool) -> None:
    """Set a new password for the account ID (read from standard input); its open sessions end
    and a lock after failed logins is cleared."""
    password = _read_password(password_stdin)
    try:
        account = accounts.set_password(services_of(ctx), user_id, password)
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(f"account {account.id}: password changed; its sessions have ended")
