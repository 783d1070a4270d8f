"""OpenID Connect login of the console (``/auth/oidc/login``, ``/auth/oidc/callback``): the
mapping of a provider's claims to staff id, role, county and village, the local account it
creates or updates, and the refusals.

**No real provider is run.** Authlib stands in at the level of its results only:
``authorize_access_token`` is replaced by a function returning a token whose ``userinfo`` is
the claims under test (and, for the redirect, ``load_server_metadata`` returns a discovery
document). The redirect round trip through a real provider (state, code exchange, ID-token
signature) is therefore untested. httpx against ``create_app`` on a fresh SQLite store.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client.apps import StarletteOAuth2App
from temporalio.client import Client

from claims.errors import InputError
from claims.infra.settings import Settings, StoreSettings, WebSettings, load_settings
from claims.models import Role
from claims.services import accounts
from claims.services.accounts import actor_for_session
from claims.services.context import Services
from claims.store.db import Sessions, User, unit_of_work
from claims.web.app import create_app

ISSUER = "https://sso.example.cn/realms/jsbx"
PASSWORD = "correct horse battery"


def _web(**extra: Any) -> WebSettings:
    return WebSettings(
        oidc_issuer=ISSUER, oidc_client_id="claims-console", oidc_client_secret="s3cret", **extra
    )


def _services(sessions: Sessions, tmp_path: Path, web: WebSettings | None) -> Services:
    settings = Settings(store=StoreSettings(data_dir=tmp_path), web=web or WebSettings())
    return Services(settings, sessions=sessions, client=cast(Client, object()))


@pytest.fixture
def services(sqlite_sessions: Sessions, tmp_path: Path) -> Services:
    return _services(sqlite_sessions, tmp_path, _web())


@pytest_asyncio.fixture(loop_scope="session")
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``provider(claims)``: the next callback's token carries ``claims`` as its userinfo;
    ``provider(error=...)``: Authlib raises ``OAuthError`` instead."""

    def answer(claims: dict[str, Any] | None = None, *, error: str | None = None) -> None:
        async def authorize_access_token(
            self: StarletteOAuth2App, request: Any, **kwargs: Any
        ) -> dict[str, Any]:
            if error is not None:
                raise OAuthError(error=error)
            return {"access_token": "at", "token_type": "Bearer", "userinfo": claims}

        monkeypatch.setattr(StarletteOAuth2App, "authorize_access_token", authorize_access_token)

    async def metadata(self: StarletteOAuth2App) -> dict[str, Any]:
        self.server_metadata.update(
            {
                "issuer": ISSUER,
                "authorization_endpoint": ISSUER + "/protocol/openid-connect/auth",
                "token_endpoint": ISSUER + "/protocol/openid-connect/token",
                "jwks_uri": ISSUER + "/protocol/openid-connect/certs",
                "_loaded_at": 1.0,
            }
        )
        return self.server_metadata

    monkeypatch.setattr(StarletteOAuth2App, "load_server_metadata", metadata)
    return answer


def _session(response: httpx.Response) -> dict[str, Any] | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("claims_session=") and not header.startswith("claims_session=null"):
            payload = header.split("=", 1)[1].split(".", 1)[0]
            return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return None


def _row(services: Services, uid: str) -> User | None:
    with unit_of_work(services.sessions) as session:
        row = session.get(User, uid)
        if row is not None:
            session.expunge(row)
        return row


HANDLER = {
    "sub": "f3a1",
    "preferred_username": "handler.sso",
    "roles": ["handler", "offline_access"],
    "county": "宁乡市",
}


# --------------------------------------------------------------------------- login page, routes


async def test_the_login_page_offers_single_sign_on_only_when_an_issuer_is_configured(
    client: httpx.AsyncClient, sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    page = await client.get("/login?next=/inbox")
    assert page.status_code == 200
    assert "统一身份认证登录" in page.text
    assert 'href="/auth/oidc/login?next=/inbox"' in page.text
    plain = _services(sqlite_sessions, tmp_path / "plain", None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(plain)), base_url="http://t"
    ) as c:
        page = await c.get("/login")
        assert page.status_code == 200 and "统一身份认证登录" not in page.text
        assert (await c.get("/auth/oidc/login")).status_code == 404
        assert (await c.get("/auth/oidc/callback?code=x&state=y")).status_code == 404


async def test_login_redirects_to_the_providers_authorization_endpoint_with_state_and_our_callback(
    client: httpx.AsyncClient, provider: Callable[..., None]
) -> None:
    response = await client.get("/auth/oidc/login?next=/claims/JS20211120-P0002")
    assert response.status_code == 302
    url = urlsplit(response.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == ISSUER + "/protocol/openid-connect/auth"
    query = parse_qs(url.query)
    assert query["client_id"] == ["claims-console"]
    assert query["redirect_uri"] == ["http://testserver/auth/oidc/callback"]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}
    assert query["state"][0] and query["nonce"][0]
    # the local path to return to survives the round trip
    provider(HANDLER)
    back = await client.get(f"/auth/oidc/callback?code=c&state={query['state'][0]}")
    assert back.status_code == 303
    assert back.headers["location"] == "/claims/JS20211120-P0002"


