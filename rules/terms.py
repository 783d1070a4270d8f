"""Product terms: one JSON file per product version, validated and loaded into a catalogue.

A terms file lives in ``rules/terms/<product_code>@<version>.json``. Its *terms version*
string is ``"<product_code>@<version>"`` and equals ``PolicySnapshot.terms_version``: a
policy is judged by the version in force when it was issued.

Benefits are a discriminated union on ``kind``. A new kind (``accident_medical``,
``hospital_cash``, ``critical_illness`` ...) is one new subclass of :class:`BenefitBase`
decorated with :func:`benefit_kind`; it brings its schema, the durable_rules rules it
compiles to (:meth:`BenefitBase.rules`) and its pure-Python assessment
(:meth:`BenefitBase.assess`). Neither engine needs to change.

Sources: sums insured and the death benefits are the seed's figures (the provincial
association's 2022 newsletter); disability ratios and the several-injuries rule are
JR/T 0083-2013 (人身保险伤残评定标准); the two-year limitation is Insurance Law art. 26.
Values that are configuration defaults are listed in each file's ``config_defaults``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from claims.models import CoverageRequest, Outcome, PolicySnapshot, Sex

TERMS_DIR = Path(__file__).resolve().parent / "terms"
"""Where the shipped terms files live."""

CENT = Decimal("0.01")

# Clause ids the engines use for policy-level checks; a terms file may not reuse them.
RESERVED_CLAUSES = frozenset(
    {
        "policy.period",
        "eligibility.age",
        "eligibility.sex",
        "limitation.time_barred",
        "benefit.not_covered",
    }
)


class TermsError(ValueError):
    """A terms file (or the catalogue as a whole) is invalid.

    The message names the file, the clause or field at fault, and the fix.
    """


class UnknownTermsVersion(KeyError):
    """``Catalogue.get`` was asked for a terms version that no file defines."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else "unknown terms version"


# --------------------------------------------------------------------------- value types


def _to_decimal(v: Any, what: str) -> Decimal:
    if isinstance(v, bool):
        raise TypeError(f"{what} must be a number, not a boolean")
    if isinstance(v, float):
        # repr gives the shortest decimal that round-trips: 0.1 -> "0.1", not 0.1000000000000000055
        v = repr(v)
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"{what} {v!r} is not a number") from None
    elif isinstance(v, Decimal):
        d = v
    else:
        raise TypeError(f"{what} must be a JSON string or integer, got {type(v).__name__}")
    if not d.is_finite():
        raise ValueError(f"{what} must be finite")
    return d


def _yuan(v: Any) -> Decimal:
    d = _to_decimal(v, "an amount in yuan")
    if d != d.quantize(CENT):
        raise ValueError(
            f"amount {v} has more than two decimals; fix: write yuan exact to the fen, "
            'as a string such as "40000.00" or an integer'
        )
    if d < 0:
        raise ValueError(f"amount {v} is negative; fix: amounts are zero or more yuan")
    return d.quantize(CENT)


def _ratio(v: Any) -> Decimal:
    d = _to_decimal(v, "a ratio")
    if d != d.quantize(Decimal("0.0001")):
        raise ValueError(f'ratio {v} has more than four decimals; fix: use e.g. "0.90"')
    if not Decimal(0) < d <= Decimal(1):
        raise ValueError(f"ratio {v} is outside (0, 1]; fix: 1.00 means 100% of the sum insured")
    return d


TermsYuan = Annotated[Decimal, BeforeValidator(_yuan)]
"""Yuan in a terms file: a JSON string or integer (or a float with at most two decimals)."""

Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
"""A fraction of the sum insured, 0 < ratio <= 1, at most four decimals."""

ClauseId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]


class _TermsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- rule specs


OPS: dict[str, str] = {
    "eq": "",
    "ne": "$neq",
    "lt": "$lt",
    "le": "$lte",
    "gt": "$gt",
    "ge": "$gte",
}
"""Comparison operators of a single-fact condition, and their durable_rules spelling."""


