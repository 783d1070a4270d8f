"""Bounds on every value that enters the engine, from one place (issue 12).

Each bound is derived from where the value ends up:

- **Search attributes** (Temporal keyword values; the whole set of a workflow must stay under
  2 KB on the default server): county, township, handler are bounded to 64 characters.
- **Payloads** (history events; 2 MB per payload, and a claim's history must stay far from its
  50 MB limit): every free text and list is bounded so a step input stays under ~64 KB.
- **Store columns** (``claims/store/db.py``): ``String(n)`` columns get the same ``n``; money goes in
  ``Numeric(14, 2)``, so an amount has at most 12 digits before the point
  (:data:`MAX_YUAN` = 999,999,999,999.99 yuan) and 2 after.
- **People's screens**: identifiers allow no control characters, no bidirectional overrides
  and no spaces; free text is kept on one line (line breaks, tabs and other control
  characters become spaces, bidirectional controls are removed) so no note can draw a fake
  timeline line; views also pass everything they print through :func:`printable`.

Dates are bounded to :data:`MIN_DATE` .. :data:`MAX_DATE` and durations to
:data:`MAX_WORKING_DAYS` working days / :data:`MAX_CALENDAR_DAYS` calendar days, so no
arithmetic can overflow.

Import-light on purpose (pydantic and the standard library only): the boundary models use
these types inside the Temporal sandbox.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# --------------------------------------------------------------------------- limits

MAX_YUAN = Decimal("999999999999.99")
"""The largest amount a ``Numeric(14, 2)`` column holds, yuan."""

MIN_DATE = date(1900, 1, 1)
"""Earliest date accepted anywhere (a birth date on the register)."""
MAX_DATE = date(2100, 12, 31)
"""Latest date accepted anywhere (the working-day calendar is computed up to 2100)."""

MAX_WORKING_DAYS = 366
"""Longest target or horizon in working days."""
MAX_CALENDAR_DAYS = 3660
"""Longest horizon in calendar days (ten years)."""

PLACE_LEN = 64  # county / township / village: String(64) and a search attribute
STAFF_ID_LEN = 64  # actor and handler ids: String(64) and the AssignedHandler search attribute
CODE_LEN = 64  # product codes, benefit ids, cause codes, circumstance codes
DOCUMENT_LEN = 64  # a document name (checklist code or a short name)
MAX_DOCUMENTS = 50  # documents named in one step
NOTE_LEN = 2000  # a step's note
REASON_LEN = 500  # a reason shown to a claimant
FINDINGS_LEN = 4000  # an investigator's findings
TRANSFER_REF_LEN = 64  # payouts.transfer_ref String(64)

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional marks, embeddings, overrides and isolates: they can make text read reversed."""


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in _BIDI


# --------------------------------------------------------------------------- checks


def _identifier(v: object) -> object:
    """Refuse control, format (bidi) and whitespace characters in an identifier."""
    if isinstance(v, str):
        bad = next((ch for ch in v if _is_control(ch) or ch.isspace()), None)
        if bad is not None:
            raise ValueError(
                f"contains the character U+{ord(bad):04X} ({unicodedata.name(bad, 'control')}); "
                "identifiers take no spaces, line breaks, control or direction characters"
            )
    return v


def _place(v: object) -> object:
    """A place name: no control or direction characters; inner spaces allowed, ends trimmed."""
    if isinstance(v, str):
        bad = next((ch for ch in v if _is_control(ch)), None)
        if bad is not None:
            raise ValueError(
                f"contains the character U+{ord(bad):04X} ({unicodedata.name(bad, 'control')}); "
                "names take no line breaks, control or direction characters"
            )
        return v.strip()
    return v


def one_line(v: object) -> object:
    """Free text kept on one line: line breaks, tabs and other control characters become one
    space, bidirectional controls are removed, the ends are trimmed."""
    if isinstance(v, str):
        out = []
        for ch in v:
            if ch in _BIDI:
                continue
            out.append(" " if _is_control(ch) else ch)
        return re.sub(r" {2,}", " ", "".join(out)).strip()
    return v


