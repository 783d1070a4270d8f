"""Form posts into typed inputs: a step's form → its ``StepInput`` (``claims.models.steps``),
the report form → the data of a ``ClaimReport`` (checked by ``claims.services.intake``).

One job: read the posted fields of each step and of the report, bounded where they enter,
and name the form field of every problem. The actor is always the session's, passed in by
the route: no form field is ever read into it (a posted ``actor`` or ``reporter`` is
ignored). The workflow's validators stay the final authority on whether the step fits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from claims.errors import InputError
from claims.models import Actor, StepInput
from claims.models.bounds import FINDINGS_LEN, MAX_DOCUMENTS, NOTE_LEN
from claims.models.steps import STEP_RULES

MAX_FIELD_CHARS = FINDINGS_LEN + NOTE_LEN
"""Longest value a form field may post (the longest bounded text, findings, with room)."""

MAX_VALUES = MAX_DOCUMENTS * 2
"""Most values one form field may post (checkboxes of documents, waivers)."""

Form = Mapping[str, Sequence[str]]
"""Posted fields: name → values in order (``starlette`` ``FormData.multi_items`` grouped)."""


@dataclass(frozen=True)
class FormProblem:
    """One bad value of a form: the form field it came from and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class FormInvalid(InputError):
    """A posted form that cannot become its input; ``problems`` names every form field."""

    code = "form.invalid"

    def __init__(self, problems: list[FormProblem]) -> None:
        first = problems[0]
        super().__init__(first.field, first.message)
        self.message = "; ".join(str(p) for p in problems)
        self.problems = tuple(problems)

    def by_field(self) -> dict[str, list[str]]:
        """Messages by form field, for the page to show each beside its input."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.field, []).append(p.message)
        return out


def group(items: Sequence[tuple[str, object]]) -> dict[str, list[str]]:
    """``FormData.multi_items()`` as name → values; uploaded files are ignored here."""
    out: dict[str, list[str]] = {}
    for k, v in items:
        if isinstance(v, str):
            out.setdefault(k, []).append(v)
    return out


def _check_sizes(form: Form) -> None:
    problems = []
    for name, values in form.items():
        if len(values) > MAX_VALUES:
            problems.append(FormProblem(name, f"at most {MAX_VALUES} values"))
        elif any(len(v) > MAX_FIELD_CHARS for v in values):
            problems.append(FormProblem(name, f"at most {MAX_FIELD_CHARS} characters"))
    if problems:
        raise FormInvalid(problems)


def _one(form: Form, name: str) -> str:
    values = form.get(name) or []
    return values[-1].strip() if values else ""


def _split(text: str) -> list[str]:
    """Values typed in one box, separated by commas (, ，), 、, semicolons or spaces."""
    return [x for x in re.split(r"[\s,，、;；]+", text) if x]


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.splitlines() if x.strip()]


def _checked(form: Form, name: str) -> bool:
    return _one(form, name).lower() in ("1", "on", "true", "yes", "是")


def _documents(form: Form) -> list[str]:
    """Checked documents (``documents``) and any typed in ``documents_other``, in order, once."""
    docs = [v.strip() for v in form.get("documents", []) if v.strip()]
    docs += _split(_one(form, "documents_other"))
    return list(dict.fromkeys(docs))


def _optional_int(form: Form, name: str, problems: list[FormProblem]) -> int | None:
    text = _one(form, name)
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,6}", text):
        problems.append(FormProblem(name, f"{text!r} is not a whole number"))
        return None
    return int(text)


_FIELD_OF: Mapping[str, str] = {
    "facts": "outcome",
    "waive": "waive",
}
"""Form field of a model field whose path the form spreads out (``facts.cause`` → ``cause``)."""


def _form_field(loc: tuple[object, ...]) -> str:
    """The form field a pydantic error's location came from."""
    parts = [str(x) for x in loc if not isinstance(x, int)]
    if not parts:
        return "(form)"
    if parts[0] == "facts" and len(parts) > 1:
        return parts[1]
    if parts[0] == "waive" and len(parts) > 1:
        return "waive"
    return parts[0]


