"""Errors of the rules' data files, and the one formatter of their validation errors.

Terms files, the triage data, the document checklist and the SLA policy are all validated with
pydantic; a refused file is reported by :func:`describe_validation_error`, one line per error,
each naming the file, the field (and the clause, inside a list of clauses) and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

RULE_FILE_FIXES: Mapping[str, str] = {
    "missing": "add the field",
    "extra_forbidden": "remove the field or correct its spelling",
    "string_pattern_mismatch": "use lower-case letters, digits, '_' (and '.' in clause ids)",
}
"""The fix named for a pydantic error type when the message names none (``fix:``)."""

GENERIC_FIX = "correct the value"
"""The fix named for an error type :data:`RULE_FILE_FIXES` does not list."""


class TermsError(ValueError):
    """A terms file (or the catalogue as a whole), the triage data or the document checklist
    is invalid.

    The message names the file, the clause or field at fault, and the fix.
    """


class UnknownTermsVersion(KeyError):
    """``Catalogue.get`` was asked for a terms version that no file defines."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else "unknown terms version"


class SlaPolicyError(ValueError):
    """An SLA policy file that cannot be used; the message names the file, the field and the fix."""


def _clause_of(loc: tuple[int | str, ...], raw: object) -> str:
    """`` (clause 'x')`` when ``loc`` points into a list of clauses of ``raw`` that have ids."""
    if len(loc) < 2 or not isinstance(loc[1], int) or not isinstance(raw, dict):
        return ""
    items = raw.get(str(loc[0]))
    if not isinstance(items, list) or loc[1] >= len(items):
        return ""
    item = items[loc[1]]
    if isinstance(item, dict) and "id" in item:
        return f" (clause {item['id']!r})"
    if isinstance(item, str):
        return f" (clause {item!r})"
    return ""


def describe_validation_error(
    exc: ValidationError,
    source: str,
    raw: object = None,
    fixes: Mapping[str, str] = RULE_FILE_FIXES,
) -> str:
    """Every error of ``exc`` as one line: ``<source>: <field>[ (clause 'id')]: <message>; fix: <fix>``.

    Args:
        exc: The pydantic error of validating ``raw``.
        source: What was validated, e.g. the file name ``family_accident@2020.json``.
        raw: The parsed JSON that failed; used to name the clause (by its ``id``, or the id
            string itself) when an error sits inside a list of clauses. ``None``: no clause.
        fixes: The fix per pydantic error type, when the message does not say ``fix:`` itself;
            unlisted types get :data:`GENERIC_FIX`.

    Returns:
        The lines joined by newlines. The field is written ``benefits[0].ratio``; a
        whole-file error is ``(file)``. Pydantic's ``Value error, `` prefix is dropped.
    """
    parts = []
    for err in exc.errors():
        loc_parts: list[str] = []
        for i, p in enumerate(err["loc"]):
            loc_parts.append(f"[{p}]" if isinstance(p, int) else ("" if i == 0 else ".") + str(p))
        loc = "".join(loc_parts) or "(file)"
        clause = _clause_of(tuple(err["loc"]), raw)
        msg = str(err["msg"]).removeprefix("Value error, ")
        fix = "" if "fix:" in msg else f"; fix: {fixes.get(err['type'], GENERIC_FIX)}"
        parts.append(f"{source}: {loc}{clause}: {msg}{fix}")
    return "\n".join(parts)
