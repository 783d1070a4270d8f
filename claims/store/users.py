"""The console's accounts in the store: add, read, list, disable or enable, set a password, and
record login attempts.

One job: the ``users`` rows (``claims.store.db.User``). Functions take a ``Session`` and never
commit (the caller's unit of work does); hashing and the lockout policy are the services'
(``claims.services.accounts``): this module only writes what it is told.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.store.db import User, insert_unless_present


def new_nonce() -> str:
    """A fresh session nonce (32 hex characters)."""
    return secrets.token_hex(16)


def add_user(
    session: Session,
    *,
    user_id: str,
    role: str,
    county: str | None,
    village: str | None,
    password_hash: str,
    now: datetime,
) -> bool:
    """Insert an account. Returns False (and writes nothing) when the id is taken."""
    return insert_unless_present(
        session,
        User,
        {
            "id": user_id,
            "role": role,
            "county": county,
            "village": village,
            "password_hash": password_hash,
            "disabled": False,
            "failed_logins": 0,
            "locked_until": None,
            "session_nonce": new_nonce(),
            "created_at": now,
            "updated_at": now,
        },
    )


def get_user(session: Session, user_id: str) -> User | None:
    """The account with this id, or None."""
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    """Every account, by id."""
    return list(session.scalars(select(User).order_by(User.id)))


def set_disabled(session: Session, user: User, disabled: bool, now: datetime) -> None:
    """Disable (or enable) an account; disabling also ends its sessions (a new nonce),
    enabling clears a lock."""
    user.disabled = disabled
    if disabled:
        user.session_nonce = new_nonce()
    else:
        user.failed_logins = 0
        user.locked_until = None
    user.updated_at = now


def set_password(session: Session, user: User, password_hash: str, now: datetime) -> None:
    """A new password hash; the lock is cleared and every session of the account ends."""
    user.password_hash = password_hash
    user.failed_logins = 0
    user.locked_until = None
    user.session_nonce = new_nonce()
    user.updated_at = now


def record_failure(
    session: Session, user: User, *, now: datetime, lock_after: int, locked_until: datetime
) -> bool:
    """Count a failed login; at ``lock_after`` failures lock the account until ``locked_until``
    and start counting again. Returns True when this failure locked it."""
    user.failed_logins = (user.failed_logins or 0) + 1
    user.updated_at = now
    if user.failed_logins >= lock_after:
        user.failed_logins = 0
        user.locked_until = locked_until
        return True
    return False


def record_success(session: Session, user: User, *, now: datetime, password_hash: str | None = None) -> None:
    """A successful login: the failure count and lock cleared; a rehashed password stored."""
    user.failed_logins = 0
    user.locked_until = None
    if password_hash is not None:
        user.password_hash = password_hash
    user.updated_at = now


def end_sessions(session: Session, user: User, now: datetime) -> None:
    """End every session of the account (logout): its cookies' nonce no longer matches."""
    user.session_nonce = new_nonce()
    user.updated_at = now
