"""Benchmark: the supervisor's overdue list over 100,000 open claims in the projection.

Prints the time of ``claims.store.reports.overdue_claims`` (the ORM query ``claims overdue`` runs,
plus the working-days-late column it prints) against a bare SQL query of the same rows in
the same run, and the ratio. Target (issue 4): under 300 ms for the list at 100,000 claims.

    .venv/bin/python bench/bench_overdue.py [--claims 100000] [--postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims.services.views import working_days_late  # noqa: E402
from claims.store.db import Claim, Household, InsuredPerson, make_engine, make_sessionmaker, upgrade_database  # noqa: E402
from claims.store.reports import EVERYWHERE, overdue_claims  # noqa: E402
from claims.domain.workdays import WorkingCalendar  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BARE = text(
    "SELECT claim_number, county, township, assigned_handler, stage, sla_deadline, sla_state, green_channel "
    "FROM claims WHERE stage NOT IN ('closed', 'declined') "
    "AND (sla_state = 'breached' OR sla_deadline <= :horizon) "
    "ORDER BY sla_deadline"
)


def fill(sessions, n: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    counties = [f"县{i:03d}" for i in range(120)]
    with sessions() as s:
        s.execute(
            insert(Household), [dict(id=1, household_no="H1", county="县000", township="乡", village="村")]
        )
        persons = max(1, n // 100)
        s.execute(
            insert(InsuredPerson),
            [
                dict(
                    id=i + 1,
                    person_ref=f"P{i}",
                    household_id=1,
                    name="x",
                    id_number=f"{i:018d}",
                    sex="M",
                    birth_date=date(1970, 1, 1),
                )
                for i in range(persons)
            ],
        )
        rows = []
        for i in range(n):
            # ~5 % breached, ~5 % due within two days, the rest later.
            r = rng.random()
            due = (
                now - timedelta(hours=rng.randint(1, 400))
                if r < 0.05
                else (
                    now + timedelta(hours=rng.randint(1, 47))
                    if r < 0.10
                    else now + timedelta(days=rng.randint(3, 40))
                )
            )
            county = rng.choice(counties)
            rows.append(
                dict(
                    claim_number=f"JS{i:08d}",
                    workflow_id=f"claim-JS{i:08d}",
                    person_id=i % persons + 1,
                    accident_date=date(2000, 1, 1) + timedelta(days=i // persons),
                    reported_on=date(2026, 11, 1),
                    policy_numbers="P",
                    outcome="death",
                    stage="documents",
                    county=county,
                    township="乡",
                    village="村",
                    assigned_handler=f"h{rng.randint(0, 300)}",
                    green_channel=False,
                    case_class="ordinary",
                    sla_state="breached" if r < 0.05 else "on_track",
                    sla_deadline=due,
                    target_working_days=5,
                    reported_at=now - timedelta(days=5),
                    updated_at=now,
                )
            )
        for k in range(0, n, 10_000):
            s.execute(insert(Claim), rows[k : k + 10_000])
        s.commit()


def timed(fn, repeat: int = 7) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument(
        "--postgres", action="store_true", help="run the store on PostgreSQL (127.0.0.1:5432/test)"
    )
    args = ap.parse_args()
    now = datetime.now(UTC)
    schema = None
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_URL)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        upgrade_database(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        t0 = time.perf_counter()
        fill(sessions, args.claims, now)
        print(
            f"store: {url.split('?')[0].split('@')[-1]}; {args.claims:,} open claims loaded in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        cal = WorkingCalendar()
        horizon = now + timedelta(days=2)

        def bare() -> int:
            with engine.connect() as c:
                return len(c.execute(BARE, {"horizon": horizon}).all())

        def listing() -> int:
            with sessions() as s:
                rows = overdue_claims(s, EVERYWHERE, now, timedelta(days=2))
                return len(working_days_late(cal, [r.sla_deadline for r in rows], now))

        t_bare, n_bare = timed(bare)
        t_list, n_list = timed(listing)
        assert n_bare == n_list, (n_bare, n_list)
        print(
            f"overdue list (--due-within 2d): {n_list:,} rows; engine {t_list * 1000:.0f} ms "
            f"(ORM + working days late), bare SQL {t_bare * 1000:.0f} ms; ratio {t_list / t_bare:.2f}x; "
            f"target < 300 ms: {'met' if t_list < 0.3 else 'NOT met'}"
        )
        engine.dispose()
    finally:
        if schema:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
