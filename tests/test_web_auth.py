"""The console's accounts and login: ``claims user``, ``/login``, sessions, lockout, CSRF,
security headers and the language switch (httpx against ``create_app`` on a fresh SQLite
store; no Temporal needed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner
from temporalio.client import Client

from claims.errors import StepRejected
from claims.infra.settings import Settings, StoreSettings
from claims.services import accounts
from claims.services.context import Services
from claims.store.db import Sessions, User, unit_of_work
from claims.store.ids import utcnow
from claims.web.app import create_app
from claims.web.i18n import error_message, gettext_for

PASSWORD = "correct horse battery"
GENERIC = "用户名或密码错误"
LOCKED = "登录失败次数过多"


@pytest.fixture
def services(sqlite_sessions: Sessions, tmp_path: Path) -> Services:
    settings = Settings(store=StoreSettings(data_dir=tmp_path))
    services = Services(settings, sessions=sqlite_sessions, client=cast(Client, object()))
    accounts.add_user(services, "handler.a", "handler", PASSWORD, county="宁乡市")
    return services


def _client(services: Services, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)), base_url=base_url)


@pytest_asyncio.fixture(loop_scope="session")
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(services) as c:
        yield c


def _token(html: str) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def _login(c: httpx.AsyncClient, username: str, password: str, next_url: str = "") -> httpx.Response:
    page = await c.get("/login")
    assert page.status_code == 200
    return await c.post(
        "/login",
        data={"username": username, "password": password, "next": next_url, "csrftoken": _token(page.text)},
    )


def _session_cookie(response: httpx.Response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("claims_session=") and not header.startswith("claims_session=null"):
            return header
    return None


async def test_a_right_login_answers_303_to_the_inbox_with_a_session_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await _login(client, "handler.a", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    cookie = _session_cookie(response)
    assert cookie is not None
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here
    home = await client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/inbox"
    # the page shows who is logged in, with the role in Chinese
    page = await client.get("/login?next=/inbox")
    assert page.status_code == 303 and page.headers["location"] == "/inbox"


async def test_the_session_cookie_holds_only_the_account_id_and_a_nonce(client: httpx.AsyncClient) -> None:
    import base64
    import json

    response = await _login(client, "handler.a", PASSWORD)
    cookie = _session_cookie(response)
    assert cookie is not None
    payload = cookie.split("=", 1)[1].split(".", 1)[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"uid", "nonce"} and data["uid"] == "handler.a"


async def test_a_wrong_password_answers_200_with_the_generic_message_and_no_session(
    client: httpx.AsyncClient,
) -> None:
    wrong = await _login(client, "handler.a", "wrong password!")
    assert wrong.status_code == 200
    assert GENERIC in wrong.text
    assert _session_cookie(wrong) is None
    unknown = await _login(client, "nobody.here", PASSWORD)
    assert unknown.status_code == 200
    assert GENERIC in unknown.text and _session_cookie(unknown) is None
    # not logged in: a page sends to the login page with where to come back to
    page = await client.get("/inbox?view=all")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/inbox%3Fview%3Dall"


async def test_five_failures_lock_the_account_for_15_minutes_even_for_the_right_password(
    client: httpx.AsyncClient, services: Services
) -> None:
    for attempt in range(1, 5):
        response = await _login(client, "handler.a", f"wrong password {attempt}")
        assert GENERIC in response.text and LOCKED not in response.text
    fifth = await _login(client, "handler.a", "wrong password 5")
    assert fifth.status_code == 200 and LOCKED in fifth.text and "15 分钟" in fifth.text
    right = await _login(client, "handler.a", PASSWORD)
    assert right.status_code == 200 and LOCKED in right.text and _session_cookie(right) is None
    # a name without an account reads the same after five failures: the page tells nothing
    for attempt in range(5):
        unknown = await _login(client, "nobody.here", f"wrong password {attempt}")
    assert LOCKED in unknown.text and "15 分钟" in unknown.text
    # after 15 minutes the right password works again (the service, with its clock moved)
    grant = accounts.login(services, "handler.a", PASSWORD, now=utcnow() + timedelta(minutes=16))
    assert grant.user_id == "handler.a" and grant.actor.county == "宁乡市"


async def test_a_disabled_users_next_request_goes_to_the_login_page(
    client: httpx.AsyncClient, services: Services
) -> None:
    assert (await _login(client, "handler.a", PASSWORD)).status_code == 303
    assert (await client.get("/")).headers["location"] == "/inbox"
    accounts.disable_user(services, "handler.a")
    page = await client.get("/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    htmx = await client.get("/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    again = await _login(client, "handler.a", PASSWORD)
    assert again.status_code == 200 and GENERIC in again.text


def test_a_scope_changed_in_the_store_applies_to_an_open_session(services: Services) -> None:
    grant = accounts.login(services, "handler.a", PASSWORD)
    with unit_of_work(services.sessions) as session:
        user = session.get(User, "handler.a")
        assert user is not None
        user.county = "醴陵市"
    actor = accounts.actor_for_session(services, grant.user_id, grant.nonce)
    assert actor is not None and actor.county == "醴陵市" and actor.role.value == "handler"


async def test_logout_ends_the_session_and_a_replayed_cookie(services: Services) -> None:
    async with _client(services) as c:
        login = await _login(c, "handler.a", PASSWORD)
        stolen = dict(c.cookies)
        page = await c.get("/login?next=/")
        assert page.status_code == 303
        form = await c.get("/no-such-page")  # any page carries the token in its forms
        out = await c.post("/logout", data={"csrftoken": _token(form.text)})
        assert login.status_code == 303 and out.status_code == 303 and out.headers["location"] == "/login"
        assert (await c.get("/")).headers["location"].startswith("/login")
    async with _client(services) as replay:
        replay.cookies.update(stolen)
        again = await replay.get("/")
        assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_a_post_without_the_csrf_token_is_refused_with_403(client: httpx.AsyncClient) -> None:
    await _login(client, "handler.a", PASSWORD)
    assert "claims_session" in client.cookies
    forged = await client.post("/logout", data={"next": "/"})  # session cookie, no token
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert (await client.get("/")).headers["location"] == "/inbox"  # still logged in
    wrong = await client.post("/logout", data={"csrftoken": "forged"})
    assert wrong.status_code == 403
    header = await client.post("/logout", headers={"x-csrftoken": "forged", "HX-Request": "true"})
    assert header.status_code == 403


async def test_the_login_post_is_protected_too_even_without_any_cookie(services: Services) -> None:
    async with _client(services) as bare:
        response = await bare.post("/login", data={"username": "handler.a", "password": PASSWORD})
        assert response.status_code == 403 and _session_cookie(response) is None
        page = await bare.get("/login")
        no_token = await bare.post("/login", data={"username": "handler.a", "password": PASSWORD})
        assert page.status_code == 200 and no_token.status_code == 403


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/login"),
        await client.post("/logout"),  # the 403 of a forged POST too
        await client.get("/static/console.css"),
    ):
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    page = await client.get("/login")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert 'src="/static/vendor/htmx-2.0.11.min.js"' in page.text
    assert 'hx-headers=\'{"x-csrftoken": ' in page.text
    htmx = await client.get("/static/vendor/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]


async def test_over_https_every_cookie_is_secure(services: Services) -> None:
    async with _client(services, "https://console.example") as c:
        response = await _login(c, "handler.a", PASSWORD)
        assert response.status_code == 303
        cookies = response.headers.get_list("set-cookie")
        assert cookies and all("; secure" in h.lower() for h in cookies)
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_next_goes_back_to_a_local_page_only(services: Services) -> None:
    async with _client(services) as c:
        local = await _login(c, "handler.a", PASSWORD, next_url="/claims/JS20211120-P0002")
        assert local.status_code == 303 and local.headers["location"] == "/claims/JS20211120-P0002"
    async with _client(services) as other:
        evil = await _login(other, "handler.a", PASSWORD, next_url="//evil.example/")
        assert evil.status_code == 303 and evil.headers["location"] == "/inbox"


async def test_the_language_switch_keeps_english_in_a_cookie(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert "<title>登录 · 计生保险理赔</title>" in page.text and 'lang="zh-CN"' in page.text
    switched = await client.post(
        "/lang", data={"lang": "en", "next": "/login", "csrftoken": _token(page.text)}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    english = await client.get("/login")
    assert "<h1>Log in</h1>" in english.text and '<html lang="en">' in english.text
    wrong = await _login(client, "handler.a", "wrong password!")
    assert "Wrong user name or password" in wrong.text


def test_step_rejections_are_translated_by_their_code() -> None:
    error = StepRejected(
        "pay",
        "pay: 132000.00 yuan is above the handler authority limit of 50000.00 yuan ...",
        code="authority.above_limit",
        params={"total": "132000.00", "limit": "50000.00"},
    )
    assert (
        error_message(error, gettext_for("zh_CN"))
        == "赔付金额 132000.00 元超过理赔员权限 50000.00 元：须先经主管审批"
    )
    assert "above the handler authority limit of 50000.00 yuan" in error_message(error, gettext_for("en"))
    unknown = StepRejected("pay", "pay: something new", code="no.such_code")
    assert error_message(unknown, gettext_for("zh_CN")) == "pay: something new"


def test_claims_user_add_reads_the_password_from_stdin_and_list_shows_no_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter import cli

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "user",
            "add",
            "sec.dachengqiao",
            "--role",
            "village_secretary",
            "--county",
            "宁乡市",
            "--village",
            "大成桥村",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "account sec.dachengqiao added: village_secretary, 宁乡市 大成桥村" in added.output
    assert PASSWORD not in added.output
    short = runner.invoke(
        cli, ["user", "add", "h.b", "--role", "handler", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "password: at least 10 characters" in short.output
    no_stdin = runner.invoke(cli, ["user", "add", "h.c", "--role", "handler"])
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.output
    system = runner.invoke(
        cli, ["user", "add", "eng", "--role", "system", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert system.exit_code == 2
    listed = runner.invoke(cli, ["user", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["id", "role", "county", "village", "status", "created", "(UTC)"]
    assert lines[1].split()[:5] == ["sec.dachengqiao", "village_secretary", "宁乡市", "大成桥村", "active"]
    assert len(lines) == 2 and "$argon2" not in listed.output and PASSWORD not in listed.output
    disabled = runner.invoke(cli, ["user", "disable", "sec.dachengqiao"])
    assert disabled.exit_code == 0 and "disabled" in runner.invoke(cli, ["user", "list"]).output
    assert runner.invoke(cli, ["user", "disable", "nobody"]).exit_code == 1
    # the account logs in through the service with that password (hash is argon2)
    services = Services(Settings(store=StoreSettings(data_dir=tmp_path)))
    try:
        with unit_of_work(services.sessions) as session:
            user = session.get(User, "sec.dachengqiao")
            assert user is not None and user.password_hash.startswith("$argon2id$") and user.disabled
    finally:
        services.close()


def test_the_users_table_round_trips_on_every_store(store_sessions: Sessions, tmp_path: Path) -> None:
    services = Services(Settings(store=StoreSettings(data_dir=tmp_path)), sessions=store_sessions)
    account = accounts.add_user(services, "sup.liling", "supervisor", PASSWORD, county="醴陵市")
    assert account.role.value == "supervisor" and account.county == "醴陵市" and not account.disabled
    with pytest.raises(accounts.AccountExists):
        accounts.add_user(services, "sup.liling", "supervisor", PASSWORD)
    grant = accounts.login(services, "sup.liling", PASSWORD)
    assert accounts.actor_for_session(services, "sup.liling", grant.nonce) is not None
    accounts.logout(services, "sup.liling", grant.nonce)
    assert accounts.actor_for_session(services, "sup.liling", grant.nonce) is None
    assert [a.id for a in accounts.list_users(services)] == ["sup.liling"]


def test_claims_web_says_so_when_its_port_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from starter import cli

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["web", "--port", str(port)])
    assert result.exit_code == 1
    assert f"console: http://127.0.0.1:{port}/" in result.output
    assert f"the console cannot listen on 127.0.0.1:{port} (in use?); set CLAIMS_WEB_PORT" in result.output
    assert (tmp_path / "web-secret").stat().st_mode & 0o077 == 0  # the generated secret is the owner's only


def test_a_configured_session_secret_is_used_and_a_short_one_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claims.errors import InputError
    from claims.infra.settings import load_settings

    monkeypatch.setenv("CLAIMS_WEB_SECRET", "x" * 40)
    assert load_settings().web.session_secret(tmp_path) == "x" * 40
    assert not (tmp_path / "web-secret").exists()
    monkeypatch.setenv("CLAIMS_WEB_SECRET", "short")
    with pytest.raises(InputError) as refused:
        load_settings()
    assert refused.value.field == "CLAIMS_WEB_SECRET" and "at least 32 characters" in str(refused.value)


def test_claims_user_password_and_enable_unlock_an_account_and_end_its_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter import cli

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    runner = CliRunner()
    add = ["user", "add", "inv.ningxiang", "--role", "investigator", "--county", "宁乡市", "--password-stdin"]
    assert runner.invoke(cli, add, input=PASSWORD + "\n").exit_code == 0
    services = Services(Settings(store=StoreSettings(data_dir=tmp_path)))
    try:
        grant = accounts.login(services, "inv.ningxiang", PASSWORD)
        for attempt in range(5):
            with pytest.raises(accounts.LoginFailed) as failed:
                accounts.login(services, "inv.ningxiang", f"wrong password {attempt}")
        assert failed.value.code == "auth.locked" and failed.value.params == {"minutes": 15}
        new_password = "a new longer password"
        changed = runner.invoke(
            cli, ["user", "password", "inv.ningxiang", "--password-stdin"], input=new_password
        )
        assert changed.exit_code == 0 and "sessions have ended" in changed.output
        assert new_password not in changed.output
        assert accounts.actor_for_session(services, "inv.ningxiang", grant.nonce) is None
        with pytest.raises(accounts.LoginFailed):
            accounts.login(services, "inv.ningxiang", PASSWORD)
        assert accounts.login(services, "inv.ningxiang", new_password).actor.role.value == "investigator"
        assert runner.invoke(cli, ["user", "disable", "inv.ningxiang"]).exit_code == 0
        with pytest.raises(accounts.LoginFailed):
            accounts.login(services, "inv.ningxiang", new_password)
        enabled = runner.invoke(cli, ["user", "enable", "inv.ningxiang"])
        assert enabled.exit_code == 0 and "account inv.ningxiang enabled" in enabled.output
        assert accounts.login(services, "inv.ningxiang", new_password).user_id == "inv.ningxiang"
        assert (
            runner.invoke(cli, ["user", "password", "nobody", "--password-stdin"], input=PASSWORD).exit_code
            == 1
        )
    finally:
        services.close()


def test_stages_and_roles_in_a_rejection_can_be_named_in_words() -> None:
    stage = StepRejected(
        "adjudicate",
        "adjudicate: not allowed at stage 'documents' (allowed at: adjudication)",
        code="stage.not_allowed",
        params={"stage": "documents", "allowed": "adjudication, investigation"},
    )
    zh, en = gettext_for("zh_CN"), gettext_for("en")
    assert (
        error_message(stage, zh) == "当前阶段不能进行此操作（可在以下阶段进行：adjudication, investigation）"
    )
    assert error_message(stage, zh, in_words=True) == "当前阶段不能进行此操作（可在以下阶段进行：核定、调查）"
    assert error_message(stage, en, in_words=True).endswith("(allowed at: Adjudication, Investigation)")
    role = StepRejected("pay", "…", code="role.not_allowed", params={"allowed": "handler, supervisor"})
    assert (
        error_message(role, zh, in_words=True) == "您的角色不能进行此操作（可由以下角色进行：理赔员、主管）"
    )