@dataclass(frozen=True)
class Cond:
    """One comparison on a flat fact: ``fact[field] <op> value``.

    ``value`` is an ``int`` (fen, days, years, counts, 0/1 flags) or a ``str`` code; the
    fact's field must have the same type (durable_rules silently mis-compares a string
    with a number).
    """

    field: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    value: int | str

    def holds(self, fact: Mapping[str, int | str]) -> bool:
        """Evaluate the comparison in Python (the pure evaluator's path)."""
        left = fact[self.field]
        if type(left) is not type(self.value):
            raise TypeError(f"condition on {self.field!r} compares {left!r} with {self.value!r}")
        match self.op:
            case "eq":
                return left == self.value
            case "ne":
                return left != self.value
            case "lt":
                return left < self.value  # type: ignore[operator]
            case "le":
                return left <= self.value  # type: ignore[operator]
            case "gt":
                return left > self.value  # type: ignore[operator]
            case "ge":
                return left >= self.value  # type: ignore[operator]
        raise AssertionError(self.op)

    def durable(self) -> dict[str, Any]:
        """The durable_rules JSON form of the comparison."""
        if self.op == "eq":
            return {self.field: self.value}
        return {OPS[self.op]: {self.field: self.value}}


@dataclass(frozen=True)
class BenefitRule:
    """One durable_rules rule a benefit compiles to (all conditions on one flat fact).

    Attributes:
        rule_id: Unique within the ruleset, e.g. ``benefit.accidental_disability.grade_3``.
        when: Conditions that must all hold on the flat coverage fact.
        effect: ``"pay"`` (a benefit line) or ``"needs_handler"`` (facts cannot be judged).
        amount_fen: For ``pay``: computes the amount in fen from the flat fact (ints only).
        label: For ``pay``: the part of the formula text in parentheses.
        ratio: For ``pay``: the ratio shown in the formula (fraction of the sum insured).
        message: For ``needs_handler``: the reason shown to the handler, built from the request.
    """

    rule_id: str
    when: tuple[Cond, ...]
    effect: Literal["pay", "needs_handler"]
    amount_fen: Callable[[Mapping[str, Any]], int] | None = None
    label: str = ""
    ratio: Decimal | None = None
    message: Callable[[CoverageRequest], str] | None = None


@dataclass(frozen=True)
class Assessment:
    """What one benefit rule gives, as computed by the pure evaluator.

    ``amount_fen`` and ``ratio``/``label`` are set for ``pay``; ``message`` for
    ``needs_handler``.
    """

    rule_id: str
    effect: Literal["pay", "needs_handler"]
    amount_fen: int = 0
    ratio: Decimal | None = None
    label: str = ""
    message: str = ""


def ratio_fen(sum_fen: int, ratio: Decimal) -> int:
    """``sum_fen × ratio`` in integer fen, half-up, via integer basis points.

    Args:
        sum_fen: Sum insured in fen.
        ratio: Fraction of the sum insured with at most four decimals.

    Returns:
        The amount in fen, rounded half up to the fen.
    """
    bp = int(ratio * 10000)
    return (sum_fen * bp + 5000) // 10000


def share_of_sum_insured(ratio: Decimal) -> Callable[[Mapping[str, Any]], int]:
    """An ``amount_fen`` function: ``ratio`` of the flat fact's ``sum_fen``, in fen."""

    def amount(fact: Mapping[str, Any]) -> int:
        return ratio_fen(int(fact["sum_fen"]), ratio)

    return amount


# --------------------------------------------------------------------------- benefits

BENEFIT_KINDS: dict[str, type[BenefitBase]] = {}
"""Registered benefit kinds, ``kind`` -> class, in registration order."""


def benefit_kind(cls: type[BenefitBase]) -> type[BenefitBase]:
    """Class decorator registering a benefit kind in the ``benefits`` union."""
    kind = cls.model_fields["kind"].default
    BENEFIT_KINDS[kind] = cls
    return cls


