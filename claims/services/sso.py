"""Single sign-on (OpenID Connect) accounts: sign in a person whom the provider vouched for.

One job: turn an identity the provider gave (staff id, role, county, village; mapped from its
claims by ``claims.web.oidc``) into a local account and a session, under the same rules as
``claims user add``.

**Decision: an OIDC login creates or updates a local ``users`` row without a usable
password.** The staff id is the key. The first login creates the row (role, county, village
from the provider; the password hash is an argon2 hash of 32 random bytes that nobody knows,
so the row has no usable password); every later login writes the provider's role, county and
village over the row's. The session then holds exactly what a local login's does (the account
id and its nonce), so ``claims.web.deps.current_actor`` reloads role and scope from the row on
every request, ``claims user disable ID`` ends the person's sessions at their next click and
refuses their next OIDC login (the console's operator can shut anyone out, whatever the
provider says), ``claims user list`` shows them. A change made at the provider (another role,
another county) takes effect at the person's next OIDC login; a person removed at the
provider keeps working until their session ends (12 hours) unless disabled here.

An existing local account with the same id (made by ``claims user add``) is the same person:
the OIDC login signs into it and overwrites its role and scope; its password keeps working.
Failed-login locks count password guesses and do not stop an OIDC login.
"""

from __future__ import annotations

import secrets
from typing import Any

from pwdlib import PasswordHash
from pydantic import TypeAdapter, ValidationError

from claims.errors import ClaimsError
from claims.models import Actor, Role
from claims.models.bounds import PlaceName, StaffId
from claims.services.accounts import SessionGrant
from claims.services.context import Services
from claims.store import users as store
from claims.store.db import unit_of_work
from claims.store.ids import utcnow

_hasher = PasswordHash.recommended()
_staff_id = TypeAdapter(StaffId)
_place = TypeAdapter(PlaceName)


class SsoRefused(ClaimsError):
    """An OIDC login refused although the provider authenticated the person. ``code``:

    - ``oidc.staff_id``: the provider's staff id does not fit ``StaffId`` (``params``:
      ``claim``, ``value``, ``reason``); it is refused whole, never truncated;
    - ``oidc.no_staff_id``, ``oidc.no_role``, ``oidc.roles_conflict``, ``oidc.claim_type``:
      the provider's claims do not say who the person is (``claims.web.oidc``);
    - ``oidc.place``: county or village too long or with control characters (``field``);
    - ``oidc.scope``: a village without a county, a village secretary without a village;
    - ``oidc.disabled``: the local account is disabled (``claims user enable ID``).
    """

    code = "oidc.refused"


def _no_password() -> str:
    """A hash of a password nobody knows: the row has no usable password."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _checked_place(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return _place.validate_python(value)
    except ValidationError as e:
        raise SsoRefused(
            f"{field}: {e.errors()[0]['msg']}",
            code="oidc.place",
            params={"field": field, "reason": e.errors()[0]["msg"]},
        ) from None


def check_staff_id(value: str, claim: str) -> str:
    """``value`` when it is a staff id (ASCII letters, digits, ``_ . - @``, 1–64 characters).

    Raises:
        SsoRefused: ``oidc.staff_id``, naming the claim and the value (shortened in the
            message only when very long; the id itself is never truncated to fit).
    """
    try:
        return _staff_id.validate_python(value)
    except ValidationError as e:
        shown: Any = value if len(value) <= 80 else value[:77] + "..."
        raise SsoRefused(
            f"the provider's staff id {shown!r} (claim {claim!r}) is not a staff id: "
            "ASCII letters, digits and _ . - @, at most 64 characters",
            code="oidc.staff_id",
            params={"claim": claim, "value": shown, "reason": e.errors()[0]["msg"]},
        ) from None


def sign_in(
    services: Services,
    *,
    staff_id: str,
    staff_id_claim: str,
    role: Role,
    county: str | None,
    village: str | None,
) -> SessionGrant:
    """Sign in a person the provider authenticated (see the module docstring): create or
    update their account, return the session's grant.

    Raises:
        SsoRefused: see :class:`SsoRefused`.
    """
    uid = check_staff_id(staff_id, staff_id_claim)
    if role is Role.SYSTEM:
        raise SsoRefused("'system' is the engine's own role", code="oidc.no_role", params={"roles": "system"})
    county = _checked_place("county", county)
    village = _checked_place("village", village)
    if village and not county:
        raise SsoRefused("a village needs its county", code="oidc.scope", params={"field": "county"})
    if role is Role.VILLAGE_SECRETARY and not village:
        raise SsoRefused(
            "a village secretary needs a village", code="oidc.scope", params={"field": "village"}
        )
    now = utcnow()
    with unit_of_work(services.sessions) as session:
        row = store.get_user(session, uid)
        if row is None:
            store.add_user(
                session,
                user_id=uid,
                role=role.value,
                county=county,
                village=village,
                password_hash=_no_password(),
                now=now,
            )
            row = store.get_user(session, uid)
            assert row is not None
        elif row.disabled:
            raise SsoRefused(
                f"the account {uid!r} is disabled in the console", code="oidc.disabled", params={"id": uid}
            )
        elif (row.role, row.county, row.village) != (role.value, county, village):
            # the provider is the authority on role and scope: its answer replaces the row's
            row.role, row.county, row.village = role.value, county, village
            row.updated_at = now
        return SessionGrant(
            user_id=row.id,
            nonce=row.session_nonce,
            actor=Actor(id=row.id, role=Role(row.role), county=row.county, village=row.village),
        )
