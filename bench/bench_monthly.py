"""Benchmark: one county-month of the monthly claims report (理赔明细) on PostgreSQL.

Writes 5,000 payouts of one county and month (claims with one or two policies answering the
event, 20 townships, decision records for the causes, declined and open claims besides) into a
schema of its own in the database ``test`` at 127.0.0.1:5432, then times in one run:

* a bare SQL query of the same payout rows (the floor);
* ``build_monthly`` (the report's data: three queries, working days, subtotals, summary);
* each file format built from that data (xlsx, csv, html, pdf), and data + xlsx together;

and prints each as milliseconds and as a ratio to the bare query. Target (issue 16): the xlsx
of a county-month under 2 s. The schema is dropped at the end, also on an error.

    .venv/bin/python bench/bench_monthly.py [--payouts 5000] [--repeat 3] [--no-pdf]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims.domain.identity import check_digit  # noqa: E402
from claims.domain.workdays import WorkingCalendar  # noqa: E402
from claims.reports.formats import to_csv, to_html, to_pdf, to_xlsx  # noqa: E402
from claims.reports.monthly import Edition, Month, build_monthly  # noqa: E402
from claims.store.db import (  # noqa: E402
    Claim,
    ClaimArchive,
    Household,
    InsuredPerson,
    Payout,
    Policy,
    make_engine,
    make_sessionmaker,
    upgrade_database,
)

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COUNTY = "宁乡市"
MONTH = Month(2026, 3)
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"


def seed(sessions: Any, payouts: int, rng: random.Random) -> int:
    """Write about ``payouts`` payouts of the county in the month, plus declined and open claims
    and another county's month; returns the payouts written in the county-month."""
    townships = [f"第{i + 1}镇" for i in range(20)]
    households, persons, policies, claims, rows, archives = [], [], [], [], [], []
    written = 0
    n = 0
    start = MONTH.start
    while written < payouts:
        n += 1
        town = townships[n % 20]
        households.append(
            dict(id=n, household_no=f"H{n:07d}", county=COUNTY, township=town, village=f"{town}{n % 7}村")
        )
        first = f"430124{n:011d}"
        persons.append(
            dict(
                id=n,
                person_ref=f"P{n:07d}",
                household_id=n,
                name=SURNAMES[n % 20] + "某某"[: 1 + n % 2],
                id_number=first + check_digit(first),
                sex="M",
                birth_date=date(1970, 1, 1),
            )
        )
        two = n % 5 == 0 and written + 2 <= payouts
        numbers = [f"FA{n:08d}"] + ([f"EA{n:08d}"] if two else [])
        for i, number in enumerate(numbers):
            policies.append(
                dict(
                    policy_number=number,
                    household_id=n,
                    product_code="family_accident" if i == 0 else "elderly_accident",
                    terms_version="family_accident@2020" if i == 0 else "elderly_accident@2020",
                    start_date=date(2026, 1, 1),
                    end_date=date(2026, 12, 31),
                    issued_on=date(2025, 12, 1),
                    premium=Decimal("100.00"),
                    sum_insured=Decimal("40000.00"),
                )
            )
        registered = start + timedelta(hours=rng.randrange(0, 24 * 20))
        paid = registered + timedelta(hours=rng.randrange(1, 24 * 9))
        if paid >= MONTH.end:
            paid = MONTH.end - timedelta(minutes=1)
        number = f"JS2026{n:07d}-P{n:07d}"
        amounts = [Decimal(rng.choice(["40000.00", "20000.00", "4000.00", "1234.56"]))] + (
            [Decimal("32000.00")] if two else []
        )
        claims.append(
            dict(
                claim_number=number,
                workflow_id=f"claim-{number}",
                person_id=n,
                accident_date=date(2026, 2, 1),
                reported_on=date(2026, 2, 3),
                policy_numbers=",".join(numbers),
                outcome="disability",
                stage="closed",
                county=COUNTY,
                township=town,
                village=f"{town}{n % 7}村",
                assigned_handler=f"handler.{n % 9}",
                green_channel=n % 11 == 0,
                sla_state="met",
                target_working_days=30 if n % 3 else 5,
                reported_at=registered - timedelta(hours=2),
                registered_at=registered,
                decided_at=paid,
                paid_at=paid,
                total_paid=sum(amounts),
                updated_at=paid,
            )
        )
        for i, (policy, amount) in enumerate(zip(numbers, amounts, strict=True), 1):
            rows.append(
                dict(
                    claim_number=number,
                    payment_number=i,
                    policy_number=policy,
                    benefit_id="benefit.accidental_disability",
                    kind="accidental_disability",
                    amount=amount,
                    transfer_ref=f"TRF-{n}-{i}",
                    paid_at=paid,
                )
            )
            written += 1
        archives.append(
            dict(
                claim_number=number,
                workflow_id=f"claim-{number}",
                run_id="r",
                stage="closed",
                closed_at=paid,
                decision_bundle=json.dumps(
                    {
                        "claim": {
                            "cause": rng.choice(["drowning", "road_accident", "fall"]),
                            "disability_grade": 3,
                        },
                        "facts": {"disability_grades": [3]},
                        "decline_reasons": [],
                        "timeline": [{"x": "y" * 40}] * 12,
                    }
                ),
                decision_archived_at=paid,
            )
        )
    with sessions.begin() as s:
        for table, data in (
            (Household, households),
            (InsuredPerson, persons),
            (Policy, policies),
            (Claim, claims),
            (Payout, rows),
            (ClaimArchive, archives),
        ):
            for i in range(0, len(data), 2000):
                s.execute(insert(table), data[i : i + 2000])
    return written