async def test_a_foreign_next_is_dropped(client: httpx.AsyncClient, provider: Callable[..., None]) -> None:
    await client.get("/auth/oidc/login?next=//evil.example/x")
    provider(HANDLER)
    back = await client.get("/auth/oidc/callback?code=c&state=s")
    assert back.status_code == 303 and back.headers["location"] == "/inbox"


# --------------------------------------------------------------------------- the callback


async def test_a_first_login_creates_an_account_without_a_usable_password_and_the_same_session(
    client: httpx.AsyncClient, services: Services, provider: Callable[..., None]
) -> None:
    provider(HANDLER)
    response = await client.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    session = _session(response)
    assert session is not None and set(session) == {"uid", "nonce"} and session["uid"] == "handler.sso"
    row = _row(services, "handler.sso")
    assert row is not None
    assert (row.role, row.county, row.village, row.disabled) == ("handler", "宁乡市", None, False)
    assert row.password_hash.startswith("$argon2")
    assert session["nonce"] == row.session_nonce
    # the session works like a local one: / goes to the role's page
    home = await client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/inbox"
    # no password logs into it
    with pytest.raises(accounts.LoginFailed):
        accounts.login(services, "handler.sso", "")
    with pytest.raises(accounts.LoginFailed):
        accounts.login(services, "handler.sso", PASSWORD)
    listed = {a.id: a for a in accounts.list_users(services)}
    assert listed["handler.sso"].role is Role.HANDLER


async def test_a_later_login_takes_role_and_scope_from_the_provider_and_every_request_sees_them(
    client: httpx.AsyncClient, services: Services, provider: Callable[..., None]
) -> None:
    provider(HANDLER)
    first = _session(await client.get("/auth/oidc/callback?code=c&state=s"))
    assert first is not None
    actor = actor_for_session(services, first["uid"], first["nonce"])
    assert actor is not None and (actor.role, actor.county) == (Role.HANDLER, "宁乡市")
    provider({**HANDLER, "roles": ["supervisor"], "county": "醴陵市"})
    second = await client.get("/auth/oidc/callback?code=c&state=s")
    assert second.status_code == 303
    row = _row(services, "handler.sso")
    assert row is not None and (row.role, row.county) == ("supervisor", "醴陵市")
    # the first session (same nonce) now acts with the new role and county: reloaded per request
    actor = actor_for_session(services, first["uid"], first["nonce"])
    assert actor is not None and (actor.role, actor.county) == (Role.SUPERVISOR, "醴陵市")


async def test_an_existing_local_account_is_the_same_person_and_keeps_its_password(
    client: httpx.AsyncClient, services: Services, provider: Callable[..., None]
) -> None:
    accounts.add_user(services, "handler.a", "handler", PASSWORD, county="宁乡市")
    provider({"preferred_username": "handler.a", "roles": "handler", "county": ["宁乡市"], "village": []})
    response = await client.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 303
    assert len(accounts.list_users(services)) == 1
    assert accounts.login(services, "handler.a", PASSWORD).user_id == "handler.a"


async def test_a_village_secretary_gets_county_and_village_from_keycloak_style_claims(
    sqlite_sessions: Sessions, tmp_path: Path, provider: Callable[..., None]
) -> None:
    web = _web(
        oidc_role_claim="realm_access.roles",
        oidc_roles="jsbx-cunmishu=village_secretary,jsbx-jingban=handler",
    )
    services = _services(sqlite_sessions, tmp_path, web)
    provider(
        {
            "preferred_username": "sec.dachengqiao",
            "realm_access": {"roles": ["default-roles-jsbx", "jsbx-cunmishu", "village_secretary_typo"]},
            "county": ["宁乡市"],
            "village": ["大成桥镇鹊山村"],
        }
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://t"
    ) as c:
        response = await c.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 303
    row = _row(services, "sec.dachengqiao")
    assert row is not None
    assert (row.role, row.county, row.village) == ("village_secretary", "宁乡市", "大成桥镇鹊山村")


