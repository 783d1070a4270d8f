"""Resident identity numbers (GB 11643-1999) and masking of personal data in output."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


class IdentityNumberError(ValueError):
    """An identity number that fails GB 11643-1999; the message says what and how to fix it."""


def check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate_id_number(value: str, field: str = "id_number") -> str:
    """Validate and normalise an 18-character resident identity number.

    Full-width digits are rejected rather than silently converted (a sign of a bad import),
    a lower-case ``x`` is upper-cased.

    Returns:
        The number, with an upper-case check character.

    Raises:
        IdentityNumberError: wrong length or characters, impossible birth date, or a
            check character that does not match (GB 11643-1999, ISO 7064 MOD 11-2).
    """
    if not isinstance(value, str):
        raise IdentityNumberError(f"{field}: expected a string of 18 characters")
    v = value.strip()
    if v.translate(_FULLWIDTH) != v:
        raise IdentityNumberError(
            f"{field}: contains full-width characters; re-type it with ASCII digits 0-9 and X"
        )
    v = v.upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        raise IdentityNumberError(
            f"{field}: must be 17 digits followed by a digit or X (18 characters), "
            f"got {len(v)} characters ({mask_id_number(v)})"
        )
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise IdentityNumberError(
            f"{field}: birth date {v[6:10]}-{v[10:12]}-{v[12:14]} in the number is not a real date"
        ) from None
    expected = check_digit(v[:17])
    if v[17] != expected:
        raise IdentityNumberError(
            f"{field}: check digit does not match ({mask_id_number(v)}); "
            "the number was probably mistyped, check it against the identity card"
        )
    return v


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in digits 7–14 of a valid identity number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def sex_of(id_number: str) -> str:
    """``M`` or ``F`` from digit 17 (odd = male) of a valid identity number."""
    return "M" if int(id_number[16]) % 2 else "F"


def mask_id_number(value: str) -> str:
    """Mask an identity number for logs and messages: ``430124********1234``."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_account(value: str) -> str:
    """Mask a bank account or phone number, keeping the last four characters."""
    return "*" * max(0, len(value) - 4) + value[-4:]


_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{9,})(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask identity numbers and long digit runs (bank cards, phones) inside free text."""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    return _LONG_DIGITS.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)
