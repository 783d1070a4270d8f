"""The ``claims step`` command group: one command per handler step of the claim workflow.

One job: turn ``claims step <step> NUMBER [options]`` into a typed step input and perform it
on the claim (``claims.services.client.attempt_step``), printing the claim's new state.
Exit codes: 1 refused, 2 bad input, 3 no worker answered in time (the step may still be
performed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from pydantic import BaseModel, ValidationError

from claims.cli.common import NoAnswerExit, UsageError, actor_of, client_for, fmt_validation, run_async, settings_of
from claims.models import (
    AdjudicateInput,
    ClaimState,
    CompleteDocumentsInput,
    DeclineInput,
    InvestigationRequestInput,
    InvestigationResultInput,
    LossFacts,
    Outcome,
    OverrideFindingInput,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Stage,
    StepInput,
    WaivedDocument,
)
from claims.services.client import NoAnswer, StepError, UnknownClaim, UpdateStatus, attempt_step

PrintState = Callable[[ClaimState, bool], None]
"""How a command prints the claim's new state (``print_state(state, as_json)``)."""


def step_group(print_state: PrintState) -> click.Group:
    """The ``claims step`` group, printing each step's resulting state with ``print_state``."""

    @click.group()
    def step() -> None:
        """Perform a handler step on a claim (a workflow Update; rejected with a reason if it does not fit)."""

    def _step_command(
        name: str, build: Callable[..., BaseModel], *options: Callable[[Any], Any], help_text: str
    ) -> None:
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
            try:
                inp = build(actor=actor_of(ctx), note=note, **kw)
            except ValidationError as e:
                raise UsageError(fmt_validation(e)) from None
            client = await client_for(settings_of(ctx))
            try:
                attempt = await attempt_step(client, claim_number, name, inp, timedelta(seconds=timeout_s))
            except NoAnswer as e:
                raise NoAnswerExit(str(e)) from None
            except (StepError, UnknownClaim) as e:
                raise click.ClickException(str(e)) from None
            state = attempt.state
            if isinstance(inp, PayInput) and inp.transfer_ref not in {p.transfer_ref for p in state.payments}:
                # The attempt attached to an earlier pay of this claim (same update id): say so.
                refs = ", ".join(sorted({p.transfer_ref for p in state.payments})) or "-"
                raise click.ClickException(
                    f"pay: claim {claim_number} was already paid by an earlier attempt "
                    f"(update {attempt.update_id}) with transfer ref {refs}; "
                    f"transfer ref {inp.transfer_ref} was not used"
                )
            if attempt.earlier is not UpdateStatus.UNKNOWN:
                click.echo(
                    f"{name}: joined an earlier attempt (update {attempt.update_id}); its outcome:", err=True
                )
            print_state(state, as_json)
            if state.decision is not None and state.decision.needs_handler and state.stage == Stage.ADJUDICATION:
                raise click.ClickException(
                    f"{name}: the facts cannot be judged: {'; '.join(state.decision.needs_handler)}; "
                    "correct them and adjudicate again"
                )

        for opt in reversed(options):
            command = opt(command)
        command.__doc__ = help_text
        step.command(name.replace("_", "-"), help=help_text)(command)


    OUTCOMES = [o.value for o in Outcome]


    def _waivers(values: tuple[str, ...]) -> list[WaivedDocument]:
        """``--waive DOCUMENT=REASON`` options as waived documents (the model checks the bounds)."""
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


    _step_command(
        "register",
        lambda actor, note, assign_to: RegisterInput(actor=actor, note=note, assign_to=assign_to),
        click.option("--assign-to", default=None, help="handler id (default: you)"),
        help_text="立案: register the claim and take (or assign) it.",
    )
    _step_command(
        "request_documents",
        lambda actor, note, doc: RequestDocumentsInput(actor=actor, note=note, documents=list(doc)),
        click.option("--doc", multiple=True, required=True, help="a missing document (repeat)"),
        help_text="Notify every missing document at once (Insurance Law art. 22).",
    )
    _step_command(
        "receive_documents",
        lambda actor, note, doc: ReceiveDocumentsInput(actor=actor, note=note, documents=list(doc)),
        click.option("--doc", multiple=True, required=True, help="a received document (repeat)"),
        help_text="Record documents received.",
    )
    _step_command(
        "complete_documents",
        lambda actor, note, waive: CompleteDocumentsInput(actor=actor, note=note, waive=_waivers(waive)),
        click.option(
            "--waive",
            multiple=True,
            metavar="DOCUMENT=REASON",
            help="do without a checklist document, with the reason (repeat)",
        ),
        help_text="资料齐全: documents complete (the claim's checklist received or waived); on to "
        "investigation or adjudication.",
    )
    _step_command(
        "request_investigation",
        lambda actor, note, reason: InvestigationRequestInput(actor=actor, note=note, reason=reason),
        click.option("--reason", required=True),
        help_text="Ask for an investigation (调查).",
    )
    _step_command(
        "refer_to_consultation",
        lambda actor, note, reason: InvestigationRequestInput(actor=actor, note=note, reason=reason),
        click.option("--reason", required=True),
        help_text="会商: refer a disputed case to the joint meeting (disputed target, Changde 15 working days).",
    )
    _step_command(
        "record_investigation",
        lambda actor, note, findings, not_covered: InvestigationResultInput(
            actor=actor, note=note, findings=findings, covered_event=not not_covered
        ),
        click.option("--findings", required=True),
        click.option("--not-covered", is_flag=True, help="the event did not happen as reported"),
        help_text="Record the investigation's findings.",
    )
    _step_command(
        "adjudicate",
        lambda actor, note, **facts: AdjudicateInput(actor=actor, note=note, facts=_facts(**facts)),
        click.option("--outcome", type=click.Choice(OUTCOMES), required=True),
        click.option("--cause", required=True),
        click.option("--grade", type=int, multiple=True, help="disability grade per injury, 1-10 (repeat)"),
        click.option("--circumstance", multiple=True, help="e.g. drink_driving (repeat)"),
        click.option("--medical", default=None, help="medical expenses, yuan"),
        click.option("--basic-insurance-paid", is_flag=True, help="basic medical insurance paid first"),
        click.option("--diagnosis", default=None, help="ICD-10 code, e.g. C50"),
        click.option("--diagnosis-date", default=None, help="YYYY-MM-DD"),
        click.option("--hospital-days", type=int, default=0, help="days in hospital (hospital cash)"),
        click.option("--death-date", default=None, help="YYYY-MM-DD (death after an accident)"),
        help_text="核定: establish the facts; the rules decide the amount.",
    )
    _step_command(
        "decline",
        lambda actor, note, reason: DeclineInput(actor=actor, note=note, reasons=list(reason)),
        click.option("--reason", multiple=True, required=True),
        help_text="拒赔: decline with reasons (Insurance Law art. 24).",
    )
    _step_command(
        "approve_payout",
        lambda actor, note: StepInput(actor=actor, note=note),
        help_text="审批: approve a payout above the handlers' authority limit (supervisor).",
    )
    _step_command(
        "override_finding",
        lambda actor, note, reason: OverrideFindingInput(actor=actor, note=note, reason=reason),
        click.option("--reason", required=True, help="why the claim may be paid despite the finding"),
        help_text="Pay despite an investigator's 'event not as reported' finding (supervisor; reason recorded).",
    )
    _step_command(
        "pay",
        lambda actor, note, transfer_ref: PayInput(actor=actor, note=note, transfer_ref=transfer_ref),
        click.option("--transfer-ref", required=True, help="bank transfer reference"),
        help_text="赔付: record the payment and close the claim.",
    )
    _step_command(
        "reassign",
        lambda actor, note, handler: ReassignInput(actor=actor, note=note, handler=handler),
        click.option("--handler", required=True),
        help_text="Give the claim to another handler (supervisor).",
    )

    return step