class BenefitBase(_TermsModel):
    """Common fields of every benefit: a clause id, names and the kind discriminator."""

    kind: str
    id: ClauseId
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)

    answers: ClassVar[frozenset[Outcome]] = frozenset()

    def rules(self, terms: Terms) -> list[BenefitRule]:  # pragma: no cover - abstract
        """The durable_rules rules of this benefit, over the flat coverage fact."""
        raise NotImplementedError

    def assess(
        self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot
    ) -> list[Assessment]:  # pragma: no cover - abstract
        """Pure-Python assessment of the same clause: what the rules must also give."""
        raise NotImplementedError


@benefit_kind
class AccidentalDeath(BenefitBase):
    """Accidental death (意外身故): pays the sum insured.

    Source: the seed's products (family accident 40,000 / 45,000; hardship comprehensive
    100,000; elderly accident 32,000 yuan).
    """

    kind: Literal["accidental_death"] = "accidental_death"
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.DEATH})

    def rules(self, terms: Terms) -> list[BenefitRule]:
        """One rule: ``outcome == "death"`` pays 100% of the sum insured."""
        return [
            BenefitRule(
                rule_id=f"{self.id}.pays",
                when=(Cond("outcome", "eq", Outcome.DEATH.value),),
                effect="pay",
                amount_fen=share_of_sum_insured(Decimal(1)),
                ratio=Decimal(1),
                label="accidental death",
            )
        ]

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """Death pays the sum insured, in fen."""
        if req.facts.outcome is not Outcome.DEATH:
            return []
        fen = int((policy.sum_insured * 100).to_integral_value())
        return [Assessment(f"{self.id}.pays", "pay", fen, Decimal(1), "accidental death")]


