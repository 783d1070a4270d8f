"""The benefit kinds of the terms files, registered in a fixed order, and their union :data:`Benefit`.

Importing this package registers every kind in :data:`rules.benefits.base.BENEFIT_KINDS`, in
the order death, disability, medical, hospital cash, critical illness: the order of the union
and of the kinds named in error messages. A new kind is one module here and one import below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from rules.benefits.base import BENEFIT_KINDS, BenefitBase, TermsView, benefit_kind

# The import order below is the registration order: the union's, and that of error messages.
# isort: off
from rules.benefits.accidental_death import AccidentalDeath
from rules.benefits.accidental_disability import AccidentalDisability
from rules.benefits.accident_medical import AccidentMedical
from rules.benefits.hospital_cash import HospitalCash
from rules.benefits.critical_illness import CriticalIllness, Diagnosis

# isort: on

__all__ = [
    "BENEFIT_KINDS",
    "AccidentMedical",
    "AccidentalDeath",
    "AccidentalDisability",
    "Benefit",
    "BenefitBase",
    "CriticalIllness",
    "Diagnosis",
    "HospitalCash",
    "TermsView",
    "benefit_kind",
]


def _benefit_union() -> Any:
    """The discriminated union (on ``kind``) of every registered kind, in registration order."""
    classes = tuple(BENEFIT_KINDS.values())
    union = classes[0] if len(classes) == 1 else Union[classes]  # noqa: UP007
    return Annotated[union, Field(discriminator="kind")]


if TYPE_CHECKING:
    Benefit = BenefitBase
else:
    Benefit = _benefit_union()
    """Any registered benefit kind, discriminated by ``kind``."""
