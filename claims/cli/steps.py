"""The ``claims step`` command group: one command per entry of the step registry.

One job: turn ``claims step <step> NUMBER [options]`` into the step's typed input and perform
it on the claim through the step service (``claims.services.steps.perform``), printing the claim's new state
(the ``state`` Query after the step; the step's own small result when the Query gets no answer).
Command names come from ``claims.models.STEP_RULES`` (``approve_payout`` → ``approve-payout``);
this module adds only each step's options and help. Exit codes: 1 refused (the claim's
message), 2 bad input, 3 no worker answered in time (the step may still be performed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from pydantic import ValidationError

from claims.cli.common import (
    NoAnswerExit,
    UsageError,
    actor_of,
    fmt_validation,
    run_async,
    services_of,
)
from claims.errors import ClaimsError
from claims.models import (
    STEP_RULES,
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    ClaimState,
    CloseInput,
    CloseReason,
    CompleteDocumentsInput,
    DeclineInput,
    LossFacts,
    Outcome,
    OverrideFindingInput,
    PayAdvanceInput,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    ReferToConsultationInput,
    ReferToSiuInput,
    RegisterInput,
    ReopenInput,
    ReopenReason,
    RequestDocumentsInput,
    RequestInvestigationInput,
    Stage,
    StepInput,
    StepRule,
    WaivedDocument,
    WithdrawInput,
)
from claims.cli.render import print_step_result
from claims.services.client import NoAnswer, UpdateStatus
from claims.services.steps import perform
from claims.services.views import claim_view

PrintState = Callable[[ClaimState, bool], None]
"""How a command prints the claim's new state (``print_state(state, as_json)``)."""

Option = Callable[[Callable[..., Any]], Callable[..., Any]]
"""A ``click.option(...)`` decorator."""

OUTCOMES = [o.value for o in Outcome]


def _waivers(values: tuple[str, ...]) -> list[WaivedDocument]:
    """``--waive DOCUMENT=REASON`` options as waived documents (the model checks the bounds).

    Raises:
        UsageError: a value without ``=``.
    """
    out = []
    for v in values:
        document, sep, reason = v.partition("=")
        if not sep:
            raise UsageError(f"--waive: {v!r} is not DOCUMENT=REASON, e.g. --waive bank_card='paid in cash'")
        out.append(WaivedDocument.model_validate({"document": document.strip(), "reason": reason}))
    return out


def _facts(
    outcome: str,
    cause: str,
    grade: tuple[int, ...],
    circumstance: tuple[str, ...],
    medical: str | None,
    basic_insurance_paid: bool,
    diagnosis: str | None,
    diagnosis_date: str | None,
    hospital_days: int,
    death_date: str | None,
) -> LossFacts:
    """The facts established at adjudication, validated (errors name the field)."""
    return LossFacts.model_validate(
        {
            "outcome": outcome,
            "cause": cause,
            "disability_grades": list(grade),
            "circumstances": list(circumstance),
            "medical_expenses": medical or "0",
            "basic_insurance_paid": basic_insurance_paid,
            "diagnosis_code": diagnosis,
            "diagnosis_date": diagnosis_date,
            "hospital_days": hospital_days,
            "death_date": death_date,
        }
    )


@dataclass(frozen=True)
class StepCommand:
    """A step's command-line part: how its options build the input, its options and help.

    ``build(actor=..., note=..., **options)`` returns the step's input model (a pydantic
    ``ValidationError`` on a bad value, shown with the field, exit 2).
    """

    build: Callable[..., StepInput]
    options: tuple[Option, ...]
    help: str


_REASON = click.option("--reason", required=True)

def _file_from_the_store(actor: Actor, note: str) -> StepInput:
    """``claims step reject-document``: refused, naming the command that does it (the file's
    item and sha256 come from the document store, never from options typed by hand)."""
    raise UsageError("reject-document: use `claims doc reject N DOC_ID --reason R`: it reads the file from the store")


