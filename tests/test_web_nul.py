"""A NUL or other control character in a console URL or login form is refused as not found /
invalid input, on SQLite and on PostgreSQL (whose driver cannot carry a NUL in a string and
raised a 500 before)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from claims.infra.settings import Settings, StoreSettings
from claims.services import accounts
from claims.services.context import Services
from claims.store.db import Sessions
from claims.web.app import create_app

PASSWORD = "correct horse 9 battery"


@pytest.fixture
def services(store_sessions: Sessions, tmp_path: Path) -> Services:
    settings = Settings(store=StoreSettings(data_dir=tmp_path))
    services = Services(settings, sessions=store_sessions, client=cast(Client, object()))
    accounts.add_user(services, "sup.a", "supervisor", PASSWORD, county="宁乡市")
    accounts.add_user(services, "aud.a", "auditor", PASSWORD)
    return services


@pytest_asyncio.fixture(loop_scope="session")
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def login(c: httpx.AsyncClient, username: str) -> httpx.Response:
    page = await c.get("/login")
    token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    return await c.post("/login", data={"username": username, "password": PASSWORD, "csrftoken": token})


@pytest.mark.parametrize(
    "path",
    [
        "/claims/JS2024%00X",
        "/claims/JS2024%00X/timeline",
        "/claims/JS2024%00X/documents",
        "/audit/JS2024%00X",
        "/audit/JS2024%00X.json",
        "/batches/B%00",
        "/claims/JS2024%01X",
    ],
)
async def test_a_control_character_in_a_path_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    assert (await login(client, "sup.a")).status_code == 303
    got = await client.get(path, headers={"accept": "text/html"})
    assert got.status_code == 404, got.text[:300]


@pytest.mark.parametrize("query", ["/audit?q=JS%00", "/inbox?q=%00", "/supervise?county=%00"])
async def test_a_control_character_in_a_query_value_is_invalid_input(
    client: httpx.AsyncClient, query: str
) -> None:
    assert (await login(client, "sup.a")).status_code == 303
    got = await client.get(query)
    assert got.status_code == 422, got.text[:300]
    assert "control characters are not accepted" in got.text


async def test_a_control_character_in_the_login_name_is_a_failed_login(client: httpx.AsyncClient) -> None:
    got = await login(client, "sup.a\x00")
    assert got.status_code == 200  # the login page again, as for any wrong name
    assert "用户名或密码错误" in got.text
    # and the account itself still logs in
    assert (await login(client, "sup.a")).status_code == 303


async def test_a_control_character_in_the_claimant_status_form_is_invalid_input(
    store_sessions: Sessions, tmp_path: Path
) -> None:
    """``POST /status`` (no login): the number is checked before any query; the lookup is still
    counted (as "-") for the rate limits."""
    from sqlalchemy import select

    from claims.store.documents import StatusLookup

    services = Services(Settings(store=StoreSettings(data_dir=tmp_path)), sessions=store_sessions)
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/status")
        token = page.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
        got = [
            (await c.post("/status", data={"number": n, "id6": "123456", "csrftoken": token})).status_code
            for n in ("JS2024\x00X", "JS2024\x1bX", "JS2024X")
        ]
    assert got == [422, 422, 404]
    with store_sessions() as s:
        logged = sorted(row.claim_number for row in s.scalars(select(StatusLookup)))
    assert logged == ["-", "-", "JS2024X"]


async def test_a_cookie_header_that_is_not_utf8_is_400_not_a_500(services: Services) -> None:
    app = create_app(services)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/login",
        "raw_path": b"/login",
        "query_string": b"",
        "headers": [(b"cookie", b"lang=\x85")],
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
        "root_path": "",
        "asgi": {"version": "3.0"},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"cookie: not UTF-8"


async def test_temporal_not_answering_is_a_503_page_wherever_a_route_does_not_say_so(
    services: Services,
) -> None:
    from claims.errors import Unavailable

    app = create_app(services)

    async def boom() -> None:
        raise Unavailable("claim JS2024X: no answer to the state query (deadline exceeded)")

    app.add_api_route("/probe-unavailable", boom, methods=["GET"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/probe-unavailable", headers={"accept": "text/html"})
        plain = await c.get("/probe-unavailable", headers={"accept": "*/*"})
    assert page.status_code == 503 and "暂时无法办理" in page.text
    assert plain.status_code == 503
