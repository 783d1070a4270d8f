"""The web console in a real browser: Debian's Chromium driven by Playwright
(pytest-playwright-asyncio) in the suite's session loop, the console served by uvicorn over
the time-skipping Temporal server, a worker and a fresh SQLite store (``tests/support/browser.py``).

Screenshots of every page go to ``tests/artifacts/screens/``. Marked ``browser``; without
Chromium or the CJK font these tests skip with the reason (``./run.sh test`` installs both as root).
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")

from playwright.async_api import Page, expect  # noqa: E402

from tests.support.browser import CHROMIUM, screenshot, serve, serious_violations

pytestmark = pytest.mark.browser

_PLAIN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>试页</title></head>
<body><main><h1>理赔待办</h1><form method="post" action="/done">
<button type="submit">立案</button></form></main></body></html>"""


async def _plain_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """A tiny ASGI app: one Chinese page with a 立案 button posting to /done."""
    if scope["type"] != "http":
        return
    body = (_PLAIN if scope["path"] == "/" else '<!doctype html><html lang="zh-CN"><title>已立案</title><p>已立案</p>')
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]}
    )
    await send({"type": "http.response.body", "body": body.encode()})


async def test_debian_chromium_renders_chinese_and_submits(page: Page) -> None:
    """The plumbing: Debian's Chromium (not a downloaded one) opens a page served in the session
    loop, in Chinese on Beijing time, and a click on 立案 submits the form."""
    assert CHROMIUM.exists()
    assert page.context.browser is not None and page.context.browser.version.split(".")[0].isdigit()
    async with serve(_plain_app) as url:
        await page.goto(url + "/")
        assert await page.evaluate("navigator.language") == "zh-CN"
        assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Shanghai"
        await expect(page.get_by_role("heading", name="理赔待办")).to_be_visible()
        assert await serious_violations(page) == []
        await screenshot(page, "00-plumbing")
        await page.get_by_role("button", name="立案").click()
        await expect(page.get_by_text("已立案")).to_be_visible()