COMMANDS: dict[str, StepCommand] = {
    "register": StepCommand(
        lambda actor, note, assign_to: RegisterInput(actor=actor, note=note, assign_to=assign_to),
        (click.option("--assign-to", default=None, help="handler id (default: you)"),),
        "立案: register the claim and take (or assign) it.",
    ),
    "request_documents": StepCommand(
        lambda actor, note, doc: RequestDocumentsInput(actor=actor, note=note, documents=list(doc)),
        (click.option("--doc", multiple=True, required=True, help="a missing document (repeat)"),),
        "Notify every missing document at once (Insurance Law art. 22).",
    ),
    "receive_documents": StepCommand(
        lambda actor, note, doc: ReceiveDocumentsInput(actor=actor, note=note, documents=list(doc)),
        (click.option("--doc", multiple=True, required=True, help="a received document (repeat)"),),
        "Record documents received.",
    ),
    "reject_document": StepCommand(
        _file_from_the_store,
        (),
        "退回资料: a file is sent back with `claims doc reject N DOC_ID --reason R`, which reads "
        "the file (item, sha256) from the document store, performs this step and marks the file.",
    ),
    "complete_documents": StepCommand(
        lambda actor, note, waive: CompleteDocumentsInput(actor=actor, note=note, waive=_waivers(waive)),
        (
            click.option(
                "--waive",
                multiple=True,
                metavar="DOCUMENT=REASON",
                help="do without a checklist document, with the reason (repeat)",
            ),
        ),
        "资料齐全: documents complete (the claim's checklist received or waived); on to "
        "investigation or adjudication.",
    ),
    "request_investigation": StepCommand(
        lambda actor, note, reason: RequestInvestigationInput(actor=actor, note=note, reason=reason),
        (_REASON,),
        "Ask for an investigation (调查).",
    ),
    "refer_to_consultation": StepCommand(
        lambda actor, note, reason: ReferToConsultationInput(actor=actor, note=note, reason=reason),
        (_REASON,),
        "会商: refer a disputed case to the joint meeting (disputed target, Changde 15 working days).",
    ),
    "record_investigation": StepCommand(
        lambda actor, note, findings, not_covered: RecordInvestigationInput(
            actor=actor, note=note, findings=findings, covered_event=not not_covered
        ),
        (
            click.option("--findings", required=True),
            click.option("--not-covered", is_flag=True, help="the event did not happen as reported"),
        ),
        "Record the investigation's findings.",
    ),
    "adjudicate": StepCommand(
        lambda actor, note, **facts: AdjudicateInput(actor=actor, note=note, facts=_facts(**facts)),
        (
            click.option("--outcome", type=click.Choice(OUTCOMES), required=True),
            click.option("--cause", required=True),
            click.option(
                "--grade", type=int, multiple=True, help="disability grade per injury, 1-10 (repeat)"
            ),
            click.option("--circumstance", multiple=True, help="e.g. drink_driving (repeat)"),
            click.option("--medical", default=None, help="medical expenses, yuan"),
            click.option("--basic-insurance-paid", is_flag=True, help="basic medical insurance paid first"),
            click.option("--diagnosis", default=None, help="ICD-10 code, e.g. C50"),
            click.option("--diagnosis-date", default=None, help="YYYY-MM-DD"),
            click.option("--hospital-days", type=int, default=0, help="days in hospital (hospital cash)"),
            click.option("--death-date", default=None, help="YYYY-MM-DD (death after an accident)"),
        ),
        "核定: establish the facts; the rules decide the amount.",
    ),
    "decline": StepCommand(
        lambda actor, note, reason: DeclineInput(actor=actor, note=note, reasons=list(reason)),
        (click.option("--reason", multiple=True, required=True),),
        "拒赔: decline with reasons (Insurance Law art. 24).",
    ),
    "approve_payout": StepCommand(
        lambda actor, note: ApprovePayoutInput(actor=actor, note=note),
        (),
        "审批: approve a payout above the handlers' authority limit (supervisor).",
    ),
    "refer_to_siu": StepCommand(
        lambda actor, note, reason: ReferToSiuInput(actor=actor, note=note, reason=reason),
        (_REASON,),
        "移送调查: send a claim held for review to investigation (supervisor).",
    ),
    "override_finding": StepCommand(
        lambda actor, note, reason: OverrideFindingInput(actor=actor, note=note, reason=reason),
        (click.option("--reason", required=True, help="why the claim may be paid despite the finding"),),
        "Pay despite an investigator's 'event not as reported' finding (supervisor; reason recorded).",
    ),
    "pay": StepCommand(
        lambda actor, note, transfer_ref: PayInput(actor=actor, note=note, transfer_ref=transfer_ref),
        (click.option("--transfer-ref", required=True, help="bank transfer reference"),),
        "赔付: record the payment and close the claim.",
    ),
    "withdraw": StepCommand(
        lambda actor, note, reason: WithdrawInput(actor=actor, note=note, reason=reason),
        (click.option("--reason", required=True, help="why the claimant withdraws"),),
        "撤案: the claimant withdraws the claim before payment; the clocks stop.",
    ),
    "close": StepCommand(
        lambda actor, note, reason_code: CloseInput(actor=actor, note=note, reason_code=reason_code),
        (
            click.option(
                "--reason-code", required=True, type=click.Choice([c.value for c in CloseReason])
            ),
        ),
        "注销: close a duplicate or mistaken report (supervisor).",
    ),
    "reopen": StepCommand(
        lambda actor, note, reason_code: ReopenInput(actor=actor, note=note, reason_code=reason_code),
        (
            click.option(
                "--reason-code", required=True, type=click.Choice([c.value for c in ReopenReason])
            ),
        ),
        "重开: carry a closed or declined claim back to adjudication within the reopen period (supervisor).",
    ),
    "pay_advance": StepCommand(
        lambda actor, note, amount, transfer_ref: PayAdvanceInput(
            actor=actor, note=note, amount=amount, transfer_ref=transfer_ref
        ),
        (
            click.option("--amount", required=True, help="yuan, at most what can be established"),
            click.option("--transfer-ref", required=True, help="bank transfer reference"),
        ),
        "先予支付: pay in advance what can be established (art. 25, green channel).",
    ),
    "reassign": StepCommand(
        lambda actor, note, handler: ReassignInput(actor=actor, note=note, handler=handler),
        (click.option("--handler", required=True),),
        "Give the claim to another handler (supervisor).",
    ),
}
"""Each step's options and help, by registry name. A step of the registry missing here gets a
command with ``--note`` only (its input built from the actor and the note)."""