def printable(text: str) -> str:
    """Text safe to print on one line of a terminal or page: every control, format or
    direction character is shown as ``\\uXXXX`` instead of acting. (Views call this on
    everything they print from a payload, including values recorded before the bounds.)"""
    return "".join(f"\\u{ord(ch):04x}" if _is_control(ch) else ch for ch in text)


def _amount_in_column(v: Decimal) -> Decimal:
    if not v.is_finite():
        raise ValueError("amount is not a finite number")
    if abs(v) > MAX_YUAN:
        raise ValueError(f"amount {v} is above {MAX_YUAN} yuan, the most the ledger holds")
    try:
        if v != v.quantize(Decimal("0.01")):
            raise ValueError("amounts are in yuan with at most two decimals (fen)")
    except InvalidOperation:
        raise ValueError("amounts are in yuan with at most two decimals (fen)") from None
    return v


def _date_in_range(v: date) -> date:
    if not MIN_DATE <= v <= MAX_DATE:
        raise ValueError(f"{v} is outside {MIN_DATE} .. {MAX_DATE}")
    return v


# --------------------------------------------------------------------------- types

StaffId = Annotated[str, Field(min_length=1, max_length=STAFF_ID_LEN, pattern=r"^[A-Za-z0-9_.\-@]+$")]
"""A staff id (actor, handler): ASCII letters, digits and ``_ . - @``, at most 64."""

Code = Annotated[str, Field(min_length=1, max_length=CODE_LEN), BeforeValidator(_place)]
"""A code (cause, circumstance, product, benefit kind): at most 64 characters, no control or
direction characters."""

Token = Annotated[str, Field(min_length=1, max_length=CODE_LEN), BeforeValidator(_identifier)]
"""One token (a policy number in a report): no spaces, control or direction characters."""

PolicyNumber = Annotated[str, Field(min_length=1, max_length=32), BeforeValidator(_identifier)]
"""A policy number or household number (``String(32)``): one token."""

TermsVersion = Annotated[str, Field(min_length=1, max_length=96), BeforeValidator(_identifier)]
"""A terms version such as ``family_accident@2020`` (``String(96)``): one token."""

Phone = Annotated[str, Field(min_length=1, max_length=20), BeforeValidator(_identifier)]
"""A phone number (``String(20)``): one token."""

BankAccount = Annotated[str, Field(min_length=1, max_length=32), BeforeValidator(_identifier)]
"""A bank account or card number (``String(32)``): one token."""

PlaceName = Annotated[str, Field(min_length=1, max_length=PLACE_LEN), BeforeValidator(_place)]
"""A county, township or village name: at most 64 characters, no control characters."""

PersonName = Annotated[str, Field(min_length=1, max_length=64), BeforeValidator(_place)]
"""A person's name on the register: at most 64 characters, no control characters."""

DocumentName = Annotated[str, Field(min_length=1, max_length=DOCUMENT_LEN), BeforeValidator(_place)]
"""A document name (``death_certificate``): at most 64 characters, no control or direction
characters."""

DocumentList = Annotated[list[DocumentName], Field(min_length=1, max_length=MAX_DOCUMENTS)]
"""The documents of one step: 1 to 50 names."""

TransferRef = Annotated[str, Field(min_length=1, max_length=TRANSFER_REF_LEN), BeforeValidator(_place)]
"""A bank transfer reference: at most 64 characters, no control or direction characters."""

Note = Annotated[str, Field(max_length=NOTE_LEN), BeforeValidator(one_line)]
"""A step's free note: one line, at most 2,000 characters (may be empty)."""

Reason = Annotated[str, Field(min_length=1, max_length=REASON_LEN), BeforeValidator(one_line)]
"""A reason shown to a person: one line, not blank, at most 500 characters."""

Findings = Annotated[str, Field(min_length=1, max_length=FINDINGS_LEN), BeforeValidator(one_line)]
"""An investigator's findings: one line, not blank, at most 4,000 characters."""

Description = Annotated[str, Field(max_length=NOTE_LEN), BeforeValidator(one_line)]
"""A report's description of the event: one line, at most 2,000 characters."""

ColumnAmount = AfterValidator(_amount_in_column)
"""Validator: a finite amount with at most two decimals that a ``Numeric(14, 2)`` column holds."""

BoundedDate = Annotated[date, AfterValidator(_date_in_range)]
"""A date between 1900-01-01 and 2100-12-31."""
