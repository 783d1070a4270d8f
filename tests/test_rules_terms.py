"""The terms schema and catalogue: shipped files load; bad files fail with useful messages."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules.engine import ruleset_name
from rules.terms import TERMS_DIR, TermsError, UnknownTermsVersion, load_catalogue, load_terms_file
from rules.triage import load_triage


def shipped(name: str = "family_accident@2020") -> dict:
    return json.loads((TERMS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict, name: str | None = None) -> Path:
    p = tmp_path / f"{name or data['product_code'] + '@' + data['version']}.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return p


def test_shipped_catalogue_has_every_product_with_seed_figures():
    cat = load_catalogue()
    assert sorted(cat.entries) == [
        "elderly_accident@2020",
        "family_accident@2020",
        "hardship_comprehensive@2020",
        "left_behind_children@2020",
        "men_health@2020",
        "men_health@2021",
        "nursing_care@2020",
        "women_health@2022",
    ]
    fa = cat.get("family_accident@2020")
    assert fa.terms.sum_insured_options == [Decimal("40000.00"), Decimal("45000.00")]
    assert (fa.terms.eligibility.min_age, fa.terms.eligibility.max_age) == (0, 64)
    assert fa.terms.disability_ratios[1] == Decimal("1.00")
    assert fa.terms.disability_ratios[10] == Decimal("0.10")
    assert fa.sha256 == hashlib.sha256(fa.path.read_bytes()).hexdigest()
    assert cat.get("hardship_comprehensive@2020").terms.sum_insured_options == [Decimal(100000)]
    el = cat.get("elderly_accident@2020").terms
    assert el.sum_insured_options == [Decimal(32000)] and el.eligibility.min_age == 60
    assert all(e.terms.defaults and e.terms.config_defaults for e in cat)
    assert "excl.drink_driving" in {x.id for x in fa.terms.exclusions}


def test_every_issue_date_from_2019_to_2026_finds_a_version():
    cat = load_catalogue()
    for product in ("family_accident", "hardship_comprehensive", "elderly_accident"):
        for day in (date(2019, 1, 1), date(2022, 7, 1), date(2026, 12, 31)):
            assert cat.in_force(product, day) is not None


def test_unknown_version_raises_a_key_error_naming_the_known_ones():
    with pytest.raises(UnknownTermsVersion, match="family_accident@2020"):
        load_catalogue().get("nope@1")


def test_duplicate_clause_ids_name_the_file_and_the_fix(tmp_path):
    d = shipped()
    d["exclusions"][1]["id"] = d["exclusions"][0]["id"]
    with pytest.raises(TermsError) as e:
        load_terms_file(write(tmp_path, d))
    msg = str(e.value)
    assert "family_accident@2020.json" in msg and "excl.intentional_harm" in msg and "fix:" in msg


def test_amounts_with_more_than_two_decimals_are_rejected(tmp_path):
    d = shipped()
    raw = json.dumps(d).replace('"40000.00"', "40000.001")
    p = tmp_path / "family_accident@2020.json"
    p.write_text(raw)
    with pytest.raises(TermsError, match=r"sum_insured_options\[0\].*more than two decimals"):
        load_terms_file(p)


def test_amounts_as_json_ints_strings_and_short_floats_are_accepted(tmp_path):
    d = shipped()
    raw = json.dumps(d).replace('"40000.00"', "40000").replace('"45000.00"', "45000.5")
    p = tmp_path / "family_accident@2020.json"
    p.write_text(raw)
    t = load_terms_file(p).terms
    assert t.sum_insured_options == [Decimal("40000.00"), Decimal("45000.50")]


def test_ratio_table_must_fall_strictly(tmp_path):
    d = shipped()
    d["disability_ratios"]["4"] = "0.80"
    with pytest.raises(TermsError, match=r"disability_ratios.*grade 4.*fix:"):
        load_terms_file(write(tmp_path, d))


def test_unknown_fields_and_benefit_kinds_are_rejected(tmp_path):
    d = shipped()
    d["benefits"][0]["kind"] = "lottery"
    d["colour"] = "red"
    with pytest.raises(TermsError) as e:
        load_terms_file(write(tmp_path, d))
    msg = str(e.value)
    assert "colour" in msg and "benefits[0]" in msg and "benefit.accidental_death" in msg


def test_overlapping_versions_of_one_product_name_both_files(tmp_path):
    a = shipped()
    b = dict(shipped(), version="2024", effective_from="2024-01-01", effective_to="2030-12-31")
    write(tmp_path, a)
    write(tmp_path, b)
    with pytest.raises(TermsError) as e:
        load_catalogue(tmp_path)
    assert "family_accident@2020.json" in str(e.value) and "family_accident@2024.json" in str(e.value)


def test_file_name_must_match_the_terms_version(tmp_path):
    with pytest.raises(TermsError, match="rename the file to family_accident@2020.json"):
        load_terms_file(write(tmp_path, shipped(), name="family_accident_v1"))


def test_triage_data_loads_and_ruleset_names_are_safe():
    t = load_triage()
    assert t.config.late_report_days == 30 and t.config.large_amount_yuan == Decimal(200000)
    assert ruleset_name("coverage", "family accident@2020") == "coverage@family_accident@2020"


def test_unknown_exclusion_id_names_the_file_the_clause_and_the_fix(tmp_path):
    d = shipped("women_health@2022")
    d["exclusions"].append("excl.sunburn")
    with pytest.raises(TermsError) as e:
        load_terms_file(write(tmp_path, d))
    msg = str(e.value)
    assert "women_health@2022.json" in msg and "excl.sunburn" in msg and "fix:" in msg


def test_exclusions_named_by_id_are_resolved_and_hashed(tmp_path):
    loaded = load_catalogue().get("women_health@2022")
    assert [x.id for x in loaded.terms.exclusions][:2] == ["excl.intentional_harm", "excl.crime"]
    assert loaded.sha256 != hashlib.sha256(loaded.path.read_bytes()).hexdigest()


def test_missing_benefit_field_names_the_clause(tmp_path):
    d = shipped()
    del d["benefits"][2]["deductible"]
    with pytest.raises(TermsError) as e:
        load_terms_file(write(tmp_path, d))
    msg = str(e.value)
    assert "benefits[2]" in msg and "benefit.accident_medical" in msg and "deductible" in msg
    assert "fix: add the field" in msg


def test_unknown_diagnosis_code_in_a_terms_file_is_rejected(tmp_path):
    d = shipped("men_health@2021")
    d["benefits"][0]["diagnoses"][0]["code"] = "C99"
    with pytest.raises(TermsError, match=r"benefits\[0\].*benefit.critical_illness.*C99.*fix:"):
        load_terms_file(write(tmp_path, d))


def test_hospital_stay_cap_above_the_yearly_cap_is_rejected(tmp_path):
    d = shipped("hardship_comprehensive@2020")
    d["benefits"][1]["max_days_per_stay"] = 200
    with pytest.raises(TermsError, match=r"benefit.hospital_cash.*max_days_per_stay 200.*fix:"):
        load_terms_file(write(tmp_path, d))


def test_mens_health_versions_do_not_overlap_and_only_2021_covers_liver_cancer():
    cat = load_catalogue()
    assert cat.in_force("men_health", date(2020, 12, 31)).terms_version == "men_health@2020"
    assert cat.in_force("men_health", date(2021, 1, 1)).terms_version == "men_health@2021"
    codes = {
        v: [d.code for d in cat.get(v).terms.benefits[0].diagnoses]
        for v in ("men_health@2020", "men_health@2021")
    }
    assert "C22" not in codes["men_health@2020"] and "C22" in codes["men_health@2021"]


def test_every_shipped_file_marks_its_config_defaults():
    for loaded in load_catalogue():
        assert loaded.terms.defaults and loaded.terms.config_defaults and loaded.terms.defaults_note
