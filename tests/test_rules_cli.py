"""``claims terms check`` and ``claims terms explain``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from click.testing import CliRunner
from temporalio.client import Client

from claims.infra.settings import ActorSettings, Settings
from claims.models import ClaimState, Outcome, Stage
from claims.services.context import Services
from claims.cli.terms import explain_decision, terms
from rules.pure import PureEvaluator
from tests.support.factories import coverage, policy, prior
from rules.terms import TERMS_DIR


def test_check_prints_every_clause_of_a_shipped_file():
    r = CliRunner().invoke(terms, ["check", str(TERMS_DIR / "family_accident@2020.json")])
    assert r.exit_code == 0, r.output
    assert "family_accident@2020: 计划生育家庭意外伤害保险" in r.output
    assert "excl.drink_driving: refuse when c_drink_driving = 1" in r.output
    assert "benefit.accident_medical.basic_paid: pay when outcome = 'medical'" in r.output
    assert "benefit.accidental_disability.grade_3.raised" in r.output
    assert r.output.rstrip().endswith("ok: family_accident@2020.json is valid")


def test_check_of_a_bad_file_names_file_clause_and_fix_and_exits_2(tmp_path: Path):
    d = json.loads((TERMS_DIR / "family_accident@2020.json").read_text(encoding="utf-8"))
    d["disability_ratios"]["6"] = "0.70"
    d["benefits"][0]["colour"] = "red"
    p = tmp_path / "family_accident@2020.json"
    p.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(terms, ["check", str(p)])
    assert r.exit_code == 2
    assert (
        "family_accident@2020.json: benefits[0].accidental_death.colour (clause 'benefit.accidental_death')"
        in r.output
    )
    assert "colour" in r.output and "grade 6" in r.output and r.output.count("fix:") >= 2


def test_check_finds_a_sibling_version_with_overlapping_dates(tmp_path: Path):
    d = json.loads((TERMS_DIR / "men_health@2021.json").read_text(encoding="utf-8"))
    (tmp_path / "men_health@2021.json").write_text(json.dumps(d), encoding="utf-8")
    d.update(version="2024", effective_from="2024-01-01", effective_to="2027-12-31")
    (tmp_path / "men_health@2024.json").write_text(json.dumps(d), encoding="utf-8")
    r = CliRunner().invoke(terms, ["check", str(tmp_path / "men_health@2024.json")])
    assert r.exit_code == 2 and "overlaps men_health@2021.json" in r.output and "fix:" in r.output


def test_explain_decision_reads_clause_by_clause():
    dis = prior("accidental_disability", "24000.00")
    req = coverage(
        policy(number="FA-1"),
        policy("women_health", number="WH-1", start=date(2021, 1, 1), terms_version="women_health@2022"),
        prior=[dis],
        died=date(2021, 7, 1),
    )
    d = PureEvaluator().evaluate_coverage(
        req.model_copy(update={"prior_benefits": [dis.model_copy(update={"policy_number": "FA-1"})]})
    )
    text = "\n".join(explain_decision(d))
    assert "pays 16000.00 yuan under policy FA-1, benefit.accidental_death (accidental_death)" in text
    assert "formula: 40000.00 − 24000.00" in text
    assert "rule benefit.accidental_death.less_disability: sum insured less disability benefit" in text
    assert "terms family_accident@2020, sha256 " in text
    assert "needs a handler: policy WH-1: issued on 2020-12-22" in text
    assert "total 16000.00 yuan (not payable as it stands)" in text


def test_explain_command_asks_the_workflow_for_the_state(monkeypatch: Any):
    d = PureEvaluator().evaluate_coverage(coverage(policy(), outcome=Outcome.DISABILITY, grades=[5]))
    state = ClaimState(
        claim_number="C-1",
        stage=Stage.PAYOUT,
        county="c",
        township="t",
        village="v",
        accident_date=date(2021, 6, 26),
        reported_at=datetime(2021, 7, 1, tzinfo=UTC),
        policies=["P1"],
        decision=d,
    )

    async def fake_state(client: Any, number: str) -> ClaimState:
        assert number == "C-1"
        return state

    import claims.services.views

    monkeypatch.setattr(claims.services.views, "claim_state", fake_state)
    settings = Settings(actor=ActorSettings(id=None, role=None, county=None, village=None))
    services = Services(settings, client=cast(Client, object()))
    r = CliRunner().invoke(terms, ["explain", "C-1"], obj={"settings": settings, "services": services})
    assert r.exit_code == 0, r.output
    assert "pays 24000.00 yuan under policy P1" in r.output
    assert "formula: 40000.00 × 60% (grade 5)" in r.output
    assert "rule benefit.accidental_disability.grade_5: grade 5: 60% of the sum insured" in r.output
