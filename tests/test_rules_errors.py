"""The rules' one formatter of validation errors, the kind registry's order and the typed evaluator
of the rules activities."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.rules import RulesActivities
from claims.models import ChecklistRequest, Outcome
from rules.benefits import BENEFIT_KINDS
from rules.errors import SlaPolicyError, TermsError, describe_validation_error
from rules.evaluator import Evaluator
from rules.pure import PureEvaluator
from rules.sla import load_sla_policy, parse_sla_policy
from rules.terms import TERMS_DIR, load_terms_file
from tests.support.factories import coverage, policy


class _Clause(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z.]+$")
    ratio: int


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clauses: list[_Clause]


def test_one_line_per_error_naming_file_field_clause_and_fix() -> None:
    raw = {"clauses": [{"id": "ok.one", "ratio": 1}, {"id": "Bad", "ratio": 2, "colour": "red"}], "x": 1}
    with pytest.raises(ValidationError) as e:
        _File.model_validate(raw)
    lines = describe_validation_error(e.value, "f.json", raw).split("\n")
    assert lines == [
        "f.json: clauses[1].id (clause 'Bad'): String should match pattern '^[a-z.]+$'; "
        "fix: use lower-case letters, digits, '_' (and '.' in clause ids)",
        "f.json: clauses[1].colour (clause 'Bad'): Extra inputs are not permitted; "
        "fix: remove the field or correct its spelling",
        "f.json: x: Extra inputs are not permitted; fix: remove the field or correct its spelling",
    ]


def test_a_message_that_names_its_fix_gets_no_second_one_and_unknown_types_the_generic_fix() -> None:
    raw = {"clauses": [{"id": "a", "ratio": "many"}]}
    with pytest.raises(ValidationError) as e:
        _File.model_validate(raw)
    assert describe_validation_error(e.value, "g.json", raw, fixes={}) == (
        "g.json: clauses[0].ratio (clause 'a'): Input should be a valid integer, unable to parse "
        "string as an integer; fix: correct the value"
    )


def test_benefit_kinds_register_in_the_order_of_the_union() -> None:
    assert list(BENEFIT_KINDS) == [
        "accidental_death",
        "accidental_disability",
        "accident_medical",
        "hospital_cash",
        "critical_illness",
    ]


def test_a_terms_file_with_an_unknown_kind_names_the_known_kinds(tmp_path: Path) -> None:
    data = json.loads((TERMS_DIR / "family_accident@2020.json").read_text(encoding="utf-8"))
    data["benefits"][0]["kind"] = "lottery"
    path = tmp_path / "family_accident@2020.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TermsError) as e:
        load_terms_file(path)
    assert str(e.value).startswith(
        "family_accident@2020.json: benefits[0] (clause 'benefit.accidental_death'): "
    )
    assert str(e.value).endswith(f"fix: use one of the benefit kinds {list(BENEFIT_KINDS)}")


def test_sla_policy_errors_use_the_same_formatter() -> None:
    shipped = Path(__file__).resolve().parent.parent / "rules" / "sla_policy.json"
    data = json.loads(shipped.read_text("utf-8"))
    data["default"]["targets"].pop("disputed")
    with pytest.raises(SlaPolicyError) as e:
        parse_sla_policy(json.dumps(data, ensure_ascii=False), "policy.json")
    assert str(e.value) == (
        "policy.json: default: targets: no target for case class disputed; fix: add one per class"
    )


def test_rules_activities_take_any_evaluator() -> None:
    engine: Evaluator = PureEvaluator()
    acts = RulesActivities(engine, load_sla_policy())
    unknown = acts.evaluate_coverage(coverage(policy(), circumstances=["drink_drivng"]))
    assert unknown.engine == "pure" and unknown.total == Decimal("0") and unknown.lines == []
    assert unknown.needs_handler[0].startswith("unknown circumstance code drink_drivng; known codes: ")
    paid = acts.evaluate_coverage(coverage(policy()))
    assert paid.engine == "pure" and paid.total == Decimal("40000.00")
    docs = acts.document_checklist(
        ChecklistRequest(
            outcome=Outcome.DEATH, green_channel=False, road_accident=False, filed_by_proxy=False, minor=False
        )
    )
    assert docs.documents[0] == "claim_form" and "death_certificate" in docs.documents
