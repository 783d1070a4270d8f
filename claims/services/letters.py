"""Refusal letters (拒赔通知书, art. 24): a declined claim's letter as PDF or HTML, as it was issued.

One job: find the letter the claim issued (``ClaimState.refusal_letter``: what it was built
from and its sha256) and build it again to the same bytes (``claims.reports.letter``); the
bytes are checked against the recorded sha256, so a printed letter is the issued one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from claims.errors import ClaimsError
from claims.models import Actor, LetterIssued
from claims.reports.letter import letter_html, letter_pdf
from claims.services.context import Services
from claims.services.views import claim_view


class NoLetter(ClaimsError):
    """The claim issued no refusal letter (not declined, or declined before letters were issued)."""

    code = "letter.none"


class LetterMismatch(ClaimsError):
    """The letter built again does not match the sha256 recorded when it was issued."""

    code = "letter.mismatch"


@dataclass(frozen=True)
class LetterFile:
    """A refusal letter: the PDF's bytes, the printable HTML, and what the claim recorded."""

    claim_number: str
    pdf: bytes
    html: str
    issued: LetterIssued

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


async def refusal_letter(services: Services, actor: Actor | None, claim_number: str) -> LetterFile:
    """The claim's refusal letter, as issued.

    Raises:
        claims.errors.ClaimNotFound: no such claim, or not in the reader's scope.
        NoLetter: the claim issued none.
        LetterMismatch: the bytes built again differ from the recorded sha256 (terms or layout
            changed under the letter: the recorded request is kept, so this means a code change).
    """
    state = await claim_view(services, actor, claim_number)
    issued = state.refusal_letter
    if issued is None:
        raise NoLetter(
            f"claim {claim_number} issued no refusal letter (stage {state.stage.value})",
            params={"claim": claim_number},
        )
    pdf = letter_pdf(issued.request)
    got = hashlib.sha256(pdf).hexdigest()
    if got != issued.sha256:
        raise LetterMismatch(
            f"claim {claim_number}: the letter built again has sha256 {got}, issued {issued.sha256}",
            params={"claim": claim_number},
        )
    return LetterFile(claim_number=claim_number, pdf=pdf, html=letter_html(issued.request), issued=issued)
