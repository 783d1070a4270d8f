"""Benchmark: the reporting projection at a province's scale (1,000,000 claims) on PostgreSQL.

Fills a database of its own (``claims_bench_projection`` on 127.0.0.1:5432, never ``test``),
migrated with Alembic, with a province's year of claims written by ``COPY``: ~100 counties of
unequal size, 20 townships each (~2,000), 10 villages per township; two insured persons and one
policy per household; claims reported over the last 12 months, most of the old ones finished
(closed, declined, withdrawn), ~10 % open in every stage with deadlines around now; payouts (with
advances), decision records, documents waiting for a check, open receivables, the counties'
handler and supervisor accounts. Then times, each against a bare SQL query written by hand that
returns the same rows (the floor, measured in the same run, alternating with the engine's call):

* ``claims overdue --due-within 2d`` (``claims.services.views.overdue``), unscoped (the
  provincial office) and as a county's supervisor;
* the supervisor's counters (``claims.services.supervision.overview`` without the claims'
  state queries: counters, township × handler table, candidates, handlers, townships,
  lifecycle counts, documents to check);
* a handler's and a supervisor's inbox page with its tab counts
  (``claims.services.console.inbox_page``, view ``all``, page 1);
* the monthly report's rows of one county-month (the reads of ``claims.store.monthly``), and
  ``build_monthly`` (those reads shaped into the report) against the same floor.

Each as median and p95 of ``--repeat`` runs and the ratio of the medians; then the statements
the engine issued, each with its ``EXPLAIN (ANALYZE)`` plan summarised (scans, rows, time).
``--before REV`` first fills and times at Alembic revision REV, then upgrades to head and times
again on the same data (before/after an index migration). The database is dropped at the end
(also on an error) unless ``--keep``; ``--reuse`` times an existing one without filling it.

    nice -n 10 .venv/bin/python bench/bench_projection.py [--claims 1000000] [--repeat 15]
        [--before 0013] [--database claims_bench_projection] [--keep] [--reuse] [--no-explain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import Engine, event, text  # noqa: E402

from claims.domain.timeutil import SHANGHAI  # noqa: E402
from claims.domain.workdays import WorkingCalendar  # noqa: E402
from claims.infra.settings import Settings  # noqa: E402
from claims.models import Actor, Role  # noqa: E402
from claims.reports.monthly import Edition, Month, build_monthly  # noqa: E402
from claims.services import console, supervision, views  # noqa: E402
from claims.services.context import Services  # noqa: E402
from claims.store import monthly as monthly_sql  # noqa: E402
from claims.store.db import MIGRATIONS_DIR, make_engine, make_sessionmaker  # noqa: E402
from claims.store.inbox import InboxView  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
DATABASE = "claims_bench_projection"
COUNTIES = 100
TOWNSHIPS = 20  # per county
VILLAGES = 10  # per township
HANDLERS = 10  # per county
OPEN_STAGES = ("reported", "documents", "investigation", "adjudication", "payout")
OPEN_WEIGHTS = (10, 45, 8, 20, 17)
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
OUTCOMES = ("disability", "death", "medical", "illness")
CLOSING = dt_time(17, 30)
OPEN_SQL = "stage NOT IN ('closed', 'declined', 'withdrawn')"


# --------------------------------------------------------------------------- the data


def county_name(i: int) -> str:
    """The ``i``-th county's name."""
    return f"第{i:03d}县"


def handler_id(county: int, k: int) -> str:
    """The ``k``-th handler account of county ``county``."""
    return f"h{county:03d}.{k}"


def supervisor_id(county: int) -> str:
    """The supervisor account of county ``county``."""
    return f"s{county:03d}"


def _ts(t: datetime | None) -> str:
    return r"\N" if t is None else t.isoformat()


def _s(v: object) -> str:
    return r"\N" if v is None else str(v)


@dataclass
class Filled:
    """Rows written per table, and the instant the data is relative to (aware UTC)."""

    now: datetime
    rows: dict[str, int] = field(default_factory=dict)
    open_claims: int = 0
    seconds: float = 0.0


class Copier:
    """``COPY table (columns) FROM STDIN`` in text format, in blocks of lines."""

    def __init__(self, cur: Any, table: str, columns: Sequence[str]) -> None:
        self.cur, self.table, self.columns = cur, table, columns
        self.lines: list[str] = []
        self.count = 0
        self._cm = cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
        self.copy = self._cm.__enter__()

    def row(self, *values: str) -> None:
        self.lines.append("\t".join(values))
        self.count += 1
        if len(self.lines) >= 20_000:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.lines = []

    def close(self) -> int:
        self.flush()
        self._cm.__exit__(None, None, None)
        return self.count


