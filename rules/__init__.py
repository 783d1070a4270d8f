"""Coverage terms, triage, the document checklist and the SLA policy as data, evaluated by
durable_rules (and a pure twin).

One job per module, imports only downwards (each line may import the lines above it):

* :mod:`rules.errors` (TermsError, UnknownTermsVersion, SlaPolicyError and the one formatter
  of validation errors), :mod:`rules.money` (yuan/fen), :mod:`rules.schema` (model base, id
  patterns), :mod:`rules.icd10` (ICD-10 categories);
* :mod:`rules.conditions`: Cond, BenefitRule, Assessment;
* :mod:`rules.benefits`: ``base`` (BenefitBase, the kind registry), one module per benefit
  kind, ``priors`` (earlier payments) and ``waiting`` (waiting periods); the package builds
  the kinds' union;
* :mod:`rules.terms`: Terms, Eligibility, Exclusion, Catalogue and loading;
* :mod:`rules.facts` (flat facts, policy checks, assembly), :mod:`rules.triage`,
  :mod:`rules.documents`, :mod:`rules.sla`;
* :mod:`rules.engine` (RulesEngine, durable_rules), :mod:`rules.pure` (PureEvaluator) and
  :mod:`rules.evaluator` (the Evaluator protocol callers depend on).

The data files stay beside the code: ``terms/*.json``, ``triage.json``, ``documents.json``,
``exclusions.json``, ``icd10.json``, ``sla_policy*.json``. The package imports nothing from the
layers above it (store, activities, workflows, services, command line); it may import
``claims.models``, ``claims.errors`` and ``claims.domain``.

``rules.engine`` imports durable_rules (a C extension); import it only where rules run
(the worker), never in workflow code. This file imports nothing, so that importing any
module of the package stays light.
"""