@pytest.mark.parametrize(
    ("staff_id", "shown"),
    [
        ("张三", "张三"),
        ("handler a", "handler a"),
        ("h" * 65, "h" * 65),
    ],
)
async def test_a_staff_id_that_does_not_fit_is_refused_with_its_value_never_truncated(
    client: httpx.AsyncClient, services: Services, provider: Callable[..., None], staff_id: str, shown: str
) -> None:
    provider({**HANDLER, "preferred_username": staff_id})
    response = await client.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 403
    assert "不符合工号格式" in response.text and shown in response.text
    assert "preferred_username" in response.text
    assert _session(response) is None
    assert accounts.list_users(services) == []  # nothing made, not even a 64-character cut


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"roles": ["handler"], "county": "宁乡市"}, "统一身份认证未提供工号（声明 preferred_username）"),
        ({**HANDLER, "roles": ["offline_access"]}, "都不是本系统的角色"),
        ({**HANDLER, "roles": []}, "都不是本系统的角色"),
        ({**HANDLER, "roles": ["system"]}, "都不是本系统的角色"),
        ({**HANDLER, "roles": ["handler", "supervisor"]}, "对应本系统的多个角色（handler, supervisor）"),
        ({**HANDLER, "county": ["宁乡市", "醴陵市"]}, "声明 county（county）无法读取"),
        ({**HANDLER, "county": 42}, "无法读取"),
        ({**HANDLER, "county": "县" * 65}, "county 无法使用"),
        ({**HANDLER, "county": "宁乡\u202e市"}, "county 无法使用"),
        ({**HANDLER, "county": None, "village": "鹊山村"}, "村须有所属县"),
        ({**HANDLER, "roles": ["village_secretary"]}, "村须有所属县（市、区），村计生协秘书长须有所属村"),
    ],
)
async def test_claims_that_make_no_console_identity_are_refused_with_the_reason_and_nothing_written(
    client: httpx.AsyncClient,
    services: Services,
    provider: Callable[..., None],
    claims: dict[str, Any],
    message: str,
) -> None:
    provider(claims)
    response = await client.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 403
    assert message in response.text
    assert 'role="alert"' in response.text
    assert _session(response) is None
    assert accounts.list_users(services) == []


async def test_a_disabled_account_is_refused_and_its_open_session_ends(
    client: httpx.AsyncClient, services: Services, provider: Callable[..., None]
) -> None:
    provider(HANDLER)
    assert (await client.get("/auth/oidc/callback?code=c&state=s")).status_code == 303
    assert (await client.get("/")).headers["location"] == "/inbox"
    accounts.disable_user(services, "handler.sso")
    out = await client.get("/")
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    again = await client.get("/auth/oidc/callback?code=c&state=s")
    assert again.status_code == 403
    assert "您的账号 handler.sso 已在本系统停用" in again.text
    assert _session(again) is None
    accounts.enable_user(services, "handler.sso")
    assert (await client.get("/auth/oidc/callback?code=c&state=s")).status_code == 303


async def test_a_protocol_failure_answers_400_with_the_login_page(
    client: httpx.AsyncClient, provider: Callable[..., None]
) -> None:
    provider(error="mismatching_state")
    response = await client.get("/auth/oidc/callback?code=c&state=forged")
    assert response.status_code == 400
    assert "统一身份认证登录失败（mismatching_state）" in response.text
    assert 'name="password"' in response.text  # the password form is still there
    assert _session(response) is None


async def test_english_readers_get_the_refusal_in_english(
    client: httpx.AsyncClient, provider: Callable[..., None]
) -> None:
    provider({**HANDLER, "preferred_username": "张三"})
    client.cookies.set("claims_lang", "en")
    response = await client.get("/auth/oidc/callback?code=c&state=s")
    assert response.status_code == 403
    assert "is not a staff ID" in response.text and "张三" in response.text


# --------------------------------------------------------------------------- settings


def test_oidc_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_WEB_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("CLAIMS_WEB_OIDC_CLIENT_ID", "claims-console")
    monkeypatch.setenv("CLAIMS_WEB_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("CLAIMS_WEB_OIDC_ROLES", "jsbx-jingban=handler, jsbx-zhuguan=Supervisor")
    web = load_settings().web
    assert web.oidc_enabled
    assert web.oidc_discovery_url() == ISSUER + "/.well-known/openid-configuration"
    assert web.oidc_roles == {"jsbx-jingban": Role.HANDLER, "jsbx-zhuguan": Role.SUPERVISOR}
    assert "s3cret" not in repr(web)
    monkeypatch.setenv("CLAIMS_WEB_OIDC_ROLES", '{"a": "auditor"}')
    assert load_settings().web.oidc_roles == {"a": Role.AUDITOR}


@pytest.mark.parametrize(
    ("variables", "named", "said"),
    [
        (
            {"CLAIMS_WEB_OIDC_ISSUER": ISSUER},
            "CLAIMS_WEB_OIDC_CLIENT_ID",
            "client id at the provider is required",
        ),
        (
            {
                "CLAIMS_WEB_OIDC_ISSUER": ISSUER,
                "CLAIMS_WEB_OIDC_CLIENT_ID": "c",
                "CLAIMS_WEB_OIDC_ROLES": "a=system",
            },
            "CLAIMS_WEB_OIDC_ROLES",
            "'system' is the engine's own role",
        ),
        (
            {"CLAIMS_WEB_OIDC_ROLES": "jsbx-jingban"},
            "CLAIMS_WEB_OIDC_ROLES",
            "is not provider_role=console_role",
        ),
        ({"CLAIMS_WEB_OIDC_ROLES": "a=king"}, "CLAIMS_WEB_OIDC_ROLES", "king"),
    ],
)
def test_bad_oidc_settings_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str, said: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as e:
        load_settings()
    assert e.value.field == named
    assert said in str(e.value)


def test_the_module_docstrings_say_no_real_provider_was_run() -> None:
    import claims.web.oidc
    import claims.web.routes.oidc

    for module in (claims.web.oidc, claims.web.routes.oidc):
        assert re.search(r"[Nn]o\s+real\s+provider", module.__doc__ or "")
