"""Triage data: green channel (绿色通道) and case class, as data in ``rules/triage.json``.

Each rule is a list of conditions that must all hold on one flat triage fact (see
:data:`TRIAGE_FIELDS`). A condition's value is a literal or a reference to a ``config``
entry; config amounts in yuan are compared with ``*_fen`` fields in fen.

Case classes are tried in file order (``case_classes``: investigation, then disputed,
then clear); the first class with a rule that holds is the claim's class, otherwise it is
``ordinary``. The result lists the green-channel rules and the rules of the chosen class
that fired.

Sources: green-channel groups and the case classes are the seed's (the provincial
association's 2022 newsletter); the thresholds (30 calendar days late, 200,000 yuan;
clear: reported within 7 days with a third-party record and at most 20,000 yuan insured)
are configuration defaults, not public figures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from claims.models import CaseClass, TriageRequest, TriageResult
from rules.conditions import Cond
from rules.errors import TermsError, describe_validation_error
from rules.money import TermsYuan

TRIAGE_FILE = Path(__file__).resolve().parent / "triage.json"
"""The shipped triage data."""

TRIAGE_FIELDS: dict[str, type] = {
    "registered_poor": int,  # 0/1, 建档立卡户
    "special_family": int,  # 0/1, 计生特殊家庭 (失独 / 伤残独生子女)
    "hardship": int,  # 0/1, 计生特困家庭
    "nominated": int,  # 0/1, nominated for the green channel by a handler or the association
    "third_party_record": int,  # 0/1, e.g. a traffic-police certificate exists
    "outcome": str,  # death / disability / medical
    "reported_grade": int,  # reported JR/T 0083-2013 grade, 0 when none
    "days_to_report": int,  # calendar days from the accident to the report
    "sum_insured_total_fen": int,  # sum of sum_insured over the policies, fen
    "policy_count": int,
    "disputed": int,  # 0/1, flagged disputed / difficult (疑难) by a handler
}
"""Fields of the flat triage fact and their types (ints and strings only)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriageConfig(_Model):
    """Thresholds (config defaults).

    Attributes:
        late_report_days: A report more than this many calendar days after the accident is late.
        large_amount_yuan: Total sum insured above this (yuan) is a large case.
        clear_report_days: A claim reported within this many days may be ``clear``.
        clear_amount_yuan: A claim whose total sum insured is at most this (yuan) may be ``clear``.
    """

    late_report_days: int = Field(default=30, ge=0)
    large_amount_yuan: TermsYuan = Decimal(200000)
    clear_report_days: int = Field(default=7, ge=0)
    clear_amount_yuan: TermsYuan = Decimal(20000)

    def flat(self, name: str) -> int:
        """A config value as it is compared on the flat fact (yuan become fen)."""
        value = getattr(self, name)
        if name.endswith("_yuan"):
            return int(value * 100)
        return int(value)


class Condition(_Model):
    """``fact[field] <op> value`` where value is a literal or ``config`` names a threshold."""

    field: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    value: int | str | None = None
    config: str | None = None

    @field_validator("field")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in TRIAGE_FIELDS:
            raise ValueError(f"unknown fact field {v!r}; fix: use one of {sorted(TRIAGE_FIELDS)}")
        return v

    @model_validator(mode="after")
    def _one_value(self) -> Condition:
        if (self.value is None) == (self.config is None):
            raise ValueError("give exactly one of value and config; fix: drop one")
        return self


class TriageRule(_Model):
    """One triage rule: an id, conditions (all must hold) and the reason shown to people.

    ``reason_en``/``reason_zh`` may use ``{field}`` placeholders of the fact and config.
    """

    id: str = Field(pattern=r"^(green|class)\.[a-z0-9_.]+$")
    all: list[Condition] = Field(min_length=1)
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


class OrdinaryRule(_Model):
    """The rule that fires when no investigation rule does."""

    id: str = Field(pattern=r"^class\.[a-z0-9_.]+$")
    reason_zh: str
    reason_en: str


class ClassRules(_Model):
    """The rules that put a claim in one case class (any one of them suffices)."""

    case_class: CaseClass
    rules: list[TriageRule] = Field(min_length=1)


