"""Waiting periods (等待期): the day a claim is judged on, and the refusal text of a claim inside one.

Hospital cash and critical illness pay nothing for an event in the first ``waiting_days`` days
of the policy (the product's terms; config defaults where the seed gives none).
"""

from __future__ import annotations

from datetime import date, timedelta

from claims.models import CoverageRequest, PolicySnapshot
from rules.conditions import Assessment, BenefitRule, Cond, Message


def event_date(req: CoverageRequest) -> date:
    """The day waiting periods are judged on: the diagnosis date, else the accident date."""
    return req.facts.diagnosis_date or req.accident_date


def waiting_reason(what: str, waiting_days: int) -> Message:
    """The refusal of an event inside the waiting period, in Chinese and English.

    Args:
        what: The benefit's Chinese subject, ``确诊`` (critical illness) or ``住院`` (hospital cash).
        waiting_days: The waiting period in calendar days from the policy start (day 1).

    Returns:
        A :data:`rules.conditions.Message`: names the event day, its day number in the
        period, the policy start and the period's last day.
    """

    def reason(req: CoverageRequest, policy: PolicySnapshot) -> str:
        day = event_date(req)
        n = (day - policy.start_date).days + 1
        ends = policy.start_date + timedelta(days=waiting_days - 1)
        return (
            f"{what}：{day}在{waiting_days}天等待期内（保单起期{policy.start_date}，等待期至{ends}） / "
            f"{day} is day {n} of the {waiting_days}-day waiting period from the policy start "
            f"{policy.start_date} (ends {ends}): no {what_en(what)} is paid for it"
        )

    return reason


def waiting_rules(
    clause_id: str, conds: tuple[Cond, ...], what: str, waiting_days: int, summary: str
) -> list[BenefitRule]:
    """The durable_rules refusal ``<clause_id>.waiting_period`` of an event inside the waiting
    period (none when the clause has none): ``conds`` and fewer than ``waiting_days`` days from
    the policy start; its message is :func:`waiting_reason`."""
    if not waiting_days:
        return []
    return [
        BenefitRule(
            f"{clause_id}.waiting_period",
            (*conds, Cond("event_days_from_start", "lt", waiting_days)),
            "refuse",
            message=waiting_reason(what, waiting_days),
            summary=summary,
        )
    ]


def waiting_assessment(
    clause_id: str, what: str, waiting_days: int, req: CoverageRequest, policy: PolicySnapshot
) -> list[Assessment]:
    """The same refusal judged with ``date`` arithmetic: one assessment when the event
    (:func:`event_date`) falls inside the waiting period, else none."""
    if event_date(req) < policy.start_date + timedelta(days=waiting_days):
        msg = waiting_reason(what, waiting_days)(req, policy)
        return [Assessment(f"{clause_id}.waiting_period", "refuse", message=msg)]
    return []


_WHAT_EN = {"确诊": "critical illness benefit", "住院": "hospital cash"}


def what_en(what: str) -> str:
    """English name of a waiting-period subject."""
    return _WHAT_EN.get(what, "benefit")