BARE = text(
    """
    select p.claim_number, p.payment_number, p.policy_number, po.product_code, po.terms_version,
           p.benefit_id, p.kind, p.amount, p.paid_at, p.transfer_ref, ip.name, ip.id_number,
           c.accident_date, c.reported_on, c.reported_at, c.registered_at, c.outcome, c.township,
           c.village, c.assigned_handler, c.green_channel, c.target_working_days, a.decision_bundle
    from payouts p
    join claims c on c.claim_number = p.claim_number
    join insured_persons ip on ip.id = c.person_id
    left join policies po on po.policy_number = p.policy_number
    left join claim_archives a on a.claim_number = p.claim_number
    where c.county = :county and p.paid_at >= :lo and p.paid_at < :hi
    order by c.township, c.village, p.paid_at, p.claim_number, p.payment_number
    """
)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs in seconds, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payouts", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pdf", action="store_true", help="leave out the PDF (the slowest format)")
    args = ap.parse_args()

    schema = f"r1_monthly_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = None
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        upgrade_database(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        t = time.perf_counter()
        written = seed(sessions, args.payouts, random.Random(16))
        took = time.perf_counter() - t
        print(f"seeded {written} payouts of {COUNTY} in {MONTH} in {took:.1f} s (schema {schema})")
        with sessions() as s:
            s.execute(text("ANALYZE"))
            s.commit()
        cal = WorkingCalendar()

        def bare() -> list[Any]:
            with sessions() as s:
                return s.execute(BARE, {"county": COUNTY, "lo": MONTH.start, "hi": MONTH.end}).fetchall()

        def data() -> Any:
            with sessions() as s:
                return build_monthly(s, COUNTY, MONTH, Edition.TOWNSHIP, cal)

        floor, rows = best(bare, args.repeat)
        assert len(rows) == written, (len(rows), written)
        t_data, report = best(data, args.repeat)
        assert report.total.amount == report.ledger_total and report.total.payouts == written
        results = [("bare SQL of the same rows", floor), ("build_monthly (data)", t_data)]
        for name, fn in (("xlsx", to_xlsx), ("csv", to_csv), ("html", to_html)):
            t_fmt, _ = best(lambda fn=fn: fn(report), args.repeat)
            results.append((f"{name} from the data", t_fmt))
        t_all, _ = best(lambda: to_xlsx(data()), args.repeat)
        results.append(("data + xlsx (the county-month's xlsx)", t_all))

        if not args.no_pdf:
            t_pdf, pdf = best(lambda: to_pdf(report), 1)
            results.append((f"pdf from the data ({len(pdf) // 1024} KB)", t_pdf))
        print(f"{'step':<42} {'ms':>10} {'× bare SQL':>11}")
        for name, secs in results:
            print(f"{name:<42} {secs * 1000:>10.1f} {secs / floor:>11.1f}")
        verdict = "met" if t_all < 2.0 else "MISSED"
        print(
            f"target: the county-month's xlsx under 2 s: {t_all:.2f} s ({verdict}); "
            f"{written} payouts, total {report.total.amount:,.2f} = ledger {report.ledger_total:,.2f} "
            f"(best of {args.repeat} runs)"
        )
    finally:
        if engine is not None:
            engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