class TriageRules(_Model):
    """The whole ``triage.json``: green-channel rules and the case-class rules.

    ``case_classes`` are in precedence order; ``ordinary`` applies when none holds.
    """

    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    defaults: bool
    defaults_note: str = ""
    config: TriageConfig = TriageConfig()
    green_channel: list[TriageRule]
    case_classes: list[ClassRules]
    ordinary: OrdinaryRule

    @property
    def class_rules(self) -> list[TriageRule]:
        """Every case-class rule, in precedence then file order."""
        return [r for c in self.case_classes for r in c.rules]

    @property
    def investigation(self) -> list[TriageRule]:
        """The rules of the ``investigation`` class."""
        return [r for c in self.case_classes if c.case_class is CaseClass.INVESTIGATION for r in c.rules]

    @model_validator(mode="after")
    def _check(self) -> TriageRules:
        ids = [r.id for r in self.green_channel + self.class_rules] + [self.ordinary.id]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"rule id(s) {sorted(dup)} used twice; fix: make ids unique")
        classes = [c.case_class for c in self.case_classes]
        if CaseClass.ORDINARY in classes or len(set(classes)) != len(classes):
            raise ValueError(
                f"case_classes {[c.value for c in classes]}: fix: list each class once, and not "
                "'ordinary' (it is the fallback)"
            )
        for r in self.green_channel + self.class_rules:
            for c in r.all:
                want = TRIAGE_FIELDS[c.field]
                if c.config is not None:
                    if c.config not in TriageConfig.model_fields:
                        raise ValueError(
                            f"{r.id}: unknown config {c.config!r}; "
                            f"fix: use one of {sorted(TriageConfig.model_fields)}"
                        )
                    if c.config.endswith("_yuan") != c.field.endswith("_fen"):
                        raise ValueError(
                            f"{r.id}: config {c.config} compared with {c.field}; "
                            "fix: compare *_yuan config only with *_fen fields"
                        )
                    got: type = int
                else:
                    got = type(c.value)
                if got is not want:
                    raise ValueError(
                        f"{r.id}: field {c.field} is {want.__name__} but the value is "
                        f"{got.__name__}; fix: write a {want.__name__}"
                    )
        return self

    def conds(self, rule: TriageRule) -> tuple[Cond, ...]:
        """The rule's conditions with config references resolved to ints."""
        return tuple(
            Cond(c.field, c.op, self.config.flat(c.config) if c.config else c.value)  # type: ignore[arg-type]
            for c in rule.all
        )

    @property
    def ruleset_name(self) -> str:
        """The durable_rules ruleset name, ``triage@<version>``."""
        return f"triage@{self.version}"


def load_triage(path: str | Path | None = None) -> TriageRules:
    """Read and validate ``triage.json``.

    Raises:
        TermsError: Invalid JSON or schema; the message names the file, field and fix.
    """
    p = Path(path) if path is not None else TRIAGE_FILE
    data = p.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8"), parse_float=Decimal)
        return TriageRules.model_validate(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{p.name}: not valid UTF-8 JSON ({exc}); fix: correct the syntax") from exc
    except ValidationError as exc:
        raise TermsError(describe_validation_error(exc, p.name, raw)) from None


def triage_fact(req: TriageRequest) -> dict[str, int | str]:
    """Flatten a triage request to ints (days, fen, 0/1) and strings.

    Returns:
        A dict with exactly the keys of :data:`TRIAGE_FIELDS`.
    """
    total = sum((p.sum_insured for p in req.policies), Decimal(0))
    return {
        "registered_poor": int(req.household.registered_poor),
        "special_family": int(req.household.special_family),
        "hardship": int(req.household.hardship),
        "nominated": int(req.nominated_green_channel),
        "third_party_record": int(req.third_party_record),
        "outcome": req.reported_outcome.value,
        "reported_grade": req.reported_disability_grade or 0,
        "days_to_report": (req.reported_on - req.accident_date).days,
        "sum_insured_total_fen": int(total * 100),
        "policy_count": len(req.policies),
        "disputed": int(req.disputed),
    }


def triage_result(rules: TriageRules, fired: set[str], fact: Mapping[str, Any]) -> TriageResult:
    """Build the :class:`TriageResult` from the ids of the rules that fired.

    The case class is the first of ``rules.case_classes`` with a rule that fired, else
    ordinary. Rule ids and reasons: the green-channel rules that fired, then the fired
    rules of the chosen class (or the ordinary rule), in file order.

    Raises:
        RuntimeError: The ordinary rule fired together with a class rule, or neither fired.
    """
    chosen: ClassRules | None = next(
        (c for c in rules.case_classes if any(r.id in fired for r in c.rules)), None
    )
    if (chosen is None) != (rules.ordinary.id in fired):
        raise RuntimeError(f"triage rules gave an inconsistent case class (fired: {sorted(fired)})")
    ordered: list[TriageRule | OrdinaryRule] = [
        *rules.green_channel,
        *(chosen.rules if chosen is not None else [rules.ordinary]),
    ]
    hits = [r for r in ordered if r.id in fired]
    green = any(r.id in fired for r in rules.green_channel)
    case_class = chosen.case_class if chosen is not None else CaseClass.ORDINARY
    values = {**fact, **rules.config.model_dump()}
    return TriageResult(
        green_channel=green,
        case_class=case_class,
        needs_investigation=case_class is CaseClass.INVESTIGATION,
        rule_ids=[r.id for r in hits],
        reasons=[f"{r.reason_zh.format(**values)} / {r.reason_en.format(**values)}" for r in hits],
    )
