"""The store's SQLAlchemy 2 schema (typed ``Mapped[]``), engine and session set-up, the unit
of work callers own their transactions with, and the one idempotent insert.

Tables:
- ``households``, ``insured_persons``, ``policies``, ``policy_insured``: the policy register.
- ``claims``: one row per claim (intake record and reporting projection: stage, county,
  township, handler, SLA state and deadline, times to pay).
- ``payouts``: the payout ledger, one row per payment, unique per claim and payment number.
- ``benefit_reservations``: amounts decided at adjudication and not yet paid, held against
  the policies' limits so that two claims racing for one limit cannot both use it.
- ``notifications``: an outbox of escalations to supervisors.
- ``users``: the web console's local accounts (staff id, role, scope, argon2 hash, lockout).

Schema changes go through Alembic migrations (``migrations/``); :func:`upgrade_database`
applies them. ``create_all`` is never used on production paths.

Transactions: store functions take a ``Session`` and never commit; services and activities
wrap each operation in :func:`unit_of_work`. Writes that must keep a row another attempt
already wrote use :func:`insert_unless_present` (``ON CONFLICT DO NOTHING``), never an
``IntegrityError`` caught and rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` on every database (SQLite keeps no offset: it is restored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps aware UTC instants only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(14, 2, asdecimal=True)


class Base(DeclarativeBase):
    """Declarative base of the store."""


class Household(Base):
    """A registered household (计生家庭) with the flags the green channel reads."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)
    county: Mapped[str] = mapped_column(String(64), index=True)
    township: Mapped[str] = mapped_column(String(64))
    village: Mapped[str] = mapped_column(String(64))
    registered_poor: Mapped[bool] = mapped_column(Boolean, default=False)
    special_family: Mapped[bool] = mapped_column(Boolean, default=False)
    hardship: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[InsuredPerson]] = relationship(back_populates="household")


class InsuredPerson(Base):
    """An insured person. ``person_ref`` is the opaque id used outside the store."""

    __tablename__ = "insured_persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_ref: Mapped[str] = mapped_column(String(32), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    bank_account: Mapped[str | None] = mapped_column(String(32), nullable=True)

    household: Mapped[Household] = relationship(back_populates="members")


