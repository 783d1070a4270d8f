"""Review sampling and fraud referral rules (复核抽检 / 反欺诈) as data, by durable_rules and a pure twin.

A claim that the rules would pay is judged once before payment (stage ``payout``): each rule is
a list of conditions that must all hold on one flat review fact (:data:`REVIEW_FIELDS`, ints and
strings; amounts in fen). A rule names its queue: ``review`` (a second look) or ``siu`` (the
special investigation unit). The claim's queue is ``siu`` when any ``siu`` rule fired, else
``review`` when any rule fired, else none.

Sampling is reproducible: the claim's bucket is ``int(sha256(claim_number)[:8], 16) % 10000``
(:func:`sample_bucket`), so an auditor recomputes who was sampled from the claim number and the
share in the file's version. Thresholds are configuration defaults (``defaults_note``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from claims.models import ReviewQueue, ReviewRequest, ReviewResult
from rules.conditions import Cond
from rules.errors import TermsError, describe_validation_error
from rules.money import TermsYuan

REVIEW_FILE = Path(__file__).resolve().parent / "review.json"
"""The shipped review rules."""

SAMPLE_BUCKETS = 10_000
"""A claim's sample bucket is in ``range(SAMPLE_BUCKETS)``; shares are in basis points."""

REVIEW_FIELDS: dict[str, type] = {
    "sample_bucket": int,  # int(sha256(claim number)[:8], 16) % 10000
    "total_fen": int,  # the decision's total, fen
    "limit_percent": int,  # total as whole percent of the paying policies' sums insured
    "days_since_policy_start": int,  # accident date − the latest start date of the paying policies
    "household_claims_year": int,  # the household's other claims with an accident in the 365 days before
    "outcome": str,  # death / disability / medical / illness
}
"""Fields of the flat review fact and their types."""

_FIRED = "fired:"
_EVALUATED = "review.evaluated"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewConfig(_Model):
    """Thresholds (config defaults; see ``defaults_note`` of the file)."""

    sample_share_bp: int = Field(default=500, ge=0, le=SAMPLE_BUCKETS)
    review_amount_yuan: TermsYuan = Decimal(100000)
    early_claim_days: int = Field(default=30, ge=0)
    repeat_claims: int = Field(default=2, ge=1)
    at_limit_percent: int = Field(default=100, ge=1)

    def flat(self, name: str) -> int:
        """A config value as compared on the flat fact (yuan become fen)."""
        value = getattr(self, name)
        return int(value * 100) if name.endswith("_yuan") else int(value)


class ReviewCondition(_Model):
    """``fact[field] <op> value`` where value is a literal or ``config`` names a threshold."""

    field: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    value: int | str | None = None
    config: str | None = None

    @field_validator("field")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in REVIEW_FIELDS:
            raise ValueError(f"unknown fact field {v!r}; fix: use one of {sorted(REVIEW_FIELDS)}")
        return v

    @model_validator(mode="after")
    def _one_value(self) -> ReviewCondition:
        if (self.value is None) == (self.config is None):
            raise ValueError("give exactly one of value and config; fix: drop one")
        if self.config is not None and self.config not in ReviewConfig.model_fields:
            raise ValueError(
                f"unknown config {self.config!r}; fix: use one of {sorted(ReviewConfig.model_fields)}"
            )
        want = REVIEW_FIELDS[self.field]
        got = int if self.config is not None else type(self.value)
        if got is not want:
            raise ValueError(f"field {self.field} is {want.__name__}; fix: write a {want.__name__}")
        return self


class ReviewRule(_Model):
    """One rule: id (``review.*`` or ``siu.*``), queue, conditions (all hold), reasons with
    ``{field}`` placeholders of the fact and the config."""

    id: str = Field(pattern=r"^(review|siu)\.[a-z0-9_.]+$")
    queue: ReviewQueue
    all: list[ReviewCondition] = Field(min_length=1)
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


class ReviewRules(_Model):
    """The whole ``review.json``."""

    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    defaults: bool
    defaults_note: str = ""
    config: ReviewConfig = ReviewConfig()
    rules: list[ReviewRule]

    @model_validator(mode="after")
    def _unique(self) -> ReviewRules:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule id(s) {dup} used twice; fix: make ids unique")
        return self

    def conds(self, rule: ReviewRule) -> tuple[Cond, ...]:
        """The rule's conditions with config references resolved to ints."""
        return tuple(
            Cond(c.field, c.op, self.config.flat(c.config) if c.config else c.value)  # type: ignore[arg-type]
            for c in rule.all
        )


