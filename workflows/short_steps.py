"""Short pure steps (calendar arithmetic, rules look-ups) run as local activities.

A claim computes ~10 deadlines and asks the rules four times; each is a pure function of its
input and the data files, done in well under a millisecond. As ordinary activities each costs
a round trip through the server (scheduled / started / completed events and a workflow task);
as local activities they run in the worker inside the workflow task and leave one marker
event each in the history, with the result. The throughput benchmark measured the change
(README, "Performance").

Histories recorded before this change scheduled them as ordinary activities; the
``local-short-steps`` patch keeps those histories replaying (``workflow.patched``). Store
writes, the payout, coverage evaluation (its request is kept in the history for auditors'
replay, and a local activity's marker records only its result) and the archive stay
ordinary activities.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.patches import patched

LOCAL_STEPS_PATCH = "local-short-steps"
"""The ``workflow.patched`` id: claims started before it run these steps as ordinary activities."""

R = TypeVar("R")


async def short_step(
    method: Callable[[Any, Any], R], arg: Any, *, timeout: timedelta, retry: RetryPolicy
) -> R:
    """Run ``method(arg)`` as a local activity (new claims) or an ordinary one (older histories).

    Args:
        method: an ``@activity.defn`` method of an activities class registered on the worker.
        arg: its single argument (a pydantic model).
        timeout: start-to-close timeout of one attempt.
        retry: the retry policy; a local activity whose back-off exceeds the worker's local
            retry threshold (1 minute) waits on a durable timer, as an ordinary one would.

    Raises:
        temporalio.exceptions.ActivityError: the activity failed for good (wrapping its
        ``ApplicationError``), exactly as ``workflow.execute_activity_method`` raises it.
    """
    if patched(LOCAL_STEPS_PATCH):
        return await workflow.execute_local_activity_method(
            method, arg, start_to_close_timeout=timeout, retry_policy=retry
        )
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=timeout, retry_policy=retry
    )