def fill(url: str, claims: int, now: datetime, seed: int = 18) -> Filled:
    """Write ``claims`` claims (one per insured person) and what they need, by COPY.

    Deterministic for a given ``seed`` and ``now``. Ids are given explicitly (nothing later
    inserts through the sequences).
    """
    import psycopg

    rng = random.Random(seed)
    t0 = time.perf_counter()
    out = Filled(now=now)
    weights = [math.exp(rng.gauss(0, 0.6)) for _ in range(COUNTIES)]
    weights[0] = max(weights) * 1.5  # county 0: the largest, the one whose pages are timed
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    households = max(1, claims // 2)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        places: list[tuple[int, int, int]] = []
        hh = Copier(
            cur,
            "households",
            (
                "id",
                "household_no",
                "county",
                "township",
                "village",
                "registered_poor",
                "special_family",
                "hardship",
            ),
        )
        for h in range(households):
            c = _pick(cum, rng.random() * acc)
            t = rng.randrange(TOWNSHIPS)
            v = rng.randrange(VILLAGES)
            places.append((c, t, v))
            hh.row(
                str(h + 1),
                f"H{h + 1:09d}",
                county_name(c),
                _town(c, t),
                _village(c, t, v),
                "t" if rng.random() < 0.05 else "f",
                "t" if rng.random() < 0.03 else "f",
                "f",
            )
        out.rows["households"] = hh.close()
        pe = Copier(
            cur,
            "insured_persons",
            (
                "id",
                "person_ref",
                "household_id",
                "name",
                "id_number",
                "sex",
                "birth_date",
                "phone",
                "bank_account",
            ),
        )
        for p in range(claims):
            h = p // 2 + 1 if p // 2 < households else households
            pe.row(
                str(p + 1),
                f"P{p + 1:09d}",
                str(h),
                SURNAMES[p % 20] + "某某"[: 1 + p % 2],
                f"43{p + 1:015d}X",
                "MF"[p % 2],
                f"{1950 + p % 50}-0{1 + p % 9}-1{p % 10}",
                f"139{p:08d}"[:11],
                r"\N",
            )
        out.rows["insured_persons"] = pe.close()
        po = Copier(
            cur,
            "policies",
            (
                "id",
                "policy_number",
                "household_id",
                "product_code",
                "terms_version",
                "start_date",
                "end_date",
                "issued_on",
                "premium",
                "sum_insured",
                "ledger_version",
            ),
        )
        start = (now - timedelta(days=400)).date()
        for h in range(households):
            po.row(
                str(h + 1),
                f"FA{h + 1:09d}",
                str(h + 1),
                "family_accident",
                "family_accident@2020",
                start.isoformat(),
                (start + timedelta(days=729)).isoformat(),
                start.isoformat(),
                "100.00",
                "40000.00",
                "0",
            )
        out.rows["policies"] = po.close()
        pi = Copier(cur, "policy_insured", ("policy_id", "person_id"))
        for p in range(claims):
            pi.row(str(min(p // 2, households - 1) + 1), str(p + 1))
        out.rows["policy_insured"] = pi.close()

        cl = Copier(
            cur,
            "claims",
            (
                "claim_number",
                "workflow_id",
                "person_id",
                "attempt",
                "accident_date",
                "reported_on",
                "policy_numbers",
                "outcome",
                "stage",
                "county",
                "township",
                "village",
                "assigned_handler",
                "green_channel",
                "case_class",
                "sla_state",
                "sla_deadline",
                "target_working_days",
                "reported_at",
                "registered_at",
                "decided_at",
                "paid_at",
                "total_paid",
                "updated_at",
                "projection_seq",
                "stuck_activity",
                "stuck_since",
            ),
        )
        payouts: list[tuple[str, int, str, str, Decimal, datetime]] = []
        archives: list[tuple[str, str, datetime, str]] = []
        documents: list[tuple[str, datetime]] = []
        receivables: list[tuple[str, str, Decimal, datetime]] = []
        open_n = 0
        for p in range(claims):
            h = min(p // 2, households - 1)
            c, t, v = places[h]
            age = rng.random() * 365  # days since the report
            reported_at = (now - timedelta(days=age)).replace(microsecond=0)
            accident = (reported_at - timedelta(days=rng.randrange(0, 20))).date()
            number = f"JS{accident:%Y%m%d}-P{p + 1:09d}"
            policy = f"FA{h + 1:09d}"
            open_p = 0.75 if age < 30 else 0.12 if age < 90 else 0.01
            green = rng.random() < 0.03
            target = rng.choice((3, 5, 7, 15, 30)) if not green else 2
            registered = reported_at + timedelta(hours=rng.randrange(1, 30))
            stuck = stuck_since = None
            decided = paid = None
            total = Decimal("0")
            if rng.random() < open_p:
                open_n += 1
                stage = rng.choices(OPEN_STAGES, OPEN_WEIGHTS)[0]
                handler = None if stage == "reported" else handler_id(c, rng.randrange(HANDLERS))
                if stage == "reported":
                    registered = None
                # deadlines are working-day closes (17:30 Asia/Shanghai), as the calendar gives them
                day = (now + timedelta(hours=rng.uniform(-6 * 24, 18 * 24))).astimezone(SHANGHAI).date()
                deadline = datetime.combine(day, CLOSING, tzinfo=SHANGHAI).astimezone(UTC)
                if deadline < now:
                    sla = "breached"
                elif deadline < now + timedelta(days=2) or rng.random() < 0.05:
                    sla = "at_risk"
                else:
                    sla = "on_track"
                if rng.random() < 0.0005:
                    stuck, stuck_since, sla = "project_claim", now - timedelta(hours=3), "stuck"
                if stage == "documents" and rng.random() < 0.3:
                    documents.append((number, registered or reported_at))
                if stage in ("adjudication", "payout") and rng.random() < 0.02:
                    amount = Decimal(rng.choice(("5000.00", "10000.00")))
                    payouts.append((number, 1, policy, "advance", amount, registered + timedelta(days=3)))
                    total = amount
                updated = max(reported_at, now - timedelta(hours=rng.randrange(1, 72)))
            else:
                stage = rng.choices(("closed", "declined", "withdrawn"), (85, 10, 5))[0]
                handler = handler_id(c, rng.randrange(HANDLERS))
                deadline = None
                sla = "breached" if rng.random() < 0.08 else "met"
                span = min(age, rng.uniform(2, 25))
                decided = reported_at + timedelta(days=span * 0.8)
                if stage == "closed":
                    paid = min(now - timedelta(minutes=5), reported_at + timedelta(days=span))
                    main = Decimal(rng.choice(("40000.00", "20000.00", "4000.00", "1234.56", "860.00")))
                    if rng.random() < 0.1:
                        advance = Decimal("5000.00")
                        payouts.append((number, 1, policy, "advance", advance, decided - timedelta(days=1)))
                        payouts.append((number, 2, policy, "accidental_disability", main, paid))
                        total = main + advance
                    else:
                        payouts.append((number, 1, policy, "accidental_disability", main, paid))
                        total = main
                    if rng.random() < 0.001:
                        receivables.append((number, policy, Decimal("5000.00"), paid))
                elif stage == "withdrawn":
                    decided = None
                if stage != "withdrawn":
                    archives.append(
                        (number, stage, paid or decided, rng.choice(("drowning", "road_accident", "fall")))
                    )
                updated = paid or decided or reported_at + timedelta(days=span)
            cl.row(
                number,
                f"claim-{number}",
                str(p + 1),
                "1",
                accident.isoformat(),
                reported_at.date().isoformat(),
                policy,
                OUTCOMES[p % 4],
                stage,
                county_name(c),
                _town(c, t),
                _village(c, t, v),
                _s(handler),
                "t" if green else "f",
                "ordinary",
                sla,
                _ts(deadline),
                str(target),
                _ts(reported_at),
                _ts(registered),
                _ts(decided),
                _ts(paid),
                f"{total:.2f}",
                _ts(updated),
                "0",
                _s(stuck),
                _ts(stuck_since),
            )
        out.rows["claims"] = cl.close()
        out.open_claims = open_n

        pay = Copier(
            cur,
            "payouts",
            (
                "id",
                "claim_number",
                "payment_number",
                "policy_number",
                "benefit_id",
                "kind",
                "amount",
                "transfer_ref",
                "paid_at",
            ),
        )
        for i, (number, n, policy, kind, amount, at) in enumerate(payouts, 1):
            pay.row(
                str(i), number, str(n), policy, f"benefit.{kind}", kind, f"{amount:.2f}", f"TRF-{i}", _ts(at)
            )
        out.rows["payouts"] = pay.close()
        ar = Copier(
            cur,
            "claim_archives",
            (
                "claim_number",
                "workflow_id",
                "run_id",
                "stage",
                "closed_at",
                "decision_bundle",
                "decision_archived_at",
            ),
        )
        for number, stage, at, cause in archives:
            bundle = json.dumps(
                {
                    "claim": {"cause": cause, "disability_grade": 5},
                    "facts": {"disability_grades": [5]},
                    "decline_reasons": ["not_covered"] if stage == "declined" else [],
                }
            )
            ar.row(number, f"claim-{number}", "r", stage, _ts(at), bundle, _ts(at))
        out.rows["claim_archives"] = ar.close()
        do = Copier(
            cur,
            "documents",
            (
                "id",
                "claim_number",
                "kind",
                "filename",
                "sha256",
                "size",
                "content_type",
                "pages",
                "uploaded_by",
                "uploader_role",
                "uploaded_at",
                "status",
            ),
        )
        for i, (number, at) in enumerate(documents, 1):
            do.row(
                f"D{i:012d}",
                number,
                "id_card",
                "id.jpg",
                f"{i:064x}",
                "120000",
                "image/jpeg",
                "1",
                "claimant",
                "claimant",
                _ts(at),
                "uploaded",
            )
        out.rows["documents"] = do.close()
        re_ = Copier(
            cur,
            "receivables",
            (
                "id",
                "claim_number",
                "receivable_number",
                "policy_number",
                "amount",
                "reason",
                "status",
                "created_at",
            ),
        )
        for i, (number, policy, amount, at) in enumerate(receivables, 1):
            re_.row(str(i), number, "1", policy, f"{amount:.2f}", "advance_not_covered", "open", _ts(at))
        out.rows["receivables"] = re_.close()
        us = Copier(
            cur,
            "users",
            (
                "id",
                "role",
                "county",
                "village",
                "password_hash",
                "disabled",
                "failed_logins",
                "locked_until",
                "session_nonce",
                "created_at",
                "updated_at",
            ),
        )
        for c in range(COUNTIES):
            staff = [(handler_id(c, k), "handler") for k in range(HANDLERS)]
            for user_id, role in [*staff, (supervisor_id(c), "supervisor")]:
                us.row(user_id, role, county_name(c), r"\N", "x", "f", "0", r"\N", "n", _ts(now), _ts(now))
        out.rows["users"] = us.close()
        conn.commit()
    out.seconds = time.perf_counter() - t0
    return out


def _pick(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _town(c: int, t: int) -> str:
    return f"{county_name(c)}第{t:02d}镇"


def _village(c: int, t: int, v: int) -> str:
    return f"{_town(c, t)}{v}村"


# --------------------------------------------------------------------------- the floors

OVERDUE_BARE = f"""
SELECT claim_number, county, township, village, stage, assigned_handler, green_channel, sla_state,
       sla_deadline, stuck_activity, stuck_since
FROM claims
WHERE {OPEN_SQL} {{scope}}
  AND (sla_deadline <= :horizon OR sla_state IN ('breached', 'stuck'))
ORDER BY sla_deadline, claim_number
"""

SUPERVISOR_BARE = {
    "counts": f"""
SELECT count(*),
       count(*) FILTER (WHERE sla_deadline < :now OR sla_state = 'breached'),
       count(*) FILTER (WHERE sla_state <> 'breached' AND (sla_deadline IS NULL OR sla_deadline >= :now)
                          AND (sla_state = 'at_risk' OR sla_deadline <= :horizon)),
       count(*) FILTER (WHERE stuck_activity IS NOT NULL OR sla_state = 'stuck'),
       count(*) FILTER (WHERE green_channel)
FROM claims WHERE county = :county AND {OPEN_SQL}""",
    "team": f"""
SELECT township, assigned_handler, count(*),
       count(*) FILTER (WHERE sla_deadline < :now OR sla_state = 'breached'),
       count(*) FILTER (WHERE sla_state <> 'breached' AND (sla_deadline IS NULL OR sla_deadline >= :now)
                          AND (sla_state = 'at_risk' OR sla_deadline <= :horizon))
FROM claims WHERE county = :county AND {OPEN_SQL}
GROUP BY township, assigned_handler ORDER BY township, assigned_handler IS NULL, assigned_handler""",
    "in_documents": """
SELECT claim_number FROM claims WHERE county = :county AND stage = 'documents'
ORDER BY reported_at, claim_number LIMIT 500""",
    "in_payout": """
SELECT claim_number FROM claims WHERE county = :county AND stage = 'payout'
ORDER BY reported_at, claim_number LIMIT 500""",
    "handlers": """
SELECT id FROM users WHERE role = 'handler' AND NOT disabled AND county = :county ORDER BY id""",
    "townships": "SELECT DISTINCT township FROM claims WHERE county = :county ORDER BY township",
    "withdrawn": "SELECT count(*) FROM claims WHERE county = :county AND stage = 'withdrawn'",
    "advance_paid": f"""
SELECT count(DISTINCT p.claim_number) FROM payouts p JOIN claims c ON c.claim_number = p.claim_number
WHERE p.kind = 'advance' AND c.county = :county AND c.{OPEN_SQL}""",
    "receivable_open": """
SELECT count(DISTINCT r.claim_number) FROM receivables r JOIN claims c ON c.claim_number = r.claim_number
WHERE r.status = 'open' AND c.county = :county""",
    "to_check": f"""
SELECT d.claim_number, count(*) FROM documents d JOIN claims c ON c.claim_number = d.claim_number
WHERE d.status = 'uploaded' AND c.county = :county AND c.{OPEN_SQL} GROUP BY d.claim_number""",
}

INBOX_COUNTS_BARE = f"""
SELECT count(*) FILTER (WHERE sla_deadline < :now OR sla_state = 'breached'),
       count(*) FILTER (WHERE sla_deadline >= :now AND sla_deadline < :eod AND sla_state <> 'breached'),
       count(*) FILTER (WHERE sla_deadline >= :eod AND sla_deadline <= :horizon AND sla_state <> 'breached'),
       count(*),
       count(*) FILTER (WHERE stage = 'reported' AND assigned_handler IS NULL)
FROM claims WHERE county = :county AND {OPEN_SQL} {{mine}}"""

INBOX_PAGE_BARE = f"""
SELECT c.claim_number, p.name, c.county, c.township, c.village, c.stage, c.outcome, c.assigned_handler,
       c.green_channel, c.sla_state, c.sla_deadline, c.reported_at
FROM claims c JOIN insured_persons p ON p.id = c.person_id
WHERE c.county = :county AND c.{OPEN_SQL} {{mine}}
ORDER BY c.sla_deadline IS NULL, c.sla_deadline, c.reported_at, c.claim_number LIMIT 50"""

MONTHLY_BARE = {
    "payouts": """
SELECT p.claim_number, p.payment_number, p.policy_number, po.product_code, po.terms_version, p.benefit_id,
       p.kind, p.amount, p.paid_at, p.transfer_ref, ip.name, ip.id_number, c.accident_date, c.reported_on,
       c.reported_at, c.registered_at, c.outcome, c.township, c.village, c.assigned_handler, c.green_channel,
       c.target_working_days, a.decision_bundle
FROM payouts p JOIN claims c ON c.claim_number = p.claim_number
JOIN insured_persons ip ON ip.id = c.person_id
LEFT JOIN policies po ON po.policy_number = p.policy_number
LEFT JOIN claim_archives a ON a.claim_number = p.claim_number
WHERE c.county = :county AND p.paid_at >= :lo AND p.paid_at < :hi
ORDER BY c.township, c.village, p.paid_at, p.claim_number, p.payment_number""",
    "declined": """
SELECT c.claim_number, ip.name, ip.id_number, c.policy_numbers, c.accident_date, c.reported_at,
       c.registered_at, c.decided_at, c.outcome, c.stage, c.sla_state, c.sla_deadline, c.township,
       c.village, c.assigned_handler, c.green_channel, a.decision_bundle
FROM claims c JOIN insured_persons ip ON ip.id = c.person_id
LEFT JOIN claim_archives a ON a.claim_number = c.claim_number
WHERE c.county = :county AND c.stage = 'declined' AND c.decided_at >= :lo AND c.decided_at < :hi
ORDER BY c.township, c.claim_number""",
    "open": f"""
SELECT c.claim_number, ip.name, ip.id_number, c.policy_numbers, c.accident_date, c.reported_at,
       c.registered_at, c.decided_at, c.outcome, c.stage, c.sla_state, c.sla_deadline, c.township,
       c.village, c.assigned_handler, c.green_channel, a.decision_bundle
FROM claims c JOIN insured_persons ip ON ip.id = c.person_id
LEFT JOIN claim_archives a ON a.claim_number = c.claim_number
WHERE c.county = :county AND c.{OPEN_SQL} AND c.reported_at < :hi
ORDER BY c.township, c.claim_number""",
    "reported": """
SELECT township, count(*), count(*) FILTER (WHERE stage IN ('closed', 'declined', 'withdrawn'))
FROM claims WHERE county = :county AND reported_at >= :lo AND reported_at < :hi
GROUP BY township ORDER BY township""",
    "ledger": """
SELECT coalesce(sum(p.amount), 0) FROM payouts p JOIN claims c ON c.claim_number = p.claim_number
WHERE c.county = :county AND p.paid_at >= :lo AND p.paid_at < :hi""",
    "as_of_claims": "SELECT max(updated_at) FROM claims WHERE county = :county AND reported_at < :hi",
    "as_of_payouts": """
SELECT p.paid_at FROM payouts p JOIN claims c ON c.claim_number = p.claim_number
WHERE c.county = :county AND p.paid_at < :hi ORDER BY p.paid_at DESC LIMIT 1""",
}


# --------------------------------------------------------------------------- timing


@dataclass
class Pair:
    """One engine call and its floor: each returns a comparable summary of its rows."""

    name: str
    engine: Callable[[], Any]
    bare: Callable[[], Any]
    rows: Callable[[Any], int]


@dataclass
class Timed:
    """Seconds of each run of a pair's engine call and floor, and the rows they returned."""

    name: str
    rows: int
    engine: list[float]
    bare: list[float]

    def line(self) -> str:
        e, b = statistics.median(self.engine), statistics.median(self.bare)
        return (
            f"{self.name:<46} {self.rows:>7,} {e * 1000:>9.1f} {pct(self.engine, 95) * 1000:>8.1f}"
            f" {b * 1000:>9.1f} {pct(self.bare, 95) * 1000:>8.1f} {e / b:>7.2f}"
        )


HEADER = (
    f"{'read':<46} {'rows':>7} {'eng p50':>9} {'eng p95':>8} {'bare p50':>9} {'bare p95':>8} {'ratio':>7}"
)


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def run_pair(pair: Pair, repeat: int) -> Timed:
    """Warm both once, check they return the same rows, then alternate ``repeat`` runs each.

    Raises:
        AssertionError: the engine's rows and the floor's differ (a floor of other rows would
            measure nothing).
    """
    got, want = pair.engine(), pair.bare()
    if got != want:
        raise AssertionError(f"{pair.name}: engine and bare SQL disagree:\n{got!r:.600}\n{want!r:.600}")
    e: list[float] = []
    b: list[float] = []
    for i in range(repeat):
        for fn, into in (
            ((pair.engine, e), (pair.bare, b)) if i % 2 == 0 else ((pair.bare, b), (pair.engine, e))
        ):
            t = time.perf_counter()
            fn()
            into.append(time.perf_counter() - t)
    return Timed(pair.name, pair.rows(got), e, b)


# --------------------------------------------------------------------------- the reads


@dataclass(frozen=True)
class Subjects:
    """Who and what is timed: the largest county, its supervisor, its busiest handler, the
    last whole month (Asia/Shanghai)."""

    county: str
    supervisor: Actor
    handler: Actor
    month: Month


def subjects(engine: Engine, now: datetime) -> Subjects:
    """The largest county (by claims), its supervisor and its handler with the most open claims."""
    with engine.connect() as c:
        county = c.execute(
            text("SELECT county FROM claims GROUP BY county ORDER BY count(*) DESC, county LIMIT 1")
        ).scalar_one()
        handler = c.execute(
            text(
                f"SELECT assigned_handler FROM claims WHERE county = :c AND {OPEN_SQL} "
                "AND assigned_handler IS NOT NULL GROUP BY assigned_handler "
                "ORDER BY count(*) DESC, assigned_handler LIMIT 1"
            ),
            {"c": county},
        ).scalar_one()
    index = int(county[1:4])
    local = now.astimezone(SHANGHAI)
    last = Month(local.year, local.month)
    month = Month(last.year - (last.month == 1), 12 if last.month == 1 else last.month - 1)
    return Subjects(
        county=county,
        supervisor=Actor(id=supervisor_id(index), role=Role.SUPERVISOR, county=county),
        handler=Actor(id=handler, role=Role.HANDLER, county=county),
        month=month,
    )


def pairs(engine: Engine, services: Services, s: Subjects, now: datetime, cal: WorkingCalendar) -> list[Pair]:
    """The timed reads, each with its floor."""

    def bare(sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params)]

    # claims overdue --due-within 2d
    within = timedelta(days=2)

    def overdue(actor: Actor | None) -> Callable[[], list[str]]:
        return lambda: [o.row.claim_number for o in views.overdue(services, actor, cal, now, within)]

    def overdue_bare(county: str | None) -> Callable[[], list[str]]:
        sql = OVERDUE_BARE.format(scope="AND county = :county" if county else "")
        params: dict[str, Any] = {"horizon": now + within} | ({"county": county} if county else {})
        return lambda: [r[0] for r in bare(sql, **params)]

    # the supervisor's counters
    loop = asyncio.new_event_loop()

    async def no_facts(
        _s: Services, _a: Actor, numbers: list[str]
    ) -> dict[str, supervision.StateFacts | None]:
        return {}

    def overview() -> tuple[Any, ...]:
        o = loop.run_until_complete(supervision.overview(services, s.supervisor, now, cal, facts=no_facts))
        c = o.counters
        team = [(t.township, t.handler, t.open, t.overdue, t.at_risk) for t in o.team]
        return (
            c.open,
            c.overdue,
            c.at_risk,
            c.stuck,
            c.green,
            c.withdrawn,
            c.advance_paid,
            c.receivable_open,
            c.documents,
            team,
            o.handlers,
            o.townships,
        )

    sw = supervision.windows(now, cal)

    def overview_bare() -> tuple[Any, ...]:
        p = {"county": s.county, "now": sw.now, "horizon": sw.horizon}
        with engine.connect() as c:

            def q(name: str) -> list[Any]:
                return list(c.execute(text(SUPERVISOR_BARE[name]), p))

            counts = q("counts")[0]
            team = [tuple(r) for r in q("team")]
            q("in_documents"), q("in_payout")
            handlers = [r[0] for r in q("handlers")]
            towns = [r[0] for r in q("townships")]
            withdrawn, advance, owed = (
                q("withdrawn")[0][0],
                q("advance_paid")[0][0],
                q("receivable_open")[0][0],
            )
            docs = sum(r[1] for r in q("to_check"))
        return (*counts, withdrawn, advance, owed, docs, team, handlers, towns)

    # the inbox
    iw = console.windows(now, cal)

    def inbox(actor: Actor) -> Callable[[], tuple[Any, ...]]:
        def run() -> tuple[Any, ...]:
            page = console.inbox_page(services, actor, InboxView.ALL, now, cal)
            return tuple(page.counts[v] for v in InboxView), [r.claim_number for r in page.rows]

        return run

    def inbox_bare(handler: str | None) -> Callable[[], tuple[Any, ...]]:
        mine = "AND (assigned_handler = :handler OR assigned_handler IS NULL)" if handler else ""
        p = {
            "county": s.county,
            "now": iw.now,
            "eod": iw.end_of_today,
            "horizon": iw.horizon,
            "handler": handler,
        }

        def run() -> tuple[Any, ...]:
            with engine.connect() as c:
                counts = tuple(c.execute(text(INBOX_COUNTS_BARE.format(mine=mine)), p).one())
                rows = [
                    r[0]
                    for r in c.execute(
                        text(INBOX_PAGE_BARE.format(mine=mine.replace("assigned", "c.assigned"))), p
                    )
                ]
            return counts, rows

        return run

    # the monthly report of a county-month
    lo, hi = s.month.start, s.month.end

    def monthly_reads() -> tuple[Any, ...]:
        with services.sessions() as ss:
            lines = monthly_sql.payouts_of_month(ss, s.county, lo, hi)
            declined = monthly_sql.declined_in_month(ss, s.county, lo, hi)
            still = monthly_sql.open_at_month_end(ss, s.county, hi)
            reported = monthly_sql.reported_in_month(ss, s.county, lo, hi)
            ledger = monthly_sql.ledger_total(ss, s.county, lo, hi)
            as_of = monthly_sql.latest_change(ss, s.county, hi)
        return (
            [(x.claim_number, x.payment_number) for x in lines],
            [x.claim_number for x in declined],
            [x.claim_number for x in still],
            [(r.township, r.reported, r.finished) for r in reported],
            ledger,
            as_of,
        )

    def monthly_bare() -> tuple[Any, ...]:
        p = {"county": s.county, "lo": lo, "hi": hi}
        with engine.connect() as c:

            def q(name: str) -> list[Any]:
                return list(c.execute(text(MONTHLY_BARE[name]), p))

            lines = [(r[0], r[1]) for r in q("payouts")]
            declined = [r[0] for r in q("declined")]
            still = [r[0] for r in q("open")]
            reported = [(r[0], r[1], r[2]) for r in q("reported")]
            ledger = Decimal(q("ledger")[0][0]).quantize(Decimal("0.01"))
            paid = q("as_of_payouts")
            as_of = max(x for x in (q("as_of_claims")[0][0], paid[0][0] if paid else None) if x is not None)
        return lines, declined, still, reported, ledger, as_of

    def report() -> tuple[Any, ...]:
        with services.sessions() as ss:
            r = build_monthly(ss, s.county, s.month, Edition.TOWNSHIP, cal)
        return r.total.payouts, r.ledger_total

    def report_bare() -> tuple[Any, ...]:
        got = monthly_bare()
        return len(got[0]), got[4]

    return [
        Pair("claims overdue --due-within 2d (province)", overdue(None), overdue_bare(None), len),
        Pair(
            f"claims overdue --due-within 2d ({s.county} supervisor)",
            overdue(s.supervisor),
            overdue_bare(s.county),
            len,
        ),
        Pair("supervisor counters (overview, SQL reads)", overview, overview_bare, lambda r: r[0]),
        Pair(
            "handler inbox page 1 + tab counts", inbox(s.handler), inbox_bare(s.handler.id), lambda r: r[0][3]
        ),
        Pair(
            "supervisor inbox page 1 + tab counts", inbox(s.supervisor), inbox_bare(None), lambda r: r[0][3]
        ),
        Pair(
            f"monthly rows {s.county} {s.month} (7 reads)", monthly_reads, monthly_bare, lambda r: len(r[0])
        ),
        Pair(f"build_monthly {s.county} {s.month} (data)", report, report_bare, lambda r: r[0]),
    ]


# --------------------------------------------------------------------------- plans


class Recorder:
    """The statements an engine executes while :meth:`recording` is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if self.on and not statement.lstrip().upper().startswith(("EXPLAIN", "SET", "SHOW")):
            self.statements.append((statement, parameters))

    def record(self, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
        self.statements, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        return self.statements


def summarise(plan: dict[str, Any]) -> str:
    """One line of a JSON plan: execution time, then every scan with its index and rows."""
    scans: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node["Node Type"]
        if "Scan" in kind:
            where = node.get("Index Name") or node.get("Relation Name") or ""
            rows = int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
            removed = int(node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1))
            scans.append(
                f"{kind} {where} ({rows:,} rows" + (f", {removed:,} filtered out)" if removed else ")")
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return f"{plan['Execution Time']:8.1f} ms  {plan['Plan']['Node Type']}: " + "; ".join(scans)


def explain(engine: Engine, recorder: Recorder, pair: Pair) -> list[str]:
    """Each statement the engine's call issues, with its ``EXPLAIN (ANALYZE)`` summarised."""
    out = []
    for statement, params in recorder.record(pair.engine):
        with engine.connect() as c:
            plan = c.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        first = " ".join(statement.split())[:90]
        out.append(f"    {summarise(plan[0])}\n        ← {first}…")
    return out


# --------------------------------------------------------------------------- database


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the store's migrations against ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def vacuum_analyze(engine: Engine) -> float:
    """``VACUUM (ANALYZE)`` of the whole database (statistics and the visibility map, as a
    long-lived database has them); seconds taken."""
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM (ANALYZE)")
    return time.perf_counter() - t


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Result:
    """What a run measured: rows written, and each timing table (by Alembic revision)."""

    filled: Filled | None
    timings: dict[str, list[Timed]] = field(default_factory=dict)


def measure(
    engine: Engine, services: Services, now: datetime, repeat: int, plans: bool, label: str
) -> list[Timed]:
    """Time every pair and print the table (and the plans)."""
    cal = WorkingCalendar()
    s = subjects(engine, now)
    todo = pairs(engine, services, s, now, cal)
    print(
        f"\n== {label}: county {s.county}, handler {s.handler.id}, month {s.month}; "
        f"median/p95 of {repeat} runs (ms); load average {load_average()}"
    )
    print(HEADER)
    timed = []
    for pair in todo:
        t = run_pair(pair, repeat)
        timed.append(t)
        print(t.line(), flush=True)
    print(f"   load average after: {load_average()}")
    if plans:
        recorder = Recorder(engine)
        print("   plans (EXPLAIN ANALYZE of each statement the engine's call issued):")
        for pair in todo:
            print(f"  {pair.name}")
            for line in explain(engine, recorder, pair):
                print(line)
    return timed


def columns_the_code_reads(engine: Engine) -> None:
    """At an earlier revision (``--before``), the columns migrations after it add and today's
    queries read (0015: ``claims.reopened``; 0016: ``paused``, ``awaiting_approval``,
    ``review_queue``), so the engine's reads run on the older indexes; 0015 and 0016 add the
    columns only where they are missing."""
    with engine.begin() as c:
        c.execute(text("ALTER TABLE claims ADD COLUMN IF NOT EXISTS reopened integer NOT NULL DEFAULT 0"))
        c.execute(text("ALTER TABLE claims ADD COLUMN IF NOT EXISTS paused boolean"))
        c.execute(text("ALTER TABLE claims ADD COLUMN IF NOT EXISTS awaiting_approval boolean"))
        c.execute(text("ALTER TABLE claims ADD COLUMN IF NOT EXISTS review_queue varchar(16)"))


def main(argv: list[str] | None = None) -> Result:
    """Fill, time, print; returns what was measured (the smoke test reads the row counts)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--database", default=DATABASE, help="its own database (created, dropped at the end)")
    ap.add_argument("--before", metavar="REV", help="time at Alembic revision REV first, then at head")
    ap.add_argument("--keep", action="store_true", help="keep the database at the end")
    ap.add_argument(
        "--reuse", action="store_true", help="time an existing database (filled by an earlier --keep)"
    )
    ap.add_argument("--no-explain", action="store_true", help="leave out the EXPLAIN ANALYZE summaries")
    args = ap.parse_args(argv)
    if args.database in ("test", "postgres", "template0", "template1"):
        ap.error(f"--database {args.database}: the bench drops its database; give one of its own")
    url = f"{SERVER}/{args.database}"
    admin = make_engine(f"{SERVER}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": args.database}).first()
        if exists and not args.reuse:
            c.exec_driver_sql(f'DROP DATABASE "{args.database}" WITH (FORCE)')
        if not exists or not args.reuse:
            c.exec_driver_sql(f'CREATE DATABASE "{args.database}"')
    engine = make_engine(url)
    result = Result(filled=None)
    try:
        cfg = alembic_config(url)
        now = datetime.now(UTC).replace(microsecond=0)
        if args.reuse and exists:
            with engine.connect() as c:  # the instant the data was written relative to
                now = c.execute(text("SELECT now_ FROM bench_meta")).scalar_one()
            if args.before:
                command.downgrade(cfg, args.before)
                columns_the_code_reads(engine)
        else:
            command.upgrade(cfg, args.before or "head")
            if args.before:
                columns_the_code_reads(engine)
            print(
                f"filling {args.database} with {args.claims:,} claims (load average {load_average()}) …",
                flush=True,
            )
            filled = fill(url, args.claims, now)
            result.filled = filled
            with engine.begin() as c:  # for --reuse: the data is relative to this instant
                c.execute(text("CREATE TABLE bench_meta (now_ timestamptz NOT NULL)"))
                c.execute(text("INSERT INTO bench_meta VALUES (:now)"), {"now": now})
            took = vacuum_analyze(engine)
            print(
                f"filled in {filled.seconds:.1f} s (+ VACUUM ANALYZE {took:.1f} s): "
                + ", ".join(f"{t} {n:,}" for t, n in filled.rows.items())
                + f"; open claims {filled.open_claims:,}"
            )
        services = Services(Settings(), sessions=make_sessionmaker(engine))
        with engine.connect() as c:
            rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        result.timings[rev] = measure(
            engine, services, now, args.repeat, not args.no_explain, f"revision {rev}"
        )
        if args.before:
            t = time.perf_counter()
            command.upgrade(cfg, "head")
            took = time.perf_counter() - t
            vacuum_analyze(engine)
            with engine.connect() as c:
                head = c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            print(f"\nupgraded {rev} → {head} in {took:.1f} s")
            result.timings[head] = measure(
                engine, services, now, args.repeat, not args.no_explain, f"revision {head}"
            )
            print(f"\n== before ({rev}) → after ({head}), engine p50 ms (ratio to the floor)")
            for b, a in zip(result.timings[rev], result.timings[head], strict=True):
                mb, ma = statistics.median(b.engine), statistics.median(a.engine)
                print(
                    f"{b.name:<46} {mb * 1000:>9.1f} ({mb / statistics.median(b.bare):.2f}) → "
                    f"{ma * 1000:>9.1f} ({ma / statistics.median(a.bare):.2f})"
                )
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.dispose()
    return result


if __name__ == "__main__":
    main()
