"""The web console's accounts: add, list, disable, enable them and set a password; log a person
in and out; the ``Actor`` a session stands for.

One job: the account rules (password length, argon2 hashing with pwdlib's recommended
parameters, the lockout after repeated failures, the session nonce) over
``claims.store.users``.

**Who may manage accounts:** the command line is the operator's tool (``claims user add``,
``list``, ``disable``): whoever runs it on the server with access to the store and its
settings administers the accounts, as they already own the database. These functions
therefore take no ``Actor``; the console exposes none of them. Logging in is the one thing a
person does here without being someone yet.

Lockout: after :data:`LOCK_AFTER` failed logins in a row an account is locked for
:data:`LOCK_FOR`; while locked, even the right password is refused. A name that has no
account gets the same answers (failures are counted in memory for it), so the answers never
tell whether an account exists.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from pydantic import TypeAdapter, ValidationError

from claims.errors import ClaimsError, InputError
from claims.models import Actor, Role
from claims.models.bounds import PlaceName, StaffId
from claims.services.context import Services
from claims.store import users as store
from claims.store.db import User, unit_of_work
from claims.store.ids import utcnow

MIN_PASSWORD = 10
"""Shortest password accepted (characters)."""
MAX_PASSWORD = 256
"""Longest password accepted (characters): hashing a megabyte is no login."""
LOCK_AFTER = 5
"""Failed logins in a row that lock an account."""
LOCK_FOR = timedelta(minutes=15)
"""How long a locked account stays locked."""

_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("not a password: evens out the time of an unknown name")
_staff_id = TypeAdapter(StaffId)
_place = TypeAdapter(PlaceName)


class LoginFailed(ClaimsError):
    """A login refused. ``code`` is ``auth.failed`` (wrong name or password, one message for
    both) or ``auth.locked`` (too many failures; ``params['minutes']`` how long)."""

    code = "auth.failed"


class AccountExists(ClaimsError):
    """``claims user add`` for an id that already has an account."""

    code = "account.exists"


class AccountNotFound(ClaimsError, LookupError):
    """No account with this id."""

    code = "account.not_found"


@dataclass(frozen=True)
class Account:
    """An account as it may be shown (no hash)."""

    id: str
    role: Role
    county: str | None
    village: str | None
    disabled: bool
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SessionGrant:
    """What a session cookie keeps after a login: the account id and its nonce."""

    user_id: str
    nonce: str
    actor: Actor


def _account(row: User) -> Account:
    return Account(
        id=row.id,
        role=Role(row.role),
        county=row.county,
        village=row.village,
        disabled=row.disabled,
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


def _actor(row: User) -> Actor:
    return Actor(id=row.id, role=Role(row.role), county=row.county, village=row.village)


def _checked(field: str, adapter: TypeAdapter, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as e:
        raise InputError(field, e.errors()[0]["msg"]) from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError("password", f"at most {MAX_PASSWORD} characters")


def add_user(
    services: Services,
    user_id: str,
    role: Role | str,
    password: str,
    *,
    county: str | None = None,
    village: str | None = None,
) -> Account:
    """Create an account (the operator's command line only).

    Raises:
        InputError: ``id`` not a staff id, ``role`` unknown or ``system``, ``county``/``village``
            too long, ``village`` without ``county``, ``password`` shorter than
            :data:`MIN_PASSWORD` or longer than :data:`MAX_PASSWORD`.
        AccountExists: the id is taken.
    """
    uid = _checked("id", _staff_id, user_id)
    if uid is None:
        raise InputError("id", "a staff id is required")
    try:
        role = Role(role)
    except ValueError:
        raise InputError(
            "role", f"{role!r} is not a role; roles: " + ", ".join(r.value for r in Role)
        ) from None
    if role is Role.SYSTEM:
        raise InputError("role", "'system' is the engine's own role; no person logs in as it")
    county = _checked("county", _place, county)
    village = _checked("village", _place, village)
    if village and not county:
        raise InputError("village", "a village needs its county (--county)")
    if role is Role.VILLAGE_SECRETARY and not village:
        raise InputError("village", "a village secretary needs a village (--county C --village V)")
    _check_password(password)
    now = utcnow()
    with unit_of_work(services.sessions) as session:
        if not store.add_user(
            session,
            user_id=uid,
            role=role.value,
            county=county,
            village=village,
            password_hash=_hasher.hash(password),
            now=now,
        ):
            raise AccountExists(f"an account {uid!r} exists already", params={"id": uid})
        row = store.get_user(session, uid)
        assert row is not None
        return _account(row)


def list_users(services: Services) -> list[Account]:
    """Every account, by id, without hashes."""
    with unit_of_work(services.sessions) as session:
        return [_account(row) for row in store.list_users(session)]


def disable_user(services: Services, user_id: str) -> Account:
    """Disable an account: it can no longer log in, and its open sessions end at their next
    request.

    Raises:
        AccountNotFound: no such account.
    """
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, user_id)
        if row is None:
            raise AccountNotFound(f"no account {user_id!r}", params={"id": user_id})
        store.set_disabled(session, row, True, utcnow())
        return _account(row)


def enable_user(services: Services, user_id: str) -> Account:
    """Enable an account again (and clear a lock after failed logins).

    Raises:
        AccountNotFound: no such account.
    """
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, user_id)
        if row is None:
            raise AccountNotFound(f"no account {user_id!r}", params={"id": user_id})
        store.set_disabled(session, row, False, utcnow())
        return _account(row)


def set_password(services: Services, user_id: str, password: str) -> Account:
    """Give an account a new password: its lock is cleared and its open sessions end.

    Raises:
        InputError: ``password`` too short or too long.
        AccountNotFound: no such account.
    """
    _check_password(password)
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, user_id)
        if row is None:
            raise AccountNotFound(f"no account {user_id!r}", params={"id": user_id})
        store.set_password(session, row, _hasher.hash(password), utcnow())
        return _account(row)


class _UnknownNames:
    """Failed logins of names without an account, in memory (bounded), so that an unknown
    name is 'locked' exactly as an account would be."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def locked_until(self, name: str, now: datetime) -> datetime | None:
        with self._lock:
            _, until = self._seen.get(name, (0, None))
            return until if until is not None and until > now else None

    def fail(self, name: str, now: datetime) -> datetime | None:
        with self._lock:
            count, _ = self._seen.pop(name, (0, None))
            count += 1
            until = None
            if count >= LOCK_AFTER:
                count, until = 0, now + LOCK_FOR
            self._seen[name] = (count, until)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return until


_unknown = _UnknownNames()


def _locked(until: datetime, now: datetime) -> LoginFailed:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return LoginFailed(
        f"too many failed logins: try again in {minutes} minutes",
        code="auth.locked",
        params={"minutes": minutes},
    )


def login(services: Services, username: str, password: str, *, now: datetime | None = None) -> SessionGrant:
    """Check a name and password; on success the account's id, nonce and actor.

    Raises:
        LoginFailed: ``auth.failed`` (wrong name or password, or a disabled account: one
            answer for all) or ``auth.locked`` (locked after :data:`LOCK_AFTER` failures, for
            :data:`LOCK_FOR`; also for a name without an account after as many failures).
    """
    now = now or utcnow()
    name = username.strip()
    failed = LoginFailed("wrong user name or password", code="auth.failed")
    if not name or len(name) > 64 or len(password) > MAX_PASSWORD:
        raise failed
    try:
        _staff_id.validate_python(name)  # what every account name is (add_user): no control characters
    except ValidationError:
        raise failed from None  # no account can have it; PostgreSQL could not even compare a NUL
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, name)
        if row is None:
            _hasher.verify(password, _DUMMY_HASH)
            until = _unknown.locked_until(name, now) or _unknown.fail(name, now)
            if until is not None:
                raise _locked(until, now)
            raise failed
        if row.locked_until is not None and row.locked_until > now:
            raise _locked(row.locked_until, now)
        valid, updated = _hasher.verify_and_update(password, row.password_hash)
        if not valid or row.disabled:
            if store.record_failure(
                session, row, now=now, lock_after=LOCK_AFTER, locked_until=now + LOCK_FOR
            ):
                lock = _locked(now + LOCK_FOR, now)
            else:
                lock = None
        else:
            store.record_success(session, row, now=now, password_hash=updated)
            return SessionGrant(user_id=row.id, nonce=row.session_nonce, actor=_actor(row))
    # the failure count is committed before the refusal leaves
    raise lock or failed


def actor_for_session(services: Services, user_id: str, nonce: str) -> Actor | None:
    """The actor a session cookie stands for, read from the store now (every request), or
    None when the account is gone, disabled, or its sessions were ended (nonce changed)."""
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, user_id)
        if row is None or row.disabled or row.session_nonce != nonce:
            return None
        return _actor(row)


def logout(services: Services, user_id: str, nonce: str) -> None:
    """End every session of the account (the nonce changes), if ``nonce`` is still its own."""
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, user_id)
        if row is not None and row.session_nonce == nonce:
            store.end_sessions(session, row, utcnow())
