"""The console's languages: Babel catalogs compiled in memory at start, the request's locale,
and the translation of typed errors by their code.

One job: turn a message id into the reader's language. Chinese (``zh_CN``) is the default,
English (``en``) the second language; message ids are the English text, so an untranslated
string still reads in English. The catalogs are the ``.po`` files in ``claims/web/locales/``,
read and compiled when the process starts (no build step, no ``.mo`` files in the tree).

Updating the catalogs after changing strings (templates and Python)::

    .venv/bin/pybabel extract -F claims/web/babel.cfg -o /tmp/messages.pot claims/web
    .venv/bin/pybabel update -i /tmp/messages.pot -d claims/web/locales --no-fuzzy-matching

then translate the new ``msgstr`` entries of ``locales/zh_CN/LC_MESSAGES/messages.po``. Every
``*.po`` file in a locale's ``LC_MESSAGES`` is read and merged (``messages.po`` first), so a
screen group may keep its own catalog file.
Strings that are not in a call of ``_`` where they are written (the tables below) are
marked with ``N_`` so ``pybabel extract`` finds them.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from claims.errors import ClaimsError

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "zh_CN"
LOCALES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
"""The languages offered, each named in itself (what the language switch shows)."""
LANG_COOKIE = "claims_lang"
"""The cookie that keeps the reader's choice of language."""

Translate = Callable[[str], str]


