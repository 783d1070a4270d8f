"""The ``claims`` command line, assembled: the global options and every command group.

Identity: ``--actor``/``--role`` (or ``CLAIMS_ACTOR``/``CLAIMS_ROLE``) name the person at the
keyboard; it is recorded on every step. Temporal: ``TEMPORAL_ADDRESS`` for a cluster, else
the embedded dev server (``claims up`` starts it with a worker). The commands live in
``claims/cli/`` (one module per group); this module only puts them together.
"""

from __future__ import annotations

import os
import sys

import click

from claims.cli import audit, calendar, claim, loss_ratio, monthly, publication, register, reports, system, terms, users, web
from claims.cli.documents import doc_group
from claims.cli.batches import batch_group
from claims.cli.letter import letter
from claims.cli.common import UsageError, refuse_engine_role
from claims.cli.render import print_state
from claims.cli.steps import step_group
from claims.errors import InputError
from claims.infra.logging import configure_logging
from claims.infra.settings import get_settings
from claims.models import Role
from worker import production_worker, run_worker


@click.group()
@click.option("--actor", help="your staff id (or CLAIMS_ACTOR)")
@click.option("--role", help="your role: " + ", ".join(r.value for r in Role) + " (or CLAIMS_ROLE)")
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
@click.pass_context
def cli(ctx: click.Context, actor: str | None, role: str | None, log_format: str | None) -> None:
    """Claims workflow engine for family-planning household insurance (计生保险理赔)."""
    try:
        settings = get_settings()
    except InputError as e:  # a malformed variable (CLAIMS_ROLE=king) names itself, exit 2
        raise UsageError(str(e)) from None
    configure_logging(log_format or settings.log.format, settings.log.level)
    refuse_engine_role(role or settings.actor.role)
    ctx.obj = {"settings": settings, "actor": actor, "role": role}


for command in (
    *claim.COMMANDS,
    register.register,
    step_group(print_state),
    calendar.calendar_group,
    reports.sla_report,
    monthly.monthly,
    loss_ratio.loss_ratio,
    *publication.COMMANDS,
    terms.terms,
    *(audit.audit, audit.history, audit.replay, audit.archive),
    *system.system_commands(run_worker, production_worker),
    users.user_group,
    doc_group,
    batch_group,
    letter,
    web.web,
):
    cli.add_command(command)


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
