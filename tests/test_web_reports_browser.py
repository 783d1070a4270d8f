"""The loss-ratio and published-report pages in Debian's Chromium: the chart is drawn under the
CSP, the numbers are the table's, axe finds nothing serious, a file downloads with its bytes;
screenshots ``tests/artifacts/screens/r2-loss-ratio*.png`` and ``r2-published.png``.

The store is ``tests/test_loss_ratio.py``'s small register and ledger (no Temporal needed:
these pages read the store only). Marked ``browser``; skipped without Chromium or the CJK font.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
import pytest_asyncio

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")

from playwright.async_api import Page, expect  # noqa: E402
from temporalio.client import Client  # noqa: E402

from claims.infra.settings import Settings, StoreSettings  # noqa: E402
from claims.services import accounts  # noqa: E402
from claims.services.context import Services  # noqa: E402
from claims.store.db import Sessions  # noqa: E402
from claims.web.app import create_app  # noqa: E402
from tests.support.browser import browser_missing, screenshot, serious_violations, serve  # noqa: E402
from tests.test_loss_ratio import world  # noqa: E402, F401 - the register and ledger fixture
from tests.test_publication import CAL, stand_in_builder  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PASSWORD = "browser-test-password-1"


@pytest_asyncio.fixture(loop_scope="session")
async def site(world: Sessions, tmp_path: Path) -> AsyncIterator[str]:  # noqa: F811
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from activities.reports import PublishRequest, ReportActivities

    services = Services(
        Settings(store=StoreSettings(data_dir=tmp_path)), sessions=world, client=cast(Client, object())
    )
    accounts.add_user(services, "sup.nx", "supervisor", PASSWORD, county="宁乡市")
    accounts.add_user(services, "aud.prov", "auditor", PASSWORD)
    ReportActivities(world, CAL, stand_in_builder).publish_county_month(
        PublishRequest(county="宁乡市", month="2022-06")
    )
    async with serve(create_app(services)) as url:
        yield url


async def _log_in(page: Page, url: str, user: str) -> None:
    await page.goto(url + "/login")
    await page.get_by_label("工号").fill(user)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda u: "/login" not in u)


async def test_loss_ratio_chart_and_table_in_chromium(page: Page, site: str) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await _log_in(page, site, "aud.prov")
    await page.goto(site + "/reports/loss-ratio")
    await expect(page.get_by_role("heading", name="赔付率", exact=True)).to_be_visible()
    # ECharts drew the chart (SVG renderer) from the JSON block, under default-src 'self'
    await expect(page.locator("#lr-chart svg")).to_have_count(1)
    await expect(page.locator("#lr-chart")).to_contain_text("已赚保费（元）")
    row = page.locator("#lr-table tbody tr").first
    await expect(row).to_contain_text("70.1%")
    await expect(page.locator("#lr-table tfoot")).to_contain_text("57.7%")  # 380.50 / 660.00
    assert errors == [], errors
    assert await serious_violations(page) == []
    await screenshot(page, "r2-loss-ratio")
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await serious_violations(page) == []
    await screenshot(page, "r2-loss-ratio-phone")


async def test_published_list_and_download_in_chromium(page: Page, site: str, world: Sessions) -> None:  # noqa: F811
    await _log_in(page, site, "sup.nx")
    await page.goto(site + "/reports/published")
    link = page.get_by_role("link", name="理赔明细_宁乡市_2022-06.csv")
    await expect(link).to_be_visible()
    assert await serious_violations(page) == []
    await screenshot(page, "r2-published")
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "理赔明细_宁乡市_2022-06.csv"
    content = Path(await download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    assert hashlib.sha256(content).hexdigest() in await page.content()