def _step_data(step: str, form: Form, problems: list[FormProblem]) -> dict[str, object]:
    """The step input's fields (without the actor) from its form."""
    data: dict[str, object] = {"note": _one(form, "note")}
    if step == "register":
        if _one(form, "assign_to"):
            data["assign_to"] = _one(form, "assign_to")
    elif step in ("request_documents", "receive_documents"):
        data["documents"] = _documents(form)
    elif step == "complete_documents":
        data["waive"] = [
            {"document": name.removeprefix("waive:"), "reason": values[-1].strip()}
            for name, values in form.items()
            if name.startswith("waive:") and values and values[-1].strip()
        ]
    elif step in ("request_investigation", "refer_to_consultation", "override_finding", "refer_to_siu"):
        data["reason"] = _one(form, "reason")
    elif step == "record_investigation":
        data["findings"] = _one(form, "findings")
        data["covered_event"] = not _checked(form, "not_covered")
    elif step == "adjudicate":
        facts: dict[str, object] = {
            "outcome": _one(form, "outcome"),
            "cause": _one(form, "cause"),
            "disability_grades": [],
            "circumstances": _split(_one(form, "circumstances")),
            "basic_insurance_paid": _checked(form, "basic_insurance_paid"),
        }
        for g in _split(_one(form, "disability_grades")):
            if re.fullmatch(r"[0-9]{1,2}", g):
                facts["disability_grades"].append(int(g))  # type: ignore[attr-defined]
            else:
                problems.append(FormProblem("disability_grades", f"{g!r} is not a grade (1–10)"))
        if _one(form, "medical_expenses"):
            facts["medical_expenses"] = _one(form, "medical_expenses").replace(",", "")
        if _one(form, "diagnosis_code"):
            facts["diagnosis_code"] = _one(form, "diagnosis_code")
        for name in ("diagnosis_date", "death_date"):
            if _one(form, name):
                facts[name] = _one(form, name)
        days = _optional_int(form, "hospital_days", problems)
        if days is not None:
            facts["hospital_days"] = days
        data["facts"] = facts
    elif step == "decline":
        data["reasons"] = _lines(_one(form, "reasons"))
    elif step == "pay":
        data["transfer_ref"] = _one(form, "transfer_ref")
    elif step == "withdraw":  # issue 17 (helper L1)
        data["reason"] = _one(form, "reason")
    elif step in ("close", "reopen"):
        data["reason_code"] = _one(form, "reason_code")
    elif step == "pay_advance":
        data["amount"] = _one(form, "amount").replace(",", "")
        data["transfer_ref"] = _one(form, "transfer_ref")
    elif step == "reassign":
        data["handler"] = _one(form, "handler")
    return data


def step_input(step: str, form: Form, actor: Actor) -> StepInput:
    """The input of ``step`` from its posted form, filed by ``actor`` (the session's).

    Raises:
        FormInvalid: an unknown step (field ``step``), a value too long, or a value the
            step's model refuses; every problem names its form field.
    """
    rule = STEP_RULES.get(step)
    if rule is None:
        raise FormInvalid([FormProblem("step", f"no step {step!r}")])
    _check_sizes(form)
    problems: list[FormProblem] = []
    data = _step_data(step, form, problems)
    if problems:
        raise FormInvalid(problems)
    try:
        return rule.input.model_validate({**data, "actor": actor})
    except ValidationError as e:
        raise FormInvalid(
            [FormProblem(_form_field(tuple(err["loc"])), err["msg"]) for err in e.errors()]
        ) from None


REPORT_FIELDS = (
    "policy_numbers",
    "id_number",
    "accident_date",
    "reported_on",
    "outcome",
    "cause",
    "description",
    "disability_grade",
    "claimed_amount",
    "nominate_green_channel",
    "third_party_record",
)
"""The report form's fields: those of ``claims.models.ClaimReport`` but the reporter."""


def report_data(form: Form) -> dict[str, object]:
    """The report form as ``ClaimReport`` data (no ``reporter``: the service files it in the
    session's name). Empty optional fields are left out, so the model's defaults apply.

    Raises:
        FormInvalid: a value too long, or a grade that is not a number.
    """
    _check_sizes(form)
    problems: list[FormProblem] = []
    data: dict[str, object] = {
        "policy_numbers": _split(_one(form, "policy_numbers")),
        "id_number": _one(form, "id_number"),
        "accident_date": _one(form, "accident_date"),
        "outcome": _one(form, "outcome"),
        "cause": _one(form, "cause"),
        "description": _one(form, "description"),
        "nominate_green_channel": _checked(form, "nominate_green_channel"),
        "third_party_record": _checked(form, "third_party_record"),
    }
    if _one(form, "reported_on"):
        data["reported_on"] = _one(form, "reported_on")
    grade = _optional_int(form, "disability_grade", problems)
    if grade is not None:
        data["disability_grade"] = grade
    if _one(form, "claimed_amount"):
        data["claimed_amount"] = _one(form, "claimed_amount").replace(",", "")
    if problems:
        raise FormInvalid(problems)
    return data


def report_field(field: str | None) -> str:
    """The report form's field a problem's dotted field names (``policy_numbers.0`` →
    ``policy_numbers``); ``(report)`` for the report as a whole."""
    if not field:
        return "(report)"
    head = re.split(r"[.\[]", field, maxsplit=1)[0]
    return head if head in REPORT_FIELDS else "(report)"
