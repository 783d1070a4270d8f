"""The floor: a bare workflow with the claim's Temporal shape and no business logic.

:class:`FloorWorkflow` schedules the same number of activities, accepts the same number of
Updates, upserts search attributes as often and re-arms a timer after the same steps as one
claim of ``ClaimWorkflow``, ordinary and local activities alike (the numbers come from a
recorded claim history, see ``bench.common.shape_of``); its activity does nothing. What the
engine runs slower than this is the cost of the claim's own code: rules, calendar, store,
payload size, logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

FLOOR_STAGE = SearchAttributeKey.for_keyword("ClaimStage")
NOOP_TIMEOUT = timedelta(seconds=30)
NOOP_RETRY = RetryPolicy(maximum_attempts=5)


@dataclass
class FloorPlan:
    """How many activities, upserts and timer re-arms at each point of the claim's life.

    Attributes:
        open_activities: before the first step (the claim's triage, target, first deadline, projection).
        open_local: local activities before the first step (the claim's short steps).
        open_upserts: upserts before the first step.
        step_activities: per Update, in the order the driver sends them.
        step_local: per Update: local activities.
        step_upserts: per Update.
        step_timers: per Update: 1 if the run loop re-arms its timer afterwards, else 0.
        close_activities: after the last step (the claim's decision archive).
        close_local: local activities after the last step.
    """

    open_activities: int = 0
    open_upserts: int = 0
    step_activities: list[int] = field(default_factory=list)
    step_upserts: list[int] = field(default_factory=list)
    step_timers: list[int] = field(default_factory=list)
    close_activities: int = 0
    open_local: int = 0
    step_local: list[int] = field(default_factory=list)
    close_local: int = 0


@activity.defn(name="floor_noop")
def floor_noop(n: int) -> int:
    """The trivial activity: returns its input."""
    return n


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    """Opens, takes ``len(plan.step_activities)`` Updates (``step``, in order), closes."""

    @workflow.init
    def __init__(self, plan: FloorPlan) -> None:
        self._plan = plan
        self._opened = False
        self._busy = False
        self._done = 0
        self._changes = 0

    @workflow.run
    async def run(self, plan: FloorPlan) -> int:
        """Open (activities, upserts), then keep one timer armed until every step was taken."""
        await self._activities(plan.open_activities)
        await self._local(plan.open_local)
        for _ in range(plan.open_upserts):
            workflow.upsert_search_attributes([FLOOR_STAGE.value_set("open")])
        self._opened = True
        while self._done < len(plan.step_activities):
            seen = self._changes
            try:
                await workflow.wait_condition(
                    lambda seen=seen: self._changes != seen or self._done >= len(plan.step_activities),
                    timeout=timedelta(days=1),
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._activities(plan.close_activities)
        await self._local(plan.close_local)
        return self._done

    @workflow.update
    async def step(self, index: int) -> int:
        """Step ``index``: its activities and upserts, nothing else."""
        self._busy = True
        try:
            await self._activities(self._plan.step_activities[index])
            if index < len(self._plan.step_local):
                await self._local(self._plan.step_local[index])
            for _ in range(self._plan.step_upserts[index]):
                workflow.upsert_search_attributes([FLOOR_STAGE.value_set(f"step{index}")])
            self._done += 1
            if index < len(self._plan.step_timers) and self._plan.step_timers[index]:
                self._changes += 1
            return self._done
        finally:
            self._busy = False

    @step.validator
    def _validate_step(self, index: int) -> None:
        if not self._opened:
            raise ApplicationError(
                "still being opened", {"code": "claim.opening"}, type="StepRejected", non_retryable=True
            )
        if self._busy or index != self._done:
            raise ApplicationError(f"step {index} does not fit", type="StepRejected", non_retryable=True)

    async def _activities(self, n: int) -> None:
        for i in range(n):
            await workflow.execute_activity(
                floor_noop, i, start_to_close_timeout=NOOP_TIMEOUT, retry_policy=NOOP_RETRY
            )

    async def _local(self, n: int) -> None:
        for i in range(n):
            await workflow.execute_local_activity(
                floor_noop, i, start_to_close_timeout=NOOP_TIMEOUT, retry_policy=NOOP_RETRY
            )
