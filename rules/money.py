"""Money and ratios in the rules: exact yuan/fen conversion, parsing of amounts in terms files,
shares of a sum insured and their formula text.

Yuan are ``Decimal`` with two decimals, fen are ``int``. A share of an amount is rounded half up
to the fen: the pure evaluator in yuan (:func:`decimal_share`), the durable_rules engine in
integer fen via basis points (:func:`ratio_fen`); both give the same fen. Terms files write
yuan as JSON strings or integers (:data:`TermsYuan`) and ratios with at most four decimals
(:data:`Ratio`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

CENT = Decimal("0.01")
"""One fen, in yuan."""


def to_decimal(v: Any, what: str) -> Decimal:
    """A number from a terms file as an exact ``Decimal`` (a float by its shortest repr).

    Args:
        v: A JSON integer, string, float or an already parsed ``Decimal``.
        what: What the number is, for the message (``"an amount in yuan"``).

    Raises:
        TypeError: A boolean or another JSON type.
        ValueError: A string that is not a number, or an infinite / NaN value.
    """
    if isinstance(v, bool):
        raise TypeError(f"{what} must be a number, not a boolean")
    if isinstance(v, float):
        # repr gives the shortest decimal that round-trips: 0.1 -> "0.1", not 0.1000000000000000055
        v = repr(v)
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"{what} {v!r} is not a number") from None
    elif isinstance(v, Decimal):
        d = v
    else:
        raise TypeError(f"{what} must be a JSON string or integer, got {type(v).__name__}")
    if not d.is_finite():
        raise ValueError(f"{what} must be finite")
    return d


def _yuan(v: Any) -> Decimal:
    d = to_decimal(v, "an amount in yuan")
    if d != d.quantize(CENT):
        raise ValueError(
            f"amount {v} has more than two decimals; fix: write yuan exact to the fen, "
            'as a string such as "40000.00" or an integer'
        )
    if d < 0:
        raise ValueError(f"amount {v} is negative; fix: amounts are zero or more yuan")
    return d.quantize(CENT)


def _ratio(v: Any) -> Decimal:
    d = to_decimal(v, "a ratio")
    if d != d.quantize(Decimal("0.0001")):
        raise ValueError(f'ratio {v} has more than four decimals; fix: use e.g. "0.90"')
    if not Decimal(0) < d <= Decimal(1):
        raise ValueError(f"ratio {v} is outside (0, 1]; fix: 1.00 means 100% of the sum insured")
    return d


TermsYuan = Annotated[Decimal, BeforeValidator(_yuan)]
"""Yuan in a terms file: a JSON string or integer (or a float with at most two decimals)."""

Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
"""A fraction of the sum insured, 0 < ratio <= 1, at most four decimals."""


def to_fen(yuan: Decimal) -> int:
    """Yuan (exact to the fen) -> integer fen.

    Raises:
        ValueError: The amount has more than two decimals.
    """
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{yuan} yuan is not exact to the fen")
    return int(fen)


def to_yuan(fen: int) -> Decimal:
    """Integer fen -> ``Decimal`` yuan with two decimals."""
    return Decimal(fen).scaleb(-2).quantize(CENT)


def percent(ratio: Decimal) -> str:
    """``Decimal("0.9")`` -> ``"90%"``, ``Decimal("2")`` -> ``"200%"``, ``0.125`` -> ``"12.5%"``."""
    q = (ratio * 100).quantize(Decimal("0.01")).normalize()
    return f"{q:f}%"


def formula(sum_insured: Decimal, ratio: Decimal, label: str) -> str:
    """Formula text of a share of the sum insured, e.g. ``"40000.00 × 100% (grade 1)"`` (yuan)."""
    return f"{sum_insured:.2f} × {percent(ratio)} ({label})"


def ratio_fen(sum_fen: int, ratio: Decimal) -> int:
    """``sum_fen × ratio`` in integer fen, half-up, via integer basis points.

    Args:
        sum_fen: An amount in fen (e.g. the sum insured).
        ratio: A factor with at most four decimals (a ratio or a multiplier).

    Returns:
        The amount in fen, rounded half up to the fen.
    """
    bp = int(ratio * 10000)
    return (sum_fen * bp + 5000) // 10000


def decimal_share(amount: Decimal, ratio: Decimal) -> Decimal:
    """``amount × ratio`` in yuan, rounded half up to the fen (the pure evaluator's way)."""
    return (amount * ratio).quantize(CENT, rounding=ROUND_HALF_UP)
