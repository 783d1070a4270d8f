"""``claims terms``: check a terms file and explain a claim's decision clause by clause.

One job: the ``terms`` command group. ``check`` needs no server; ``explain`` reads the claim
through ``claims.services.views.claim_view`` (the reader's scope applies).
"""

from __future__ import annotations

from pathlib import Path

import click

from claims.cli.common import UsageError, run_async, services_of, viewer_of
from claims.errors import ClaimNotFound, Unavailable
from claims.models import ClaimState, CoverageDecision
from claims.services.views import claim_view
from rules.facts import policy_rules
from rules.terms import (
    BenefitRule,
    Catalogue,
    LoadedTerms,
    TermsError,
    load_catalogue,
    load_terms_file,
)


def _when(rule_conds: tuple) -> str:  # type: ignore[type-arg]
    return ", ".join(c.words() for c in rule_conds)


def describe_terms(loaded: LoadedTerms) -> list[str]:
    """The clauses of a terms file in words, one line each (what ``terms check`` prints).

    Returns:
        Lines: the product, its range and sums insured (yuan), the policy-level clauses,
        the exclusions and, per benefit, each rule with its conditions and effect.
    """
    t = loaded.terms
    e = t.eligibility
    out = [
        f"{t.terms_version}: {t.name_zh} / {t.name_en}",
        f"  file {loaded.path.name}, sha256 {loaded.sha256}",
        f"  in force for policies issued {t.effective_from} to {t.effective_to}",
        f"  sums insured (yuan): {', '.join(f'{x:.2f}' for x in t.sum_insured_options)}",
        f"  insurable ages {e.min_age}-{e.max_age}" + (f", sex {e.sex.value}" if e.sex else ""),
        f"  claims time-barred {t.claim_limitation_years} years after the accident (Insurance Law art. 26)",
    ]
    if t.defaults:
        out.append(f"  config defaults: {', '.join(t.config_defaults) or '-'}; {t.defaults_note}")
    out.append("policy clauses (refuse the whole policy):")
    for pr in policy_rules(t):
        out.append(f"  {pr.rule_id}: refuse when {_when(pr.when)}")
    out.append("exclusions:")
    for x in t.exclusions:
        out.append(f"  {x.id}: circumstance {x.circumstance}: {x.reason_zh} / {x.reason_en}")
    out.append("benefits:")
    for b in t.benefits:
        out.append(f"  {b.id} ({b.kind}) {b.name_zh} / {b.name_en}: {b.describe()}")
        for r in b.rules(t):
            out.append(
                f"    {r.rule_id}: {r.effect} when {_when(r.when)}" + (f" ({r.summary})" if r.summary else "")
            )
    return out


def _sibling_overlaps(loaded: LoadedTerms) -> list[str]:
    """Other versions of the same product beside the file whose ranges overlap it."""
    t = loaded.terms
    problems = []
    for other in sorted(loaded.path.parent.glob(f"{t.product_code}@*.json")):
        if other.resolve() == loaded.path.resolve():
            continue
        try:
            o = load_terms_file(other).terms
        except TermsError:
            continue  # that file's own problem; `terms check` it separately
        if (
            o.product_code == t.product_code
            and o.effective_from <= t.effective_to
            and t.effective_from <= o.effective_to
        ):
            problems.append(
                f"{loaded.path.name}: effective {t.effective_from}..{t.effective_to} overlaps {other.name} "
                f"({o.effective_from}..{o.effective_to}); fix: end one version before the other begins"
            )
    return problems


def _rule_index(catalogue: Catalogue) -> dict[tuple[str, str], BenefitRule]:
    index = {}
    for loaded in catalogue:
        for b in loaded.terms.benefits:
            for r in b.rules(loaded.terms):
                index[(loaded.terms_version, r.rule_id)] = r
    return index


def explain_decision(decision: CoverageDecision, catalogue: Catalogue | None = None) -> list[str]:
    """A decision in words, clause by clause (what ``terms explain`` prints).

    Each benefit line: policy, terms version and hash (flagged when the shipped file has
    changed since), amount in yuan, formula, and each rule id with what the rule says;
    each refusal with its clause and reason; what a handler must settle; the total.
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    rules = _rule_index(cat)
    out = [f"claim {decision.claim_number}: decided by {decision.engine}"]
    for line in decision.lines:
        out.append(
            f"  pays {line.amount:.2f} yuan under policy {line.policy_number}, "
            f"{line.benefit_id} ({line.kind})"
        )
        out.append(f"    formula: {line.formula}")
        for rid in line.rule_ids:
            rule = rules.get((line.terms_version, rid))
            out.append(f"    rule {rid}" + (f": {rule.summary}" if rule is not None and rule.summary else ""))
        now = cat.entries.get(line.terms_version)
        changed = (
            "" if now is None or now.sha256 == line.terms_hash else " (the shipped file has changed since)"
        )
        out.append(f"    terms {line.terms_version}, sha256 {line.terms_hash}{changed}")
    for r in decision.refusals:
        out.append(f"  refused under policy {r.policy_number}, clause {r.clause_id}: {r.reason}")
    for n in decision.needs_handler:
        out.append(f"  needs a handler: {n}")
    out.append(
        f"  total {decision.total:.2f} yuan" + ("" if decision.payable else " (not payable as it stands)")
    )
    return out


@click.group()
def terms() -> None:
    """Coverage terms: check a terms file, explain a claim's decision."""


@terms.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate terms FILE and print its clauses.

    Errors name the file, the clause and the fix, and exit with code 2.
    """
    if not file.is_file():
        raise UsageError(f"{file}: no such file; fix: give the path of a <product>@<version>.json terms file")
    try:
        loaded = load_terms_file(file)
    except TermsError as exc:
        raise UsageError(str(exc)) from None
    overlaps = _sibling_overlaps(loaded)
    if overlaps:
        raise UsageError("\n".join(overlaps))
    for line in describe_terms(loaded):
        click.echo(line)
    click.echo(f"ok: {file.name} is valid")


@terms.command()
@click.argument("claim")
@click.pass_context
@run_async
async def explain(ctx: click.Context, claim: str) -> None:
    """Print the decision of CLAIM in words: each benefit with its formula and rule ids,
    each refusal with its reason, the terms version and hash."""
    try:
        state: ClaimState = await claim_view(services_of(ctx), viewer_of(ctx), claim)
    except ClaimNotFound as exc:
        raise UsageError(exc.message) from None
    except Unavailable as exc:
        raise click.ClickException(exc.message) from None
    if state.decision is None:
        raise click.ClickException(f"claim {claim} has no decision yet (stage {state.stage.value})")
    for line in explain_decision(state.decision):
        click.echo(line)
