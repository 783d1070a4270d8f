"""Decisions per second through durable_rules and through the pure evaluator, and memory.

Runs the same 10,000 generated coverage requests (every benefit kind of every shipped
product: death, disability, accident medical, hospital cash, critical illness; and
10,000 triage requests) through
both evaluators in one run and prints the rates and their ratio (the pure evaluator is
the floor measured in the same run), then the peak RSS (``resource.getrusage``) before
and after 100,000 further durable_rules evaluations: flat memory means every session
was deleted.

Usage: ``.venv/bin/python bench/bench_rules.py [--n 10000] [--soak 100000]``
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from tests.support.factories import random_coverage, random_triage


def rate(fn, items) -> float:  # type: ignore[no-untyped-def]
    """Calls per second of ``fn`` over ``items``."""
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def max_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--soak", type=int, default=100_000)
    args = parser.parse_args()

    rng = random.Random(2022)
    cov = [random_coverage(rng, i) for i in range(args.n)]
    tri = [random_triage(rng) for _ in range(args.n)]
    engine, pure = RulesEngine.shared(), PureEvaluator()

    # the same decisions, or the figures mean nothing
    for req in cov[:500]:
        a, b = engine.evaluate_coverage(req), pure.evaluate_coverage(req)
        assert a.model_dump(exclude={"engine"}) == b.model_dump(exclude={"engine"}), req
    decisions = [pure.evaluate_coverage(r) for r in cov]
    paying = sum(1 for d in decisions if d.lines)
    kinds = Counter(ln.kind for d in decisions for ln in d.lines)
    refused = Counter(
        r.clause_id.split(".")[1] if r.clause_id.startswith("benefit.") else "policy"
        for d in decisions
        for r in d.refusals
    )
    print(f"{args.n} coverage requests ({paying} with a paying line), {args.n} triage requests")
    print("  paying lines by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("  refusals by clause group: " + ", ".join(f"{k} {n}" for k, n in sorted(refused.items())))

    for label, items, d_fn, p_fn in (
        ("coverage", cov, engine.evaluate_coverage, pure.evaluate_coverage),
        ("triage", tri, engine.triage, pure.triage),
    ):
        d_rate, p_rate = rate(d_fn, items), rate(p_fn, items)
        print(
            f"{label:9s} durable_rules {d_rate:9.0f}/s   pure {p_rate:9.0f}/s   "
            f"durable/pure {d_rate / p_rate:5.2f}"
        )

    before = max_rss_mib()
    start = time.perf_counter()
    for i in range(args.soak):
        engine.evaluate_coverage(cov[i % len(cov)])
    took = time.perf_counter() - start
    print(
        f"soak: {args.soak} durable_rules coverage evaluations in {took:.1f}s "
        f"({args.soak / took:.0f}/s); max RSS {before:.1f} MiB before, "
        f"{max_rss_mib():.1f} MiB after"
    )


if __name__ == "__main__":
    main()