@benefit_kind
class AccidentalDisability(BenefitBase):
    """Accidental disability (意外伤残): sum insured × the grade's ratio.

    Several injuries (JR/T 0083-2013): the most severe grade counts; two or more injuries
    of that same most severe grade raise the result by one grade at most, never above
    grade 1. A grade outside 1..10, or no grade at all, cannot be judged and goes to a
    handler.
    """

    kind: Literal["accidental_disability"] = "accidental_disability"
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.DISABILITY})

    @staticmethod
    def _no_grades(req: CoverageRequest) -> str:
        return "disability outcome with no grade: record one JR/T 0083-2013 grade (1-10) per injury"

    @staticmethod
    def _bad_grades(req: CoverageRequest) -> str:
        bad = [g for g in req.facts.disability_grades if not 1 <= g <= 10]
        return (
            f"disability grade(s) {bad} outside 1-10 (JR/T 0083-2013): "
            "check the assessment and record grades 1 (most severe) to 10"
        )

    @staticmethod
    def _raised_label(grade: int) -> str:
        return f"grade {grade - 1}, raised from several grade-{grade} injuries"

    def rules(self, terms: Terms) -> list[BenefitRule]:
        """Rules: no grade / bad grade -> handler; grade g alone, or g raised one grade."""
        dis = Cond("outcome", "eq", Outcome.DISABILITY.value)
        out = [
            BenefitRule(
                f"{self.id}.no_grades",
                (dis, Cond("grade_count", "eq", 0)),
                "needs_handler",
                message=self._no_grades,
            ),
            BenefitRule(
                f"{self.id}.invalid_grade",
                (dis, Cond("grade_invalid_count", "gt", 0)),
                "needs_handler",
                message=self._bad_grades,
            ),
        ]
        table = terms.disability_ratios
        for g in range(1, 11):
            base = (dis, Cond("grade_invalid_count", "eq", 0), Cond("grade_min", "eq", g))
            single = base if g == 1 else base + (Cond("grade_min_count", "eq", 1),)
            r = table[g]
            out.append(
                BenefitRule(
                    f"{self.id}.grade_{g}",
                    single,
                    "pay",
                    amount_fen=share_of_sum_insured(r),
                    ratio=r,
                    label=f"grade {g}",
                )
            )
            if g > 1:
                r2 = table[g - 1]
                out.append(
                    BenefitRule(
                        f"{self.id}.grade_{g}.raised",
                        base + (Cond("grade_min_count", "ge", 2),),
                        "pay",
                        amount_fen=share_of_sum_insured(r2),
                        ratio=r2,
                        label=self._raised_label(g),
                    )
                )
        return out

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The JR/T 0083-2013 several-injuries rule, computed with ``Decimal``."""
        if req.facts.outcome is not Outcome.DISABILITY:
            return []
        grades = req.facts.disability_grades
        if not grades:
            return [Assessment(f"{self.id}.no_grades", "needs_handler", message=self._no_grades(req))]
        if any(not 1 <= g <= 10 for g in grades):
            return [Assessment(f"{self.id}.invalid_grade", "needs_handler", message=self._bad_grades(req))]
        worst = min(grades)
        if grades.count(worst) >= 2 and worst > 1:
            grade, rid, label = (
                worst - 1,
                f"{self.id}.grade_{worst}.raised",
                self._raised_label(worst),
            )
        else:
            grade, rid, label = worst, f"{self.id}.grade_{worst}", f"grade {worst}"
        ratio = terms.disability_ratios[grade]
        amount = (policy.sum_insured * ratio).quantize(CENT, rounding=ROUND_HALF_UP)
        return [Assessment(rid, "pay", int(amount * 100), ratio, label)]


def _benefit_union() -> Any:
    classes = tuple(BENEFIT_KINDS.values())
    union = classes[0] if len(classes) == 1 else Union[classes]  # noqa: UP007
    return Annotated[union, Field(discriminator="kind")]


if TYPE_CHECKING:
    Benefit = BenefitBase
else:
    Benefit = _benefit_union()
    """Any registered benefit kind, discriminated by ``kind``."""


# --------------------------------------------------------------------------- terms


JRT_0083_RATIOS: dict[int, Decimal] = {g: Decimal(11 - g) / 10 for g in range(1, 11)}
"""JR/T 0083-2013 default ratios: grade 1 = 1.00, 2 = 0.90 ... 10 = 0.10."""


class Eligibility(_TermsModel):
    """Who may be insured: age at the accident, in whole years, inclusive; optional sex."""

    min_age: int = Field(ge=0, le=120)
    max_age: int = Field(ge=0, le=120)
    sex: Sex | None = None

    @model_validator(mode="after")
    def _order(self) -> Eligibility:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}; fix: swap them")
        return self


class Exclusion(_TermsModel):
    """An exclusion clause (责任免除): a circumstance code that refuses the whole policy.

    ``circumstance`` is matched against ``LossFacts.circumstances`` (e.g. ``drink_driving``).
    """

    id: ClauseId
    circumstance: Code
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


class Terms(_TermsModel):
    """One product version's terms, as stored in ``rules/terms/<product>@<version>.json``.

    Attributes:
        product_code: e.g. ``family_accident``.
        version: e.g. ``2020``; ``terms_version`` is ``"<product_code>@<version>"``.
        name_zh: Chinese product name. name_en: English product name.
        effective_from: First issue date (inclusive) this version is in force for.
        effective_to: Last issue date (inclusive).
        defaults: True when some values are configuration defaults, not from the seed.
        defaults_note: Where the defaults come from (required when ``defaults``).
        config_defaults: Names of the top-level fields whose values are config defaults.
        eligibility: Insurable ages (years at the accident) and sex.
        sum_insured_options: Sums insured (yuan per insured person) the product sells.
        claim_limitation_years: Years after the accident a claim may be made (Insurance
            Law art. 26: 2 years for non-life insurance).
        exclusions: Exclusion clauses.
        disability_ratios: Grade 1..10 -> ratio; strictly decreasing (JR/T 0083-2013).
        benefits: Benefit clauses, a union discriminated by ``kind``.
    """

    product_code: Code
    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=32)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    effective_from: date
    effective_to: date
    defaults: bool
    defaults_note: str = ""
    config_defaults: list[str] = Field(default_factory=list)
    eligibility: Eligibility
    sum_insured_options: list[TermsYuan] = Field(min_length=1)
    claim_limitation_years: int = Field(default=2, ge=1, le=10)
    exclusions: list[Exclusion] = Field(default_factory=list)
    disability_ratios: dict[int, Ratio] = Field(default_factory=lambda: dict(JRT_0083_RATIOS))
    benefits: list[Benefit] = Field(min_length=1)  # type: ignore[valid-type]

    @property
    def terms_version(self) -> str:
        """``"<product_code>@<version>"``, as in ``PolicySnapshot.terms_version``."""
        return f"{self.product_code}@{self.version}"

    @field_validator("sum_insured_options")
    @classmethod
    def _options(cls, v: list[Decimal]) -> list[Decimal]:
        if len(set(v)) != len(v):
            raise ValueError("a sum insured is listed twice; fix: list each option once")
        if any(x <= 0 for x in v):
            raise ValueError("a sum insured is zero; fix: list positive amounts in yuan")
        return v

    @field_validator("disability_ratios")
    @classmethod
    def _table(cls, v: dict[int, Decimal]) -> dict[int, Decimal]:
        if sorted(v) != list(range(1, 11)):
            raise ValueError(f"grades {sorted(v)} given; fix: give exactly grades 1 to 10 (JR/T 0083-2013)")
        for g in range(2, 11):
            if not v[g] < v[g - 1]:
                raise ValueError(
                    f"grade {g} ratio {v[g]} is not below grade {g - 1} ratio {v[g - 1]}; "
                    "fix: ratios must fall strictly from grade 1 (most severe) to grade 10"
                )
        return {g: v[g] for g in range(1, 11)}

    @model_validator(mode="after")
    def _whole(self) -> Terms:
        if self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to {self.effective_to} is before effective_from "
                f"{self.effective_from}; fix: swap the dates"
            )
        if self.defaults and not self.defaults_note.strip():
            raise ValueError("defaults is true but defaults_note is empty; fix: say what is config")
        if self.config_defaults and not self.defaults:
            raise ValueError("config_defaults listed but defaults is false; fix: set defaults true")
        unknown = set(self.config_defaults) - set(type(self).model_fields)
        if unknown:
            raise ValueError(
                f"config_defaults names unknown field(s) {sorted(unknown)}; "
                "fix: list top-level field names only"
            )
        seen: dict[str, str] = {}
        for where, cid in [("exclusions", e.id) for e in self.exclusions] + [
            ("benefits", b.id) for b in self.benefits
        ]:
            if cid in RESERVED_CLAUSES:
                raise ValueError(f"clause id {cid!r} in {where} is reserved for the engine; fix: rename it")
            if cid in seen:
                raise ValueError(
                    f"clause id {cid!r} is used in {seen[cid]} and again in {where}; "
                    "fix: give every clause a unique id"
                )
            seen[cid] = where
        circs = [e.circumstance for e in self.exclusions]
        dup = {c for c in circs if circs.count(c) > 1}
        if dup:
            raise ValueError(
                f"circumstance(s) {sorted(dup)} excluded twice; fix: one exclusion per circumstance"
            )
        return self

    def benefits_for(self, outcome: Outcome) -> list[BenefitBase]:
        """Benefits that answer ``outcome``, in file order."""
        return [b for b in self.benefits if outcome in b.answers]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedTerms:
    """A validated terms file: the terms, where they came from and the sha256 of its bytes."""

    terms: Terms
    path: Path
    sha256: str

    @property
    def terms_version(self) -> str:
        """``"<product_code>@<version>"``."""
        return self.terms.terms_version


_FIXES = {
    "missing": "add the field",
    "extra_forbidden": "remove the field or correct its spelling",
    "union_tag_invalid": f"use one of the benefit kinds {list(BENEFIT_KINDS)}",
    "union_tag_not_found": 'add a "kind" field to the benefit',
    "string_pattern_mismatch": "use lower-case letters, digits, '_' (and '.' in clause ids)",
}


def _describe(exc: ValidationError, name: str, raw: Any) -> str:
    parts = []
    for err in exc.errors():
        loc_parts: list[str] = []
        for i, p in enumerate(err["loc"]):
            loc_parts.append(f"[{p}]" if isinstance(p, int) else ("" if i == 0 else ".") + str(p))
        loc = "".join(loc_parts) or "(file)"
        # name the clause when the error sits inside a list of clauses
        clause = ""
        if len(err["loc"]) >= 2 and isinstance(err["loc"][1], int) and isinstance(raw, dict):
            items = raw.get(str(err["loc"][0]))
            if isinstance(items, list) and err["loc"][1] < len(items):
                item = items[err["loc"][1]]
                if isinstance(item, dict) and "id" in item:
                    clause = f" (clause {item['id']!r})"
        msg = str(err["msg"]).removeprefix("Value error, ")
        fix = "" if "fix:" in msg else f"; fix: {_FIXES.get(err['type'], 'correct the value')}"
        parts.append(f"{name}: {loc}{clause}: {msg}{fix}")
    return "\n".join(parts)


def load_terms_file(path: str | Path) -> LoadedTerms:
    """Read and validate one terms file.

    Args:
        path: A ``<product_code>@<version>.json`` file.

    Returns:
        The validated terms with the sha256 (hex) of the file's bytes.

    Raises:
        TermsError: The file is not JSON, fails the schema, or its name does not match its
            ``product_code@version``. The message names the file, the field and the fix.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{p.name}: not valid UTF-8 JSON ({exc}); fix: correct the syntax") from exc
    try:
        terms = Terms.model_validate(raw)
    except ValidationError as exc:
        raise TermsError(_describe(exc, p.name, raw)) from None
    if p.stem != terms.terms_version:
        raise TermsError(
            f"{p.name}: file defines {terms.terms_version!r}; "
            f"fix: rename the file to {terms.terms_version}.json"
        )
    return LoadedTerms(terms=terms, path=p, sha256=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Catalogue:
    """Every terms version known to the engine, by terms version string."""

    entries: Mapping[str, LoadedTerms] = field(default_factory=dict)

    def get(self, terms_version: str) -> LoadedTerms:
        """The terms for ``terms_version`` (``"<product_code>@<version>"``).

        Raises:
            UnknownTermsVersion: No file defines that version.
        """
        try:
            return self.entries[terms_version]
        except KeyError:
            raise UnknownTermsVersion(
                f"unknown terms version {terms_version!r}; known: {sorted(self.entries)}"
            ) from None

    def __contains__(self, terms_version: object) -> bool:
        return terms_version in self.entries

    def __iter__(self) -> Iterator[LoadedTerms]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def in_force(self, product_code: str, issued_on: date) -> LoadedTerms | None:
        """The version of ``product_code`` in force on ``issued_on``, or None."""
        for e in self.entries.values():
            t = e.terms
            if t.product_code == product_code and t.effective_from <= issued_on <= t.effective_to:
                return e
        return None


def load_catalogue(directory: str | Path | None = None) -> Catalogue:
    """Load and validate every ``*.json`` terms file in ``directory``.

    Args:
        directory: Defaults to the shipped ``rules/terms/``.

    Returns:
        A :class:`Catalogue` keyed by terms version.

    Raises:
        TermsError: A file is invalid, two files define the same terms version, or two
            versions of one product have overlapping effective ranges (both files named).
    """
    d = Path(directory) if directory is not None else TERMS_DIR
    if not d.is_dir():
        raise TermsError(f"{d}: no such terms directory; fix: pass the folder of terms files")
    loaded = [load_terms_file(p) for p in sorted(d.glob("*.json"))]
    entries: dict[str, LoadedTerms] = {}
    for e in loaded:
        if e.terms_version in entries:
            raise TermsError(
                f"{e.path.name} and {entries[e.terms_version].path.name} both define "
                f"{e.terms_version}; fix: remove one"
            )
        entries[e.terms_version] = e
    by_product: dict[str, list[LoadedTerms]] = {}
    for e in loaded:
        by_product.setdefault(e.terms.product_code, []).append(e)
    for versions in by_product.values():
        versions.sort(key=lambda e: e.terms.effective_from)
        for a, b in itertools.pairwise(versions):
            if b.terms.effective_from <= a.terms.effective_to:
                raise TermsError(
                    f"{a.path.name} (effective {a.terms.effective_from}..{a.terms.effective_to}) "
                    f"overlaps {b.path.name} (from {b.terms.effective_from}); "
                    f"fix: end {a.path.name} before {b.terms.effective_from}"
                )
    return Catalogue(entries=entries)