def N_(message: str) -> str:  # noqa: N802 - the conventional marker name for pybabel
    """Mark a string for extraction without translating it here."""
    return message


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``locale``: ``messages.po`` and any other ``*.po`` beside it (a
    screen group may keep its strings in a file of its own, e.g. ``inbox.po``), merged;
    ``NullTranslations`` when there is none."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    files = sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))
    if not files:
        return _gettext.NullTranslations()
    merged = None
    for po in files:
        with po.open("rb") as f:
            catalog = read_po(f, locale=locale)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            existing = merged.get(message.id) if message.id else None
            if message.id and message.string and (existing is None or not existing.string):
                merged[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, merged, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def pick_locale(cookie: str | None, accept_language: str | None = None) -> str:
    """The reader's locale: the language cookie when it names an offered language, else the
    default (Chinese). ``Accept-Language`` is consulted only for an explicit English
    preference ahead of any Chinese one."""
    if cookie in LOCALES:
        return cookie
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                break
            if tag.startswith("en"):
                return "en"
    return DEFAULT_LOCALE


def gettext_for(locale: str) -> Translate:
    """``_`` for ``locale``."""
    return translations(locale if locale in LOCALES else DEFAULT_LOCALE).gettext


def ngettext_for(locale: str) -> Callable[[str, str, int], str]:
    """``ngettext`` for ``locale``."""
    return translations(locale if locale in LOCALES else DEFAULT_LOCALE).ngettext


# --------------------------------------------------------------------------- field terms

STAGES: dict[str, str] = {
    "reported": N_("Reported"),
    "documents": N_("Collecting documents"),
    "investigation": N_("Investigation"),
    "adjudication": N_("Adjudication"),
    "payout": N_("Payout"),
    "closed": N_("Closed"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}
"""Stage names (``claims.models.Stage``) as message ids: 报案, 资料收集, 调查, 核定, 赔付, 结案, 拒赔."""

ROLES: dict[str, str] = {
    "village_secretary": N_("Village secretary"),
    "handler": N_("Claims handler"),
    "investigator": N_("Investigator"),
    "supervisor": N_("Supervisor"),
    "auditor": N_("Auditor"),
    "system": N_("Engine"),
}
"""Role names (``claims.models.Role``) as message ids."""

STEPS: dict[str, str] = {
    "register": N_("Register"),
    "request_documents": N_("Request documents"),
    "receive_documents": N_("Receive documents"),
    "complete_documents": N_("Complete documents"),
    "request_investigation": N_("Request investigation"),
    "record_investigation": N_("Record investigation"),
    "refer_to_consultation": N_("Refer to consultation"),
    "adjudicate": N_("Adjudicate"),
    "approve_payout": N_("Approve payout"),
    "override_finding": N_("Override finding"),
    "pay": N_("Pay"),
    "decline": N_("Decline"),
    "reassign": N_("Reassign"),
}
"""Step names (``claims.models.steps.STEP_RULES``) as message ids: 立案, 核定, 赔付, 拒赔 …"""

ERRORS: dict[str, str] = {
    "auth.failed": N_("Wrong user name or password"),
    "auth.locked": N_("Too many failed logins: try again in {minutes} minutes"),
    "claim.not_found": N_("No claim {claim_number}"),
    "claim.opening": N_("The claim is still being opened: try again in a moment"),
    "claim.busy": N_("Another step on this claim is in progress: try again in a moment"),
    "claim.ended": N_("This claim is finished: no more steps"),
    "stage.not_allowed": N_("Not allowed at this stage (allowed at: {allowed})"),
    "role.not_allowed": N_("Your role may not do this (roles: {allowed})"),
    "assignment.other_handler": N_("This claim is assigned to {handler}; ask a supervisor to reassign it"),
    "scope.county": N_("This claim is in {county}, outside your county"),
    "scope.village": N_("This claim is in {village}, outside your village"),
    "documents.cannot_waive": N_(
        "Cannot waive {documents}: not requested or on the checklist, or already received"
    ),
    "documents.missing": N_("Still missing {documents}: receive them first, or waive each with a reason"),
    "documents.checklist_unmet": N_(
        "The checklist still lacks {documents}: receive them, or waive each with a reason"
    ),
    "consultation.already_referred": N_("Already referred to the joint consultation"),
    "investigation.already_planned": N_("An investigation is already planned"),
    "finding.blocks_pay": N_(
        "The investigator found the event not as reported: a supervisor must override the finding first"
    ),
    "finding.none_to_override": N_("There is no finding to override"),
    "authority.above_limit": N_(
        "{total} yuan is above the handler authority limit of {limit} yuan: "
        "a supervisor must approve it first"
    ),
    "authority.within_limit": N_(
        "{total} yuan is within the handler authority limit of {limit} yuan: no approval is needed"
    ),
    "payout.already_approved": N_("This payout is already approved"),
    "payout.already_paid": N_("Already paid with another transfer reference"),
    "payout.in_batch": N_(
        "The claim is in open payout batch {batch}: it is paid with the batch, "
        "or the batch is cancelled first"
    ),
    "reopen.period_over": N_("The reopen period ended at {until}"),  # issue 17
    "reopen.closed_without_decision": N_(  # issue 17
        "Closed without a decision ({closure}): report the event again instead"
    ),
    "advance.above_established": N_(  # issue 17
        "{amount} yuan is more than can be established now ({established} yuan)"
    ),
    "advance.already_paid": N_(  # issue 17
        "An advance was already paid on this claim; the final payment pays the rest"
    ),
    "advance.outstanding": N_(  # issue 17
        "{paid} yuan was paid in advance: decline the claim instead, so it is recovered"
    ),
    "review.pending": N_(  # issue 17
        "Held for review before payment ({rules}): a supervisor must clear it or refer it to investigation"
    ),
    "review.none_open": N_("The claim has no open review hold"),  # issue 17
    "document.already_rejected": N_("This file was already sent back"),  # issue 15
    "document.already_accepted": N_("This file was already accepted"),  # issue 15
    "document.mismatch": N_("This is not the file the claim received"),  # issue 15
    "batch.claim_not_payable": N_("Claim {claim} cannot be in this batch or be paid with it"),
    "letter.none": N_("Claim {claim} issued no refusal letter"),
    "step.too_many_attempts": N_("The step failed too many times; ask a supervisor"),
    "step.no_answer": N_(
        "No answer in time: the step may still be performed; check the claim before trying again"
    ),
    "service.unavailable": N_("A service the console needs is not answering; try again later"),
    "input.invalid": N_("{field}: invalid input"),
}
"""Messages of typed errors by ``code`` (``claims.errors``, ``claims.models.steps.RejectionCode``)."""


LIST_SEPARATOR = N_(", ")
"""Between the items of a list in a sentence (Chinese: 、)."""


class _Params(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def error_message(error: ClaimsError, _: Translate, *, in_words: bool = False) -> str:
    """``error`` in the reader's language: the message of its code with its params filled in;
    the error's own (English) message when the code has none or a param is missing. An input
    error keeps its own message (it names the field and the rule broken). ``in_words``: stage
    and role codes in the params (``allowed``, ``stage``, ``role``) are named in the reader's
    language too ("核定、调查" instead of "adjudication, investigation")."""
    template = ERRORS.get(error.code)
    if template is None or error.code == "input.invalid":
        return error.message
    params = _terms(error.params, _) if in_words else error.params
    return format_message(_(template), params) or error.message


def _terms(params: Mapping[str, Any], _: Translate) -> dict[str, Any]:
    """Params with stage and role codes (alone or in a comma list: ``allowed``) in words."""
    words = {**STAGES, **ROLES}
    separator = _(LIST_SEPARATOR)
    out = dict(params)
    for key in ("allowed", "stage", "role"):
        value = out.get(key)
        if isinstance(value, str) and value:
            out[key] = separator.join(_(words[v]) if v in words else v for v in value.split(", "))
    return out


def format_message(template: str, params: Mapping[str, Any]) -> str:
    """``template`` filled from ``params``; '' when a placeholder has no value."""
    try:
        return template.format_map(_Params(params))
    except (KeyError, IndexError, ValueError):
        return ""
