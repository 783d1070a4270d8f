"""ICD-10 reference: the known three-character categories (``rules/icd10.json``) and the code shape.

Critical-illness clauses list covered categories; a diagnosis code (``C50.9``) is judged by its
category (``C50``). The file is a subset of ICD-10; its ``source`` field names where it comes from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ICD10_FILE = Path(__file__).resolve().parent / "icd10.json"
"""Known ICD-10 three-character categories (a subset; see the file's ``source``)."""

ICD10_CODE = re.compile(r"^([A-Z][0-9]{2})(?:\.[0-9A-Z]{1,4})?$")
"""An upper-case ICD-10 code: a letter, two digits, optionally ``.`` and up to four more;
group 1 is the category."""


def _load_icd10() -> dict[str, tuple[str, str]]:
    raw = json.loads(ICD10_FILE.read_text(encoding="utf-8"))
    return {k: (v[0], v[1]) for k, v in raw["categories"].items()}


ICD10: dict[str, tuple[str, str]] = _load_icd10()
"""ICD-10 category -> (Chinese name, English name)."""


def icd10_category(code: str | None) -> str:
    """The three-character ICD-10 category of ``code`` (``"c50.9 "`` -> ``"C50"``).

    Returns:
        The category; ``""`` when no code is given; ``"invalid"`` when the code is not
        ICD-10 shaped (a letter, two digits, optionally ``.`` and up to four more).
    """
    if code is None or not code.strip():
        return ""
    m = ICD10_CODE.match(code.strip().upper())
    return m.group(1) if m else "invalid"
