"""``MonthlyReportWorkflow``: publish each county's monthly report on the month's first working day.

One job: the orchestration of one publication run, started by the Temporal Schedule
``monthly-report`` (``claims.services.publication``) every day of days 1–10 at 09:00
Asia/Shanghai, or by hand for a given month. The workflow is deterministic; the activities
(``activities/reports.py``) do the I/O:

1. ``plan_publication`` decides from the instant the run stands for (the schedule's
   ``TemporalScheduledStartTime``, so a run caught up after an outage decides on the day it
   was due, not the day it ran) whether that day is its month's first working day on the
   official calendar, and lists the counties;
2. ``publish_county_month`` once per county builds, stores (sha256) and announces the previous
   month's files. Same data → same bytes → nothing stored again, nobody notified again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.reports import (
        MonthlyReportInput,
        MonthlyReportResult,
        PlanRequest,
        PublishRequest,
        ReportActivities,
    )

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by Temporal on a workflow a schedule starts: the instant the action was due."""

RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10))


@workflow.defn
class MonthlyReportWorkflow:
    """One publication run (module docstring)."""

    @workflow.run
    async def run(self, inp: MonthlyReportInput) -> MonthlyReportResult:
        scheduled: datetime = (
            inp.scheduled_at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        )
        plan = await workflow.execute_activity_method(
            ReportActivities.plan_publication,
            PlanRequest(scheduled_at=scheduled, counties=inp.counties, month=inp.month),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        if not plan.publish or plan.month is None:
            workflow.logger.info("monthly report: nothing to publish: %s", plan.reason)
            return MonthlyReportResult(plan=plan)
        published = []
        for county in plan.counties:
            published.append(
                await workflow.execute_activity_method(
                    ReportActivities.publish_county_month,
                    PublishRequest(county=county, month=plan.month, workflow_id=workflow.info().workflow_id),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RETRY,
                )
            )
        return MonthlyReportResult(plan=plan, published=published)