class Policy(Base):
    """A policy: product, terms version, period, premium and sum insured per insured person (yuan)."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_number: Mapped[str] = mapped_column(String(32), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    terms_version: Mapped[str] = mapped_column(String(96))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    premium: Mapped[Decimal] = mapped_column(Money)
    sum_insured: Mapped[Decimal] = mapped_column(Money)
    # bumped by every reservation, payment and release of a benefit under the policy: the
    # optimistic-concurrency check of ``store.reserve_benefits`` (migration 0006)
    ledger_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    insured: Mapped[list[InsuredPerson]] = relationship(secondary="policy_insured")


class PolicyInsured(Base):
    """Which persons a policy insures."""

    __tablename__ = "policy_insured"

    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"), primary_key=True)


class Claim(Base):
    """One claim: intake facts and the reporting projection the workflow keeps up to date.

    The claim number is derived from the event (``JS<accident date>-<person_ref>``), so a
    second report of the same event for the same insured person finds this row; after the
    claim was withdrawn or closed as an error a new report opens the next ``attempt``
    (migration 0010).
    """

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("person_id", "accident_date", "outcome", "attempt", name="uq_claim_event_attempt"),
    )

    claim_number: Mapped[str] = mapped_column(String(48), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("insured_persons.id"))
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    accident_date: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    policy_numbers: Mapped[str] = mapped_column(Text)  # comma-separated, in report order
    outcome: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    county: Mapped[str] = mapped_column(String(64), index=True)
    township: Mapped[str] = mapped_column(String(64))
    village: Mapped[str] = mapped_column(String(64))
    assigned_handler: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    case_class: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sla_state: Mapped[str] = mapped_column(String(16), default="on_track", index=True)
    sla_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    target_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    total_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the workflow's publish counter of the last projection written: an older write arriving
    # late (a retried activity) is skipped, so the row never goes back to an earlier stage
    # (models.ClaimProjection.seq: run start in ms × 1,000,000 + counter, so 64-bit)
    projection_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # a store step of the claim that keeps failing, and since when (migration 0007): supervisors
    # see the claim as stuck instead of only the worker log knowing
    stuck_activity: Mapped[str | None] = mapped_column(String(48), nullable=True)
    stuck_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # how often a supervisor reopened the claim (重开, migration 0015): the supervisor's counter
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # what the supervisor's counters need (migration 0016; ClaimProjection.paused): NULL when
    # the claim's workflow does not say (started before lean-history): the console asks it
    paused: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    awaiting_approval: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    review_queue: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Payout(Base):
    """The payout ledger: one row per payment; (claim_number, payment_number) is unique,
    so a retried activity can never pay twice."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("claim_number", "payment_number", name="uq_payout_payment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), index=True)
    payment_number: Mapped[int] = mapped_column(Integer)
    policy_number: Mapped[str] = mapped_column(String(32))
    benefit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(48), nullable=True)  # benefit kind (migration 0003)
    amount: Mapped[Decimal] = mapped_column(Money)
    transfer_ref: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Receivable(Base):
    """Money owed back to the insurer (追偿, migration 0010): an advance payment (a payout row of
    kind ``advance``) that the final decision does not cover; ``open`` until settled. One row
    per (claim, receivable number), so a retried activity records it once."""

    __tablename__ = "receivables"
    __table_args__ = (UniqueConstraint("claim_number", "receivable_number", name="uq_receivable_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), index=True)
    receivable_number: Mapped[int] = mapped_column(Integer)
    policy_number: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BenefitReservation(Base):
    """An amount decided at adjudication and not yet paid, held against the limits of a policy
    for one insured person (``status`` ``held``); ``paid`` once the payout ledger has it,
    ``released`` when the claim will not pay it (a new decision of the claim replaces its held
    lines). At most one ``held`` row per (claim, policy, benefit), kept by
    ``store.reserve_benefits``."""

    __tablename__ = "benefit_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), index=True)
    policy_number: Mapped[str] = mapped_column(String(32), index=True)
    person_ref: Mapped[str] = mapped_column(String(32))
    benefit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    amount: Mapped[Decimal] = mapped_column(Money)
    accident_date: Mapped[date] = mapped_column(Date)
    reserved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)


class Notification(Base):
    """Outbox of notices to supervisors (SLA breach escalations)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(48), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_role: Mapped[str] = mapped_column(String(32))
    county: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ClaimArchive(Base):
    """The decision record of a closed claim, kept beyond Temporal's history retention.

    ``decision_bundle`` is JSON (``claims.store.archive.DecisionBundle``): claim facts, decision,
    terms versions and hashes, calendar and SLA policy versions, payouts, timeline.
    ``history_json`` is the full workflow history in the Temporal CLI/web UI JSON form
    (``WorkflowHistory.to_json()``), written once the workflow has closed; ``history_sha256``
    is the sha256 (hex) of its UTF-8 bytes. Written by ``archive_decision`` and the archiver
    (``claims.audit.archiver``); never updated once the history is in.
    """

    __tablename__ = "claim_archives"

    claim_number: Mapped[str] = mapped_column(String(48), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decision_bundle: Mapped[str] = mapped_column(Text)
    decision_archived_at: Mapped[datetime] = mapped_column(UtcDateTime)
    history_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    history_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    history_events: Mapped[int | None] = mapped_column(Integer, nullable=True)
    history_archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class User(Base):
    """A console account (``claims user add``): the staff id is the actor id on every step.

    ``password_hash`` is an argon2 hash (pwdlib); ``session_nonce`` is the nonce a session
    cookie must carry (changed at logout and when the account is disabled, which ends every
    session of the account at its next request); ``failed_logins`` and ``locked_until`` count
    failed logins and lock the account for a while after too many.
    """

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(64), nullable=True)
    village: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    session_nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL mode and a busy timeout so a
    worker and the command line can share one file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


Sessions = sessionmaker[Session]
"""The store's session factory type: what services, activities and the worker are given."""


def make_sessionmaker(engine: Engine) -> Sessions:
    """One session factory per process, ``expire_on_commit=False``."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: Sessions) -> Iterator[Session]:
    """One operation's transaction: the block's writes commit together when it ends, or roll
    back together if it raises. Services and activities own their transactions through this;
    store functions take the ``Session`` and do not commit.
    """
    with sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


ColumnValue = str | int | bool | Decimal | date | datetime | None
"""A value of one column in a row written with :func:`insert_unless_present`."""


def insert_unless_present(session: Session, table: type[Base], values: Mapping[str, ColumnValue]) -> bool:
    """Insert one row unless a row with the same unique key is there: keep theirs.

    The store's idempotent writes (a payout row per payment number, a notice per dedupe key,
    a claim per event) are ``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite, in
    the caller's transaction. No IntegrityError is raised for a duplicate, so nothing has to
    be rolled back: the caller's earlier writes stay in its transaction. A racing writer of
    the same key is waited for (PostgreSQL: its uncommitted row; SQLite: the write lock); if
    it commits, this insert does nothing; if it rolls back, this one writes.

    A savepoint (``session.begin_nested()``) would do the same on PostgreSQL, but Python's
    ``sqlite3`` starts no transaction before a ``SAVEPOINT``, so releasing the first savepoint
    of a transaction commits it on SQLite: the caller would no longer own its transaction.

    Args:
        table: the mapped class (its table's unique constraints and primary key are the keys).
        values: the row's column values.

    Returns:
        True if the row was written, False if one with the same key was already there.

    Raises:
        sqlalchemy.exc.IntegrityError: any other constraint refused the row (a foreign key,
            a missing value); the caller's transaction must be rolled back.
        NotImplementedError: a database other than PostgreSQL or SQLite.
    """
    dialect = session.get_bind().dialect.name
    key = table.__table__.primary_key.columns
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(dict(values)).on_conflict_do_nothing().returning(*key)
    elif dialect == "sqlite":  # RETURNING: SQLite 3.35 or later
        stmt = sqlite.insert(table).values(dict(values)).on_conflict_do_nothing().returning(*key)
    else:
        raise NotImplementedError(f"insert_unless_present: no ON CONFLICT for the {dialect} dialect")
    # the driver's rowcount is -1 for an INSERT ... RETURNING: a returned key is the answer
    return session.execute(stmt).first() is not None


def upgrade_database(url: str) -> None:
    """Apply every Alembic migration to ``url`` (``alembic upgrade head``).

    Creates the SQLite file's folder when needed. Idempotent.
    """
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")
