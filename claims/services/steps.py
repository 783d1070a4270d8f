"""Steps on a claim: a person performs a typed step (register, adjudicate, pay, ...).

One job: check that the step's input is filed by the caller and hand it to the claim's
workflow idempotently (``claims.services.client.attempt_step``: a retry of the same step is
performed once). The workflow's validator decides whether the step fits the stage, the role,
the assignment and the caller's scope (``claims.models.STEP_RULES``); its refusal arrives as
``claims.errors.StepRejected`` with a code.
"""

from __future__ import annotations

from datetime import timedelta

from claims.errors import NotAllowed, StepRejected
from claims.models import Actor, PayInput, RejectionCode, StepInput
from claims.services.client import StepAttempt, attempt_step
from claims.services.context import Services
from claims.store import batches

DEFAULT_TIMEOUT = timedelta(seconds=60)
"""How long a step waits for a worker's answer unless told (``claims step --timeout``)."""


async def perform(
    services: Services,
    actor: Actor,
    claim_number: str,
    inp: StepInput,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> StepAttempt:
    """Perform the step whose input ``inp`` is, as ``actor``.

    Returns:
        The step's small result (``claims.models.StepResult``: stage, SLA, amounts; the whole
        state is ``claims.services.views.claim_view``), the Update id used, and what the
        server knew of that id before (an attempt that attached to an earlier one gets its
        outcome).

    Raises:
        claims.errors.NotAllowed: the input names another actor than the caller (a step is
            recorded in the name of who performs it).
        claims.errors.StepRejected: the claim refused the step (``code`` says why), or a
            ``pay`` of a claim that is in an open payout batch (``payout.in_batch``: it is paid
            with the batch).
        claims.errors.ClaimNotFound: no such claim.
        claims.services.client.NoAnswer: no worker answered within ``timeout``; the step may
            still be performed (a retry attaches to it).
        claims.errors.Unavailable: Temporal does not answer.
    """
    if inp.actor != actor:
        raise NotAllowed(
            f"a step is recorded in the name of who performs it: the input names {inp.actor.id} "
            f"({inp.actor.role.value}) but you are {actor.id} ({actor.role.value})",
            code="actor.mismatch",
            params={"actor": actor.id},
        )
    if isinstance(inp, PayInput) and inp.batch_id is None:
        with services.sessions() as session:
            batch = batches.open_batches_of(session, [claim_number]).get(claim_number)
        if batch is not None:
            # paid on its own, the claim would stay on the batch's signed sheet, refused there
            # and keeping the batch open for good: it is paid with its batch (or after the
            # batch is cancelled)
            raise StepRejected(
                "pay",
                f"pay: claim {claim_number} is in open payout batch {batch}: it is paid with the "
                "batch (claims payout-batch pay), or the batch is cancelled first",
                code=RejectionCode.PAYOUT_IN_BATCH.value,
                params={"batch": batch},
            )
    client = await services.client()
    return await attempt_step(client, claim_number, inp, timeout=timeout)
