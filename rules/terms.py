"""Product terms: one JSON file per product version, validated and loaded into a catalogue.

A terms file lives in ``rules/terms/<product_code>@<version>.json``. Its *terms version*
string is ``"<product_code>@<version>"`` and equals ``PolicySnapshot.terms_version``: a
policy is judged by the version in force when it was issued.

This module holds the product-level clauses (:class:`Terms`: eligibility, exclusions,
disability ratios, sums insured, limitation) and the loading (:func:`load_terms_file`,
:func:`load_catalogue`). The benefit clauses are a discriminated union on ``kind``, one
module per kind in :mod:`rules.benefits`; money helpers are in :mod:`rules.money`, conditions
and rule specs in :mod:`rules.conditions`, the errors in :mod:`rules.errors`.

Sources: sums insured and the death benefits are the seed's figures (the provincial
association's 2022 newsletter); disability ratios and the several-injuries rule are
JR/T 0083-2013 (人身保险伤残评定标准); the two-year limitation is Insurance Law art. 26.
Values that are configuration defaults are listed in each file's ``config_defaults``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator, model_validator

from claims.models import Outcome, Sex
from rules.benefits import BENEFIT_KINDS, Benefit, BenefitBase
from rules.conditions import BenefitRule
from rules.errors import RULE_FILE_FIXES, TermsError, UnknownTermsVersion, describe_validation_error
from rules.money import Ratio, TermsYuan
from rules.schema import ClauseId, Code, TermsModel

__all__ = [  # the loading API, and the names callers have always imported from here
    "TERMS_DIR",
    "BenefitRule",
    "Catalogue",
    "Eligibility",
    "Exclusion",
    "LoadedTerms",
    "Terms",
    "TermsError",
    "UnknownTermsVersion",
    "load_catalogue",
    "load_standard_exclusions",
    "load_terms_file",
]

TERMS_DIR = Path(__file__).resolve().parent / "terms"
"""Where the shipped terms files live."""


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


JRT_0083_RATIOS: dict[int, Decimal] = {g: Decimal(11 - g) / 10 for g in range(1, 11)}
"""JR/T 0083-2013 default ratios: grade 1 = 1.00, 2 = 0.90 ... 10 = 0.10."""


class Eligibility(TermsModel):
    """Who may be insured: age in whole years, inclusive; optional sex.

    ``age_basis`` says on which day the age is judged: ``at_issue`` (投保年龄, the age when
    the policy was issued: the public terms of the accident and elderly plans) or
    ``at_accident`` (default, the age on the day of the accident).
    """

    min_age: int = Field(ge=0, le=120)
    max_age: int = Field(ge=0, le=120)
    sex: Sex | None = None
    age_basis: Literal["at_issue", "at_accident"] = "at_accident"

    @model_validator(mode="after")
    def _order(self) -> Eligibility:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}; fix: swap them")
        return self


class Exclusion(TermsModel):
    """An exclusion clause (责任免除): a circumstance code that refuses the whole policy.

    ``circumstance`` is matched against ``LossFacts.circumstances`` (e.g. ``drink_driving``).
    """

    id: ClauseId
    circumstance: Code
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


EXCLUSIONS_FILE = Path(__file__).resolve().parent / "exclusions.json"
"""The standard exclusion clauses a terms file may name by id."""


def load_standard_exclusions(path: str | Path | None = None) -> dict[str, Exclusion]:
    """The standard exclusion clauses, by id (``rules/exclusions.json``).

    Raises:
        TermsError: The file is invalid (named with the fix).
    """
    p = Path(path) if path is not None else EXCLUSIONS_FILE
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        items = [Exclusion.model_validate(x) for x in raw["exclusions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise TermsError(f"{p.name}: invalid standard exclusions ({exc}); fix: correct the file") from None
    return {x.id: x for x in items}


def _resolve_exclusions(v: Any, info: ValidationInfo) -> Any:
    """Replace exclusion ids (strings) by the standard clauses they name."""
    if not isinstance(v, list) or not any(isinstance(x, str) for x in v):
        return v
    library: dict[str, Exclusion] = (info.context or {}).get("exclusions") or load_standard_exclusions()
    out = []
    for x in v:
        if isinstance(x, str):
            if x not in library:
                raise ValueError(
                    f"unknown exclusion id {x!r}; fix: use one of {sorted(library)} "
                    "(rules/exclusions.json) or write the clause out with id, circumstance and reasons"
                )
            out.append(library[x])
        else:
            out.append(x)
    return out


class Terms(TermsModel):
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
        exclusions: Exclusion clauses, written out or named by id from
            ``rules/exclusions.json``.
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
    exclusions: Annotated[list[Exclusion], BeforeValidator(_resolve_exclusions)] = Field(default_factory=list)
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


TERMS_FIXES: Mapping[str, str] = {
    **RULE_FILE_FIXES,
    "union_tag_invalid": f"use one of the benefit kinds {list(BENEFIT_KINDS)}",
    "union_tag_not_found": 'add a "kind" field to the benefit',
}
"""The fix per pydantic error type in a terms file (benefits are a union on ``kind``)."""


def load_terms_file(path: str | Path) -> LoadedTerms:
    """Read and validate one terms file.

    Args:
        path: A ``<product_code>@<version>.json`` file.

    Returns:
        The validated terms with the sha256 (hex) of the file's bytes; when the file names
        standard exclusions by id, of the bytes followed by a newline and the canonical
        JSON of the clauses it named (so the hash changes when their wording does).

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
        raise TermsError(describe_validation_error(exc, p.name, raw, TERMS_FIXES)) from None
    if p.stem != terms.terms_version:
        raise TermsError(
            f"{p.name}: file defines {terms.terms_version!r}; "
            f"fix: rename the file to {terms.terms_version}.json"
        )
    named = [x for x in raw.get("exclusions", []) if isinstance(x, str)] if isinstance(raw, dict) else []
    h = hashlib.sha256(data)
    if named:
        used = [e.model_dump() for e in terms.exclusions if e.id in named]
        h.update(b"\n" + json.dumps(used, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return LoadedTerms(terms=terms, path=p, sha256=h.hexdigest())


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
