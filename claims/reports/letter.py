"""The refusal letter (拒赔通知书, Insurance Law art. 24): printable HTML and a PDF with the CJK font.

One job: lay out a :class:`claims.models.LetterRequest` — the reasons, each refused clause's id
and text, the terms version of each policy, the letter's date and the appeal route — as HTML
(``templates/letter.html``) and as PDF (WeasyPrint, WenQuanYi embedded, as the monthly report).

**Determinism**: the same request gives the same bytes; the PDF's creation and modification
dates are the letter's date (``issued_at``), never the clock, so ``claims letter N`` reproduces
the sha256 the workflow recorded when the letter was issued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from claims.domain.timeutil import SHANGHAI
from claims.models import LetterIssued, LetterRequest

TEMPLATES = Path(__file__).resolve().parent / "templates"

LAYOUT = "art24-letter@1"
"""The letter layout's version, recorded with each letter's sha256."""

APPEAL_DAYS = 60
"""Days after receipt within which the claimant may ask for a review (复核) of the decline."""

APPEAL_ROUTE_ZH = (
    f"如对本决定有异议，请自收到本通知书之日起 {APPEAL_DAYS} 日内，持本通知书及补充材料向所在县（市、区）"
    "计生协会理赔服务窗口申请复核（可经村计生专干转交）；亦可向当地保险监管部门投诉（12378），"
    "或依法向人民法院提起诉讼。"
)
APPEAL_ROUTE_EN = (
    f"If you disagree, ask the county family-planning association's claims desk for a review within "
    f"{APPEAL_DAYS} days of receiving this letter (the village secretary can pass it on), with this letter "
    "and any new documents; you may also complain to the insurance regulator (12378) or sue in court."
)


@dataclass(frozen=True)
class Clause:
    """A refused clause as the letter states it: policy, clause id, the clause's text, the reason."""

    policy_number: str
    clause_id: str
    text: str
    reason: str


@lru_cache(maxsize=1)
def _clause_texts() -> dict[tuple[str, str], str]:
    """(terms version, clause id) → the clause's Chinese text, from the terms catalogue's exclusions."""
    from rules.terms import load_catalogue

    texts: dict[tuple[str, str], str] = {}
    for version, loaded in load_catalogue().entries.items():
        for e in loaded.terms.exclusions:
            texts[(version, e.id)] = e.reason_zh
    return texts


def clauses(req: LetterRequest) -> list[Clause]:
    """Each refusal with the text of its clause (the terms' own words where the terms file has
    them, else the rules' reason)."""
    versions = {p.policy_number: p.terms_version for p in req.policies}
    texts = _clause_texts()
    return [
        Clause(
            policy_number=r.policy_number,
            clause_id=r.clause_id,
            text=texts.get((versions.get(r.policy_number, ""), r.clause_id), r.reason),
            reason=r.reason,
        )
        for r in req.refusals
    ]


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def letter_html(req: LetterRequest, css_href: str | None = None) -> str:
    """The letter as one printable HTML page (A4 portrait); the stylesheet inlined, or linked at
    ``css_href`` (the console, whose CSP refuses inline styles)."""
    issued = req.issued_at.astimezone(SHANGHAI)
    return (
        _env()
        .get_template("letter.html")
        .render(
            req=req,
            clauses=clauses(req),
            issued_local=issued,
            created=req.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            appeal_zh=APPEAL_ROUTE_ZH,
            appeal_en=APPEAL_ROUTE_EN,
            layout=LAYOUT,
            css_href=css_href,
        )
    )


def stylesheet() -> str:
    """The letter's stylesheet (the console serves it; the PDF and ``--html`` inline it)."""
    return (TEMPLATES / "letter.css").read_text("utf-8")


def letter_pdf(req: LetterRequest) -> bytes:
    """The letter's PDF bytes (WeasyPrint; WenQuanYi embedded; dated ``issued_at``)."""
    from weasyprint import HTML

    return HTML(string=letter_html(req), base_url=str(TEMPLATES)).write_pdf()  # type: ignore[no-any-return]


def issued(req: LetterRequest, pdf: bytes) -> LetterIssued:
    """What the workflow records of an issued letter."""
    return LetterIssued(
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        issued_at=req.issued_at,
        layout=LAYOUT,
        request=req,
    )
