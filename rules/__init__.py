"""Coverage terms and triage as data, evaluated by durable_rules (and a pure twin).

Public API:
    :func:`rules.terms.load_catalogue`, :class:`rules.terms.Catalogue`,
    :class:`rules.terms.TermsError`, :class:`rules.engine.RulesEngine`,
    :class:`rules.pure.PureEvaluator`, :func:`rules.triage.load_triage`.

``rules.engine`` imports durable_rules (a C extension); import it only where rules run
(activities), never in workflow code.
"""
