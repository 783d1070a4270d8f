"""``claims register load``: the policy register (households, insured persons, policies).

One job: parse the command, call ``claims.services.register`` and print what was loaded, the
encoding when it was not plain UTF-8, and the age warnings (on stderr).
"""

from __future__ import annotations

from pathlib import Path

import click

from claims.cli.common import UsageError, encoding_option, services_of, viewer_of
from claims.services import register as register_service
from claims.services.register import RegisterRefused


@click.group()
def register() -> None:
    """The policy register."""


@register.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@encoding_option("the file")
@click.pass_context
def register_load(ctx: click.Context, file: Path, encoding: str | None) -> None:
    """Load households, insured persons and policies from a register FILE (JSON).

    The file may be UTF-8 (with or without a byte-order mark) or GB18030/GBK, detected or
    named with --encoding; the encoding used is printed when it is not plain UTF-8.
    """
    try:
        data, how = register_service.read_register(file.read_bytes(), encoding)
        if how != "UTF-8":
            click.echo(f"{file}: JSON, {how}")
        loaded = register_service.load(services_of(ctx), viewer_of(ctx), data)
    except RegisterRefused as e:
        raise UsageError(f"{file}: {e.message}") from None
    click.echo(
        f"loaded {loaded.households} households, {loaded.persons} insured persons, {loaded.policies} policies"
    )
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