def _command_of(rule: StepRule) -> StepCommand:
    """The step's command-line part: its entry in ``COMMANDS``, or actor and note only."""
    found = COMMANDS.get(rule.name)
    if found is not None:
        return found

    def build(actor: Actor, note: str) -> StepInput:
        return rule.input(actor=actor, note=note)

    return StepCommand(build, (), f"{rule.label_zh}: {rule.label_en}.")


def _step_command(rule: StepRule, spec: StepCommand, print_state: PrintState) -> click.Command:
    """The ``claims step <cli name>`` command of one registry entry."""
    name = rule.name

    @click.argument("claim_number")
    @click.option("--note", default="")
    @click.option("--json", "as_json", is_flag=True)
    @click.option(
        "--timeout",
        "timeout_s",
        type=click.FloatRange(0.1, 3600),
        default=60.0,
        show_default=True,
        help="seconds to wait for a worker's answer; then exit code 3 (the step may still be performed)",
    )
    @click.pass_context
    @run_async
    async def command(
        ctx: click.Context, claim_number: str, note: str, as_json: bool, timeout_s: float, **kw: Any
    ) -> None:
        actor = actor_of(ctx)
        try:
            inp = spec.build(actor=actor, note=note, **kw)
        except ValidationError as e:
            raise UsageError(fmt_validation(e)) from None
        try:
            attempt = await perform(
                services_of(ctx), actor, claim_number, inp, timeout=timedelta(seconds=timeout_s)
            )
        except NoAnswer as e:
            raise NoAnswerExit(str(e)) from None
        except ClaimsError as e:  # StepRejected, ClaimNotFound, Unavailable: the message says why
            raise click.ClickException(str(e)) from None
        result = attempt.result
        if attempt.earlier is not UpdateStatus.UNKNOWN:
            click.echo(
                f"{name}: joined an earlier attempt (update {attempt.update_id}); its outcome:", err=True
            )
        # The step answers small (stage, SLA, amounts); the claim as it stands now is the Query.
        state: ClaimState | None = None
        try:
            state = await claim_view(services_of(ctx), actor, claim_number)
        except ClaimsError as e:  # performed; only the read failed (e.g. no worker answered the query)
            click.echo(f"{name}: performed; the claim's whole state could not be read: {e}", err=True)
            print_step_result(result, as_json)
        else:
            print_state(state, as_json)
        if result.needs_handler and result.stage == Stage.ADJUDICATION:
            why = state.decision.needs_handler if state is not None and state.decision is not None else []
            raise click.ClickException(
                f"{name}: the facts cannot be judged: {'; '.join(why) or 'see claims show'}; "
                "correct them and adjudicate again"
            )

    for opt in reversed(spec.options):
        command = opt(command)
    command.__doc__ = spec.help
    return click.command(rule.cli_name, help=spec.help)(command)


def step_group(print_state: PrintState) -> click.Group:
    """The ``claims step`` group: one command per ``STEP_RULES`` entry, in registry order,
    printing each step's resulting state with ``print_state``."""

    @click.group()
    def step() -> None:
        """Perform a handler step on a claim (a workflow Update; rejected with a reason if it does not
        fit)."""

    for rule in STEP_RULES.values():
        step.add_command(_step_command(rule, _command_of(rule), print_state))
    return step
