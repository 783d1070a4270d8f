"""The rules engine: terms and triage data compiled into durable_rules rulesets.

One ruleset per terms version (``coverage@family_accident@2020``) and one for triage
(``triage@<version>``), built from the data when the engine starts. Every rule tests a
single flat fact of ints (fen, days, years, 0/1) and strings; joins between facts have
crashed durable_rules (public issue #381) and are not used.

Each evaluation asserts one fact per policy in a fresh session and deletes the session
in ``finally`` (durable_rules allows 1024 live sessions per ruleset; the 1025th raises
``MemoryError`` and breaks the ruleset). The host runs no background dispatch threads,
so every action runs in the caller's thread and ``assert_fact`` always returns the
state. One engine per process, behind a lock: the C engine holds the GIL anyway.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from durable.engine import Host, MessageNotHandledException  # type: ignore[import-untyped]

from claims.models import (
    CoverageDecision,
    CoverageRequest,
    PolicySnapshot,
    TriageRequest,
    TriageResult,
)
from rules.benefits import BenefitBase
from rules.conditions import BenefitRule, Cond, CondOp
from rules.facts import (
    BenefitRefusal,
    Pay,
    PolicyVerdict,
    check_flat,
    coverage_fact,
    judge_policies,
    policy_rules,
)
from rules.terms import Catalogue, LoadedTerms, load_catalogue
from rules.triage import TriageRules, load_triage, triage_fact, triage_result

_FIRED = "fired:"
EVALUATED = "engine.evaluated"
"""A rule every coverage fact matches (see ``_compile_coverage``); never shown in decisions."""
_NEGATE: dict[CondOp, CondOp] = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


class RulesEngineError(RuntimeError):
    """durable_rules failed: an action raised, or the call returned no state.

    This is an engine fault, not a claim decision; the caller may retry.
    """


class _CallerThreadHost(Host):
    """A ``Host`` without the background dispatch and timer threads.

    ``Host.__init__`` calls ``_run``, which starts two ``threading.Timer`` loops polling
    every ruleset; such a thread occasionally runs a pending action itself, and the
    caller's ``assert_fact`` then returns ``None``. We use no timers, so nothing is lost.
    """

    def _run(self) -> None:
        return


def ruleset_name(prefix: str, version: str) -> str:
    """``prefix@version`` with anything outside ``[A-Za-z0-9_.@-]`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{prefix}@{version}")


def _match(conds: tuple[Cond, ...]) -> dict[str, Any]:
    parts = [c.durable() for c in conds]
    return parts[0] if len(parts) == 1 else {"$and": parts}


@dataclass(frozen=True)
class _CoverageSet:
    name: str
    loaded: LoadedTerms
    refusal_ids: tuple[str, ...]
    benefit_rules: tuple[tuple[BenefitBase, BenefitRule], ...]


class RulesEngine:
    """Coverage and triage decisions through durable_rules.

    Args:
        catalogue: Terms catalogue; defaults to :func:`rules.terms.load_catalogue`.
        triage_rules: Triage data; defaults to :func:`rules.triage.load_triage`.

    Use :meth:`shared` for the one engine of the process; a separate instance (e.g. in
    tests, with another catalogue) has its own host and rulesets.
    """

    name = "durable_rules"
    _shared: ClassVar[RulesEngine | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, catalogue: Catalogue | None = None, triage_rules: TriageRules | None = None) -> None:
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.triage_rules = triage_rules if triage_rules is not None else load_triage()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._host = _CallerThreadHost()
        self._coverage: dict[str, _CoverageSet] = {}
        definitions: dict[str, dict[str, Any]] = {}
        for loaded in self.catalogue.entries.values():
            cs, definition = self._compile_coverage(loaded)
            if cs.name in definitions:
                raise ValueError(f"two terms versions sanitise to ruleset name {cs.name!r}")
            self._coverage[loaded.terms_version] = cs
            definitions[cs.name] = definition
        self._triage_name = ruleset_name("triage", self.triage_rules.version)
        definitions[self._triage_name] = self._compile_triage(self.triage_rules)
        # register_rulesets strips 'run' from the dicts it is given: they are built fresh here
        self._host.register_rulesets(definitions)

    @classmethod
    def shared(cls) -> RulesEngine:
        """The process-wide engine, built on first use with the shipped data."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def ruleset_names(self) -> list[str]:
        """Names of the registered rulesets (coverage per terms version, then triage)."""
        return [c.name for c in self._coverage.values()] + [self._triage_name]

    # ------------------------------------------------------------------ compile

    @staticmethod
    def _flag(rule_id: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            c.s[_FIRED + rule_id] = 1

        return run

    @staticmethod
    def _pay(rule_id: str, amount_fen: Callable[[Mapping[str, Any]], int]) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            c.s[_FIRED + rule_id] = int(amount_fen(c.m))

        return run

    def _compile_coverage(self, loaded: LoadedTerms) -> tuple[_CoverageSet, dict[str, Any]]:
        terms = loaded.terms
        # Every fact matches this rule, so durable_rules never takes its "no rule matched"
        # path: deleting the session after MessageNotHandledException on a ruleset that has
        # not yet handled a message crashes the process (segfault / double free, seen with
        # durable_rules 2.0.28 on an elderly_accident fact with a medical outcome).
        definition: dict[str, Any] = {
            EVALUATED: {"all": [{"m": Cond("outcome", "ne", "").durable()}], "run": self._flag(EVALUATED)}
        }
        prules = policy_rules(terms)
        for pr in prules:
            definition[pr.rule_id] = {
                "all": [{"m": _match(pr.when)}],
                "run": self._flag(pr.rule_id),
            }
        brules: list[tuple[BenefitBase, BenefitRule]] = []
        for b in terms.benefits:
            for br in b.rules(terms):
                if br.rule_id in definition:
                    raise ValueError(f"{terms.terms_version}: rule id {br.rule_id} twice")
                if br.effect == "pay":
                    assert br.amount_fen is not None
                    run = self._pay(br.rule_id, br.amount_fen)
                else:
                    run = self._flag(br.rule_id)
                definition[br.rule_id] = {"all": [{"m": _match(br.when)}], "run": run}
                brules.append((b, br))
        cs = _CoverageSet(
            name=ruleset_name("coverage", terms.terms_version),
            loaded=loaded,
            refusal_ids=tuple(pr.rule_id for pr in prules),
            benefit_rules=tuple(brules),
        )
        return cs, definition

    def _compile_triage(self, rules: TriageRules) -> dict[str, Any]:
        definition: dict[str, Any] = {
            EVALUATED: {"all": [{"m": Cond("outcome", "ne", "").durable()}], "run": self._flag(EVALUATED)}
        }
        for r in rules.green_channel + rules.class_rules:
            definition[r.id] = {"all": [{"m": _match(rules.conds(r))}], "run": self._flag(r.id)}
        # "otherwise ordinary": no case-class rule holds, i.e. for every class rule at
        # least one of its conditions fails.
        clauses = []
        for r in rules.class_rules:
            neg = [Cond(c.field, _NEGATE[c.op], c.value).durable() for c in rules.conds(r)]
            clauses.append(neg[0] if len(neg) == 1 else {"$or": neg})
        match: dict[str, Any]
        if not clauses:
            match = {"$gte": {"policy_count": 0}}
        else:
            match = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        definition[rules.ordinary.id] = {
            "all": [{"m": match}],
            "run": self._flag(rules.ordinary.id),
        }
        return definition

    # ------------------------------------------------------------------ run

    def _fire(self, ruleset: str, flat: dict[str, Any]) -> dict[str, Any]:
        """Assert one flat fact in a fresh session; return ``{rule_id: value}`` that fired.

        Raises:
            RulesEngineError: An action raised, or durable_rules returned no state.
        """
        check_flat(flat)
        with self._lock:
            sid = str(next(self._seq))
            fact = {"sid": sid, "id": "fact", **flat}
            try:
                try:
                    state = self._host.assert_fact(ruleset, fact)
                except MessageNotHandledException:
                    return {}
                if state is None:
                    raise RulesEngineError(f"{ruleset}: assert_fact returned no state")
                if "exception" in state:
                    raise RulesEngineError(f"{ruleset}: an action failed: {state['exception']}")
                return {k[len(_FIRED) :]: v for k, v in state.items() if k.startswith(_FIRED)}
            finally:
                self._host.delete_state(ruleset, sid)

    def evaluate_coverage(self, req: CoverageRequest) -> CoverageDecision:
        """Judge every policy that may answer the event.

        Per policy (in request order): an unknown terms version, a product or sum insured
        the terms do not know, or an issue date outside the version's effective range goes
        to ``needs_handler``. Otherwise the policy is refused, one ``Refusal`` per clause,
        when the accident is outside the policy period (``policy.period``), the insured's
        age at the accident (whole years) is outside the eligible ages
        (``eligibility.age``), the report came more than ``claim_limitation_years`` after
        the accident (``limitation.time_barred``, Insurance Law art. 26), or a
        circumstance is excluded (the exclusion's id and reason). Otherwise each benefit
        answering the outcome gives a ``BenefitLine`` (death: the sum insured less disability
        already paid for the accident; disability: sum insured × the JR/T 0083-2013 grade
        ratio, several injuries per that standard; accident medical; hospital cash;
        critical illness: see :mod:`rules.benefits`) or a ``Refusal`` under the benefit rule's
        id (waiting period, deductible, limit used up, diagnosis not covered), and facts
        that cannot be judged (no grade, a grade outside 1..10, an unknown diagnosis code)
        go to ``needs_handler``.

        Args:
            req: The event, the insured and every policy that may answer it.

        Returns:
            The decision: lines and ``total`` in yuan (computed in fen), refusals, and
            ``needs_handler`` reasons; ``engine="durable_rules"``.

        Raises:
            RulesEngineError: durable_rules itself failed.
        """
        return judge_policies(
            req,
            self.catalogue,
            self.name,
            lambda policy, loaded: self._policy(req, policy, self._coverage[loaded.terms_version]),
        )

    def _policy(self, req: CoverageRequest, policy: PolicySnapshot, cs: _CoverageSet) -> PolicyVerdict:
        flat = coverage_fact(req, policy, cs.loaded.terms)
        fired = self._fire(cs.name, flat)
        v = PolicyVerdict(refusals=[rid for rid in cs.refusal_ids if rid in fired])
        for benefit, br in cs.benefit_rules:
            if br.rule_id not in fired:
                continue
            if br.effect == "pay":
                assert br.formula is not None
                v.pays.append(Pay(benefit, br.rule_id, int(fired[br.rule_id]), br.formula(flat, req)))
            elif br.effect == "refuse":
                assert br.message is not None
                v.benefit_refusals.append(BenefitRefusal(br.rule_id, br.message(req, policy)))
            else:
                assert br.message is not None
                v.needs.append(br.message(req, policy))
        return v

    def triage(self, req: TriageRequest) -> TriageResult:
        """Green channel and case class for a reported claim.

        Green channel (seed; criteria config): registered-poor household, special
        family-planning family, hardship family, reported death, reported grade-1
        disability, or a nomination. Case class ``investigation`` when the report came
        more than ``late_report_days`` (default 30) calendar days after the accident, the
        policies' sums insured total more than ``large_amount_yuan`` (default 200,000
        yuan), or there is no third-party record; else ``disputed`` when a handler flagged
        it (``TriageRequest.disputed``); else ``clear`` when reported within
        ``clear_report_days`` (7) with a third-party record and at most
        ``clear_amount_yuan`` (20,000 yuan) insured; otherwise ``ordinary``
        (``rules/triage.json``, config defaults).

        Returns:
            ``TriageResult`` with the fired rule ids (e.g. ``green.registered_poor``,
            ``class.investigation.late_report``) and their reasons: green-channel rules,
            then the chosen class's rules, in file order.

        Raises:
            RulesEngineError: durable_rules itself failed, or the class rules disagreed.
        """
        fact = triage_fact(req)
        fired = set(self._fire(self._triage_name, fact))
        try:
            return triage_result(self.triage_rules, fired, fact)
        except RuntimeError as exc:
            raise RulesEngineError(str(exc)) from exc
