"""The claim document checklist (理赔资料), as data in ``rules/documents.json``.

Which documents a claim needs follows the public checklists (domain brief, "Claim
documents"): every claim a claim form, the claimant's ID, a bank card and an accident
description; a power of attorney and the agent's ID when someone (usually the village
secretary) files on the claimant's behalf; guardian proof for a minor; per benefit kind
its proofs (death: two of death certificate, household-register cancellation and
cremation certificate, plus the beneficiary relationship proof; disability: the
assessment; medical: invoices, itemised bill, discharge summary, records; critical
illness: the diagnosis report); a road accident adds the traffic-police certificate.
The green channel waives the items listed under ``green_channel_waives`` (config).

Pure Python, no I/O beyond reading the file once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claims.models import Outcome
from rules.benefits import BENEFIT_KINDS
from rules.errors import TermsError, describe_validation_error

DOCUMENTS_FILE = Path(__file__).resolve().parent / "documents.json"
"""The shipped checklist."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnyOf(_Model):
    """``count`` of ``documents`` suffice (e.g. two of the three death proofs)."""

    documents: list[str] = Field(min_length=2)
    count: int = Field(ge=1)


class Checklist(_Model):
    """The whole ``documents.json``.

    Attributes:
        documents: Document name -> (Chinese, English) description.
        all_claims: Required for every claim.
        filed_by_proxy: Added when someone files on the claimant's behalf.
        minor: Added when the claimant is a minor.
        by_kind: Benefit kind -> its documents.
        by_outcome: Outcome -> the benefit kinds claimed when none are named.
        road_accident: Added for a road accident.
        any_of: Groups of which ``count`` documents suffice.
        green_channel_waives: Documents the green channel does not require (config).
    """

    version: str
    defaults: bool
    defaults_note: str = ""
    documents: dict[str, tuple[str, str]]
    all_claims: list[str]
    filed_by_proxy: list[str]
    minor: list[str]
    by_kind: dict[str, list[str]]
    by_outcome: dict[Outcome, list[str]]
    road_accident: list[str]
    any_of: list[AnyOf] = Field(default_factory=list)
    green_channel_waives: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> Checklist:
        used = [
            *self.all_claims,
            *self.filed_by_proxy,
            *self.minor,
            *self.road_accident,
            *self.green_channel_waives,
            *(d for ds in self.by_kind.values() for d in ds),
            *(d for g in self.any_of for d in g.documents),
        ]
        unknown = sorted(set(used) - set(self.documents))
        if unknown:
            raise ValueError(f"document(s) {unknown} are not in 'documents'; fix: describe them there")
        kinds = set(self.by_kind) | {k for ks in self.by_outcome.values() for k in ks}
        bad = sorted(kinds - set(BENEFIT_KINDS))
        if bad:
            raise ValueError(f"unknown benefit kind(s) {bad}; fix: use one of {list(BENEFIT_KINDS)}")
        for g in self.any_of:
            if g.count > len(g.documents):
                raise ValueError(
                    f"any_of {g.documents}: count {g.count} is more than the documents; fix: lower it"
                )
        return self


@lru_cache(maxsize=4)
def load_checklist(path: Path = DOCUMENTS_FILE) -> Checklist:
    """Read and validate the checklist.

    Raises:
        TermsError: Invalid JSON or schema; the message names the file, field and fix.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{path.name}: not valid UTF-8 JSON ({exc}); fix: correct the syntax") from exc
    try:
        return Checklist.model_validate(raw)
    except ValidationError as exc:
        raise TermsError(describe_validation_error(exc, path.name, raw)) from None


def required_documents(
    outcome: Outcome | str,
    kinds: list[str],
    green_channel: bool,
    road_accident: bool,
    filed_by_proxy: bool,
    minor: bool,
    checklist: Checklist | None = None,
) -> list[str]:
    """The documents to request, in checklist order, each once.

    Of an ``any_of`` group the first ``count`` documents are listed (the others may stand
    in for them: see :func:`missing_documents`).

    Args:
        outcome: The claim's outcome (``death``, ``disability``, ``medical``, ``illness``).
        kinds: Benefit kinds claimed (e.g. ``["accidental_death"]``); empty: those the
            checklist names for the outcome.
        green_channel: The claim is in the green channel: the waived items are dropped.
        road_accident: A road accident: the traffic-police certificate is added.
        filed_by_proxy: Filed on the claimant's behalf: power of attorney and agent's ID.
        minor: The claimant is a minor: guardian proof.
        checklist: Defaults to the shipped ``rules/documents.json``.

    Raises:
        ValueError: An unknown outcome or benefit kind.
    """
    c = checklist or load_checklist()
    o = Outcome(outcome)
    wanted = kinds or c.by_outcome.get(o, [])
    unknown = [k for k in wanted if k not in BENEFIT_KINDS]
    if unknown:
        raise ValueError(f"unknown benefit kind(s) {unknown}; use one of {list(BENEFIT_KINDS)}")
    out: list[str] = list(c.all_claims)
    if filed_by_proxy:
        out += c.filed_by_proxy
    if minor:
        out += c.minor
    for k in wanted:
        out += c.by_kind.get(k, [])
    if road_accident:
        out += c.road_accident
    # of each any_of group keep only the first `count` present
    for g in c.any_of:
        present = [d for d in g.documents if d in out]
        drop = set(present[g.count :])
        out = [d for d in out if d not in drop]
    if green_channel:
        out = [d for d in out if d not in c.green_channel_waives]
    seen: set[str] = set()
    return [d for d in out if not (d in seen or seen.add(d))]  # type: ignore[func-returns-value]


def missing_documents(
    required: list[str], received: list[str], checklist: Checklist | None = None
) -> list[str]:
    """What is still missing of ``required`` given ``received``.

    A document of an ``any_of`` group counts for any other of the group: e.g. a cremation
    certificate stands in for a missing household-register cancellation.
    """
    c = checklist or load_checklist()
    have = set(received)
    missing = [d for d in required if d not in have]
    for g in c.any_of:
        group = set(g.documents)
        got = len(group & have)
        needed_here = [d for d in missing if d in group]
        wanted = min(len([d for d in required if d in group]), g.count)
        still = max(0, wanted - got)
        keep = set(needed_here[:still])
        missing = [d for d in missing if d not in group or d in keep]
    return missing
