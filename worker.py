"""The claim worker: connects, registers the claim workflow and its activities, runs until SIGTERM.

Run it with ``claims worker`` (or ``python worker.py``). With no ``TEMPORAL_ADDRESS`` it
uses the embedded dev server, starting it if nothing listens on the embedded port.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from activities.archive import ArchiveActivities
from activities.deadlines import CalendarActivities
from activities.letters import LetterActivities
from activities.reports import ReportActivities
from activities.review import ReviewActivities
from activities.rules import RulesActivities
from activities.store import StoreActivities
from claims.audit.archiver import run_archiver
from claims.domain.payments import PaymentSink
from claims.domain.workdays import CalendarSource, calendar_dir
from claims.errors import InputError
from claims.infra.logging import configure_logging, get_logger
from claims.infra.runtime import tune_gc
from claims.infra.settings import Settings, get_settings
from claims.infra.temporal import connect, embedded_mode, start_embedded_server
from claims.models import TASK_QUEUE
from claims.store.db import Sessions, make_engine, make_sessionmaker, upgrade_database
from rules.sla import SlaPolicy, load_sla_policy
from workflows.claim import ClaimWorkflow
from workflows.reports import MonthlyReportWorkflow
from workflows.sandbox import workflow_runner

ACTIVITY_THREADS = 16
"""Threads for the synchronous activities (store, rules, calendar)."""


def build_worker(
    client: Client,
    sessions: Sessions,
    task_queue: str = TASK_QUEUE,
    rules_engine: Any = None,
    calendar: Any = None,
    executor: ThreadPoolExecutor | None = None,
    payment_sink: PaymentSink | None = None,
    interceptors: Sequence[Interceptor] = (),
    sla_policy: SlaPolicy | None = None,
    review_engine: Any = None,
    **worker_options: Any,
) -> Worker:
    """A worker for the claim workflow with the store, rules and calendar activities.

    Args:
        client: a client with the pydantic data converter.
        sessions: the store's session factory (``claims.store.db.Sessions``).
        rules_engine: default ``rules.engine.RulesEngine.shared()`` (one per process).
        calendar: a fixed ``WorkingCalendar``; default a ``CalendarSource`` on the settings'
            calendar folder (``CLAIMS_CALENDAR_DIR`` or ``data/calendar``),
            which picks up schedules loaded with ``claims calendar load`` without a restart.
        payment_sink: sends each payout's transfer instruction once (``claims/domain/payments.py``).
        interceptors: worker interceptors (tests use one to inject faults).
        sla_policy: the SLA policy (targets and payout authority limits); default the
            settings' ``sla.policy_file`` (``CLAIMS_SLA_POLICY``) or ``rules/sla_policy.json``.
        review_engine: the review sampling and referral rules (``rules.review.ReviewEngine`` on
            ``rules/review.json``); default None: no review rules in force, nothing is held.
        worker_options: further ``temporalio.worker.Worker`` options (e.g.
            ``max_cached_workflows``, ``max_concurrent_workflow_tasks``); they override the
            defaults here (``bench/`` tunes them this way). The default ``workflow_runner`` is
            ``workflows.sandbox.workflow_runner()``: the SDK's sandbox with the project's
            deterministic modules passed through and the workflow modules compiled once.
    """
    if rules_engine is None:
        from rules.engine import RulesEngine

        rules_engine = RulesEngine.shared()
    settings = get_settings()
    rules = RulesActivities(rules_engine, sla_policy or load_sla_policy(settings.sla.policy_file))
    if calendar is None:
        calendar = CalendarSource(calendar_dir(settings.calendar.folder))
    cal = CalendarActivities(calendar)
    store = StoreActivities(sessions, payment_sink)
    archive = ArchiveActivities(sessions)
    review = ReviewActivities(sessions, review_engine)
    letters = LetterActivities()
    reports = ReportActivities(sessions, calendar)
    runner = worker_options.pop("workflow_runner", None) or workflow_runner()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ClaimWorkflow, MonthlyReportWorkflow],
        activities=[
            rules.triage_claim,
            rules.choose_sla_target,
            rules.evaluate_coverage,
            cal.compute_deadline,
            cal.compute_statutory_deadline,
            cal.count_working_days,
            store.project_claim,
            store.record_payout,
            store.record_advance,
            store.record_receivable,
            store.cancel_receivables,
            store.escalate_breach,
            store.send_notice,
            store.find_prior_benefits,
            store.reserve_benefits,
            rules.document_checklist,
            archive.archive_decision,
            review.review_claim,
            letters.issue_refusal_letter,
            reports.plan_publication,
            reports.publish_county_month,
        ],
        activity_executor=executor or ThreadPoolExecutor(max_workers=ACTIVITY_THREADS),
        workflow_runner=runner,
        **{
            "max_concurrent_activities": ACTIVITY_THREADS,
            "interceptors": interceptors,
            **worker_options,
        },
    )


_REVIEW_ENGINE: Any = None


def shipped_review_engine() -> Any:
    """The review sampling and referral rules in force (``rules/review.json``), built once per
    process (``rules.review.ReviewEngine``)."""
    global _REVIEW_ENGINE
    if _REVIEW_ENGINE is None:
        from rules.review import ReviewEngine

        _REVIEW_ENGINE = ReviewEngine()
    return _REVIEW_ENGINE


def production_worker(client: Client, sessions: Sessions, **options: Any) -> Worker:
    """``build_worker`` with the review rules in force (``claims worker``, ``claims up``, the demo):
    a claim the rules hit is held before payment until a supervisor clears or refers it."""
    return build_worker(client, sessions, review_engine=shipped_review_engine(), **options)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, headless: bool = False) -> None:
    """Run a worker until ``stop`` is set or SIGTERM/SIGINT arrives, then shut down cleanly.

    With no ``TEMPORAL_ADDRESS`` it starts the embedded server (``headless``: without web UI).
    """
    log = get_logger("claims.worker")
    url = settings.store.sqlalchemy_url()
    upgrade_database(url)
    server = start_embedded_server(settings, headless=headless) if embedded_mode(settings) else None
    engine = make_engine(url)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        client = await connect(settings, server.address if server else None)
        sessions = make_sessionmaker(engine)
        worker = production_worker(client, sessions)
        tune_gc()  # start-up's objects frozen, fewer young collections (claims/infra/runtime.py)
        async with worker:
            # Keeps each closed claim's history in the store before retention deletes it.
            archiver = asyncio.create_task(run_archiver(client, sessions, stop), name="claims-archiver")
            log.info(
                "worker started",
                task_queue=TASK_QUEUE,
                temporal=server.address if server else settings.temporal.address,
                web_ui=server.ui_url if server and not headless else None,
            )
            await stop.wait()
            log.info("worker stopping")
            await archiver
    finally:
        engine.dispose()
        if server:
            server.stop()


def main() -> None:
    """Entry point of ``python worker.py``."""
    try:
        settings = get_settings()
    except InputError as e:  # a malformed variable names itself
        raise SystemExit(f"error: {e}") from None
    configure_logging(settings.log.format, settings.log.level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
