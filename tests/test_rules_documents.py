"""The document checklist as data, and the demo cases' lists that must follow it."""

from __future__ import annotations

import json

import pytest

from claims.models import Role
from claims.infra.settings import REPO_ROOT
from rules.documents import load_checklist, missing_documents, required_documents


def test_a_death_claim_filed_by_the_village_secretary_needs_the_proxy_and_death_proofs():
    assert required_documents("death", ["accidental_death"], False, False, True, False) == [
        "claim_form",
        "claimant_id",
        "bank_card",
        "accident_description",
        "power_of_attorney",
        "agent_id",
        "death_certificate",
        "household_register_cancellation",
        "beneficiary_relationship_proof",
    ]


def test_two_of_the_three_death_proofs_suffice():
    req = required_documents("death", [], False, False, False, False)
    got = ["claim_form", "claimant_id", "bank_card", "accident_description", "beneficiary_relationship_proof"]
    assert missing_documents(req, got + ["death_certificate", "cremation_certificate"]) == []
    assert missing_documents(req, got + ["cremation_certificate"]) == ["death_certificate"]
    assert missing_documents(req, got) == ["death_certificate", "household_register_cancellation"]


def test_road_accident_medical_claim_of_a_minor():
    assert required_documents("medical", ["accident_medical"], False, True, False, True) == [
        "claim_form",
        "claimant_id",
        "bank_card",
        "accident_description",
        "guardian_proof",
        "medical_invoices",
        "itemised_bill",
        "discharge_summary",
        "medical_records",
        "traffic_police_certificate",
    ]


def test_the_green_channel_waives_the_configured_items():
    plain = required_documents("medical", ["accident_medical"], False, False, False, False)
    green = required_documents("medical", ["accident_medical"], True, False, False, False)
    assert set(plain) - set(green) == set(load_checklist().green_channel_waives)
    assert "accident_description" not in green and "itemised_bill" not in green


def test_critical_illness_needs_the_diagnosis_report_and_unknown_kinds_are_refused():
    assert "diagnosis_report" in required_documents("illness", [], False, False, False, False)
    with pytest.raises(ValueError, match="lottery"):
        required_documents("death", ["lottery"], False, False, False, False)


def test_the_demo_cases_request_exactly_the_checklist():
    from claims.services.demo import DemoClaim  # the demo's own case model

    data = json.loads((REPO_ROOT / "data" / "demo" / "claims.json").read_text(encoding="utf-8"))
    green = {0: True, 1: True, 2: True}  # grade-1 disability, hardship death, grade-1 disability
    for i, raw in enumerate(data["claims"]):
        case = DemoClaim.model_validate(raw)
        kinds = {"death": ["accidental_death"], "disability": ["accidental_disability"]}[
            case.facts.outcome.value
        ]
        want = required_documents(
            case.facts.outcome,
            kinds,
            green_channel=green[i],
            road_accident=case.facts.cause == "road_accident",
            filed_by_proxy=case.report.reporter.role is Role.VILLAGE_SECRETARY,
            minor=False,
        )
        assert case.documents == want, case.title
