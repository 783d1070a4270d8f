"""``bench/bench_projection.py`` at a tiny size: it fills its own database, migrates it from
0013 to head on that data, and every engine read returns the same rows as its hand-written
floor (the bench asserts that itself). Row counts only: no time is asserted here."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from types import ModuleType

import pytest
from sqlalchemy import text

from claims.store.db import MIGRATIONS_DIR, make_engine
from tests.conftest import POSTGRES, REPO


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


HEAD = _head_revision()
"""The store's newest migration (0017 when written)."""

pytestmark = pytest.mark.postgres


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_projection", REPO / "bench" / "bench_projection.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_bench_projection_fills_2000_claims_and_every_read_matches_its_floor_before_and_after_0014() -> None:
    if not POSTGRES:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 does not answer: the bench runs on PostgreSQL only")
    bench = _bench()
    database = f"claims_bench_projection_t{uuid.uuid4().hex[:8]}"
    result = bench.main(["--claims", "2000", "--repeat", "1", "--database", database, "--before", "0013"])

    filled = result.filled
    assert filled is not None
    assert filled.rows["claims"] == 2000
    assert filled.rows["insured_persons"] == 2000
    assert filled.rows["households"] == 1000
    assert filled.rows["policies"] == 1000
    assert filled.rows["policy_insured"] == 2000
    assert filled.rows["users"] == bench.COUNTIES * (bench.HANDLERS + 1)
    assert 0 < filled.open_claims < 2000
    # a payout per closed claim (two for some), an archive per closed or declined claim
    assert filled.rows["payouts"] >= filled.rows["claim_archives"] * 0.8
    assert list(result.timings) == ["0013", HEAD]  # before the indexes of 0014, and at head
    for timings in result.timings.values():
        assert [t.name.split(" ")[0] for t in timings] == [
            "claims",
            "claims",
            "supervisor",
            "handler",
            "supervisor",
            "monthly",
            "build_monthly",
        ]
        assert all(len(t.engine) == 1 and len(t.bare) == 1 for t in timings)
    before, after = result.timings["0013"], result.timings[HEAD]
    assert [t.rows for t in before] == [t.rows for t in after]  # same data, same rows
    admin = make_engine(f"{bench.SERVER}/postgres")
    try:
        with admin.connect() as c:  # dropped at the end (no --keep)
            assert (
                c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
                is None
            )
    finally:
        admin.dispose()