def load_review(path: str | Path | None = None) -> ReviewRules:
    """Read and validate ``review.json``.

    Raises:
        TermsError: Invalid JSON or schema; the message names the file, field and fix.
    """
    p = Path(path) if path is not None else REVIEW_FILE
    try:
        raw = json.loads(p.read_bytes().decode("utf-8"), parse_float=Decimal)
        return ReviewRules.model_validate(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{p.name}: not valid UTF-8 JSON ({exc}); fix: correct the syntax") from exc
    except ValidationError as exc:
        raise TermsError(describe_validation_error(exc, p.name, raw)) from None


def sample_bucket(claim_number: str) -> int:
    """The claim's sample bucket: ``int(sha256(claim_number utf-8)[:8 hex], 16) % 10000``."""
    digest = hashlib.sha256(claim_number.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % SAMPLE_BUCKETS


def review_fact(req: ReviewRequest, household_claims_year: int) -> dict[str, int | str]:
    """Flatten a review request (and the household's claim count from the store) to ints and strings.

    The paying policies are ``req.paying_policies`` (all of the claim's when empty).
    """
    paying = [p for p in req.policies if not req.paying_policies or p.policy_number in req.paying_policies]
    insured_fen = int(sum((p.sum_insured for p in paying), Decimal(0)) * 100)
    total_fen = int(req.total * 100)
    latest_start = max((p.start_date for p in paying), default=req.accident_date)
    return {
        "sample_bucket": sample_bucket(req.claim_number),
        "total_fen": total_fen,
        "limit_percent": (total_fen * 100) // insured_fen if insured_fen > 0 else 0,
        "days_since_policy_start": (req.accident_date - latest_start).days,
        "household_claims_year": household_claims_year,
        "outcome": req.outcome.value,
    }


def review_result(rules: ReviewRules, fired: set[str], fact: Mapping[str, Any], engine: str) -> ReviewResult:
    """The result from the ids of the rules that fired (file order)."""
    hits = [r for r in rules.rules if r.id in fired]
    queue: ReviewQueue | None = None
    if hits:
        queue = ReviewQueue.SIU if any(r.queue is ReviewQueue.SIU for r in hits) else ReviewQueue.REVIEW
    values = {**fact, **rules.config.model_dump()}
    return ReviewResult(
        queue=queue,
        rule_ids=[r.id for r in hits],
        reasons=[f"{r.reason_zh.format(**values)} / {r.reason_en.format(**values)}" for r in hits],
        rules_version=rules.version,
        engine=engine,
        sample_bucket=int(fact["sample_bucket"]),
        household_claims_year=int(fact["household_claims_year"]),
        days_since_policy_start=int(fact["days_since_policy_start"]),
        limit_percent=int(fact["limit_percent"]),
    )


def review_pure(rules: ReviewRules, req: ReviewRequest, household_claims_year: int) -> ReviewResult:
    """The pure-Python twin: every rule's conditions evaluated with ``Cond.holds``."""
    fact = review_fact(req, household_claims_year)
    fired = {r.id for r in rules.rules if all(c.holds(fact) for c in rules.conds(r))}
    return review_result(rules, fired, fact, "pure")


class ReviewEngine:
    """The review rules compiled into one durable_rules ruleset (``review@<version>``).

    One fact per evaluation in a fresh session, deleted in ``finally`` (as ``rules.engine``);
    a rule every fact matches keeps durable_rules off its "no rule matched" path.
    """

    name = "durable_rules"

    def __init__(self, rules: ReviewRules | None = None) -> None:
        from rules.engine import _CallerThreadHost, _match, ruleset_name

        self.rules = rules if rules is not None else load_review()
        self._lock = threading.Lock()
        self._seq = 0
        self._host = _CallerThreadHost()
        self._name = ruleset_name("review", self.rules.version)

        def flag(rule_id: str) -> Any:
            def run(c: Any) -> None:
                c.s[_FIRED + rule_id] = 1

            return run

        definition: dict[str, Any] = {
            _EVALUATED: {"all": [{"m": Cond("outcome", "ne", "").durable()}], "run": flag(_EVALUATED)}
        }
        for r in self.rules.rules:
            definition[r.id] = {"all": [{"m": _match(self.rules.conds(r))}], "run": flag(r.id)}
        self._host.register_rulesets({self._name: definition})

    def review(self, req: ReviewRequest, household_claims_year: int) -> ReviewResult:
        """Judge the claim; same contract as :func:`review_pure`.

        Raises:
            RuntimeError: durable_rules returned no state, or an action failed.
        """
        from rules.engine import RulesEngineError
        from rules.facts import check_flat

        fact = review_fact(req, household_claims_year)
        check_flat(fact)
        with self._lock:
            self._seq += 1
            sid = str(self._seq)
            try:
                state = self._host.assert_fact(self._name, {"sid": sid, "id": "fact", **fact})
                if state is None or "exception" in state:
                    raise RulesEngineError(f"{self._name}: no state or a failed action ({state})")
                fired = {k[len(_FIRED) :] for k in state if k.startswith(_FIRED)} - {_EVALUATED}
            finally:
                self._host.delete_state(self._name, sid)
        return review_result(self.rules, fired, fact, self.name)
