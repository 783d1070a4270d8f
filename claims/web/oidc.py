"""OpenID Connect for the console: the Authlib client and the mapping of a provider's claims
to a console identity (staff id, role, county, village).

One job: read what the provider says about a person. The settings are the ``oidc_*`` fields of
``claims.infra.settings.WebSettings`` (``CLAIMS_WEB_OIDC_*``); the routes are in
``claims.web.routes.oidc``; the account is made or updated by ``claims.services.sso``.

Mapping (:func:`identity_from_claims`), from the ID token's claims (Authlib puts them in the
token's ``userinfo``) or, when the token has none, the provider's userinfo endpoint:

- **staff id**: the claim ``oidc_staff_id_claim`` (default ``preferred_username``), a string;
  it must fit ``claims.models.bounds.StaffId`` or the login is refused with the value shown
  (never truncated, never replaced by another claim);
- **role**: the claim ``oidc_role_claim`` (default ``roles``; ``realm_access.roles`` for
  Keycloak's realm roles), a list or one string; each provider role is looked up in
  ``oidc_roles`` (``jsbx-handler=handler,...``) or, when no mapping is configured, taken when
  it is a console role's own name. Roles that map to nothing are ignored; none left, or two
  different console roles, is a refusal (an account has one role);
- **county / village**: the claims ``oidc_county_claim`` / ``oidc_village_claim`` (default
  ``county``, ``village``), a string or a one-element list (Keycloak user attributes).

Only tested with Authlib's token result stood in (``tests/test_web_oidc.py``): no real
provider has been run against it, so the redirect round trip is untested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from claims.infra.settings import WebSettings
from claims.models import Role
from claims.services.sso import SsoRefused

CLIENT_NAME = "sso"
"""The name the provider is registered under in Authlib's registry."""

MAX_PROVIDER_ROLES = 200
"""More roles than this in one claim is refused (bounds what is read)."""


@dataclass(frozen=True)
class Identity:
    """Who the provider says the person is, in the console's terms (not yet checked against
    the bounds: ``claims.services.sso.sign_in`` does that)."""

    staff_id: str
    role: Role
    county: str | None
    village: str | None


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    """The claim ``name`` of ``claims``; a dotted name reads nested objects
    (``realm_access.roles``). None when absent. A claim whose own name contains the dots
    wins over the nested reading."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _one_string(claims: Mapping[str, Any], name: str, field: str) -> str | None:
    value = claim_value(claims, name)
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise SsoRefused(
                f"the provider's claim {name!r} ({field}) holds {len(value)} values; one is needed",
                code="oidc.claim_type",
                params={"claim": name, "field": field},
            )
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SsoRefused(
            f"the provider's claim {name!r} ({field}) is not text",
            code="oidc.claim_type",
            params={"claim": name, "field": field},
        )
    return value


def map_roles(provider_roles: Any, mapping: Mapping[str, Role], claim: str) -> Role:
    """The one console role that ``provider_roles`` (a list or one string) maps to.

    Raises:
        SsoRefused: ``oidc.claim_type`` (not text or a list of text, or too many),
            ``oidc.no_role`` (no role maps), ``oidc.roles_conflict`` (two console roles).
    """
    if provider_roles is None:
        values: list[Any] = []
    elif isinstance(provider_roles, str):
        values = [provider_roles]
    elif isinstance(provider_roles, list | tuple) and len(provider_roles) <= MAX_PROVIDER_ROLES:
        values = list(provider_roles)
    else:
        raise SsoRefused(
            f"the provider's claim {claim!r} (roles) is not a list of role names",
            code="oidc.claim_type",
            params={"claim": claim, "field": "role"},
        )
    own = {r.value: r for r in Role if r is not Role.SYSTEM}
    found: set[Role] = set()
    for value in values:
        if not isinstance(value, str):
            continue
        role = mapping.get(value) if mapping else own.get(value)
        if role is not None and role is not Role.SYSTEM:
            found.add(role)
    if not found:
        raise SsoRefused(
            f"none of the provider's roles (claim {claim!r}) is a console role",
            code="oidc.no_role",
            params={"claim": claim},
        )
    if len(found) > 1:
        names = ", ".join(sorted(r.value for r in found))
        raise SsoRefused(
            f"the provider's roles map to several console roles ({names}); an account has one",
            code="oidc.roles_conflict",
            params={"roles": names},
        )
    return found.pop()


def identity_from_claims(claims: Mapping[str, Any], web: WebSettings) -> Identity:
    """The console identity of a person from the provider's claims (module docstring).

    Raises:
        SsoRefused: no staff id, no console role, several roles, a claim of the wrong type.
    """
    staff_id = _one_string(claims, web.oidc_staff_id_claim, "staff id")
    if staff_id is None:
        raise SsoRefused(
            f"the provider gave no staff id (claim {web.oidc_staff_id_claim!r})",
            code="oidc.no_staff_id",
            params={"claim": web.oidc_staff_id_claim},
        )
    role = map_roles(claim_value(claims, web.oidc_role_claim), web.oidc_roles, web.oidc_role_claim)
    county = _one_string(claims, web.oidc_county_claim, "county")
    village = _one_string(claims, web.oidc_village_claim, "village")
    return Identity(staff_id=staff_id, role=role, county=county, village=village)


def oauth_registry(web: WebSettings) -> Any:
    """An Authlib ``OAuth`` registry with the configured provider registered as
    :data:`CLIENT_NAME` (discovery through its metadata URL, fetched on first use)."""
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register(
        name=CLIENT_NAME,
        server_metadata_url=web.oidc_discovery_url(),
        client_id=web.oidc_client_id,
        client_secret=web.oidc_client_secret.get_secret_value() if web.oidc_client_secret else None,
        client_kwargs={"scope": web.oidc_scope},
    )
    return oauth
