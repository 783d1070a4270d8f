"""Document files and the status page in a real browser (issue 15): Debian's Chromium driven by
Playwright over the console served by uvicorn, the time-skipping Temporal server and a worker
(``tests/support/browser.py``).

A village secretary reports on a phone-sized screen with a photo (a file with a faked
extension is refused first, and what was typed stays); the handler registers the claim,
rejects the unreadable photo and accepts the claim form; a claimant's status page then shows
the stage and the rejected item as missing, and nothing personal. Screenshots go to
``tests/artifacts/screens/`` (``20-…`` to ``25-…``); axe finds nothing serious. Marked ``browser``.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")

from PIL import Image  # noqa: E402
from playwright.async_api import Page, expect  # noqa: E402
from pytest_playwright_asyncio.pytest_playwright import CreateContextCallback  # noqa: E402

from claims.models import Stage  # noqa: E402
from claims.services.client import claim_state  # noqa: E402
from tests.support.browser import PASSWORD, Console, screenshot, serious_violations  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

COUNTY_A, VILLAGE_A = "宁乡市", "示范村甲"


@pytest.fixture
def payload_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Files encrypted at rest in these tests (listed before ``console``, which reads the
    settings); the cached settings are dropped after, so no later test inherits the key."""
    from claims.infra.settings import get_settings

    monkeypatch.setenv("CLAIMS_PAYLOAD_KEYS", "b1:" + base64.b64encode(os.urandom(32)).decode())
    yield
    get_settings.cache_clear()


def files_in(tmp: Path) -> tuple[Path, Path, Path]:
    """A phone photo (JPEG), a PNG named .pdf, and a claim form PDF-like photo (PNG)."""
    photo = tmp / "IMG_20260301_101500.jpg"
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 170, 120)).save(out, format="JPEG")
    photo.write_bytes(out.getvalue())
    fake = tmp / "身份证.pdf"
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 60, 200)).save(out, format="PNG")
    fake.write_bytes(out.getvalue())
    form = tmp / "申请书.png"
    form.write_bytes(out.getvalue())
    return photo, fake, form


async def log_in(page: Page, console: Console, user: str) -> None:
    await page.goto(console.url + "/login")
    await page.get_by_label("工号").fill(user)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.asyncio(loop_scope="session")
async def test_phone_report_with_photos_rejection_and_the_status_page(
    payload_keys: None, new_context: CreateContextCallback, console: Console, tmp_path: Path
) -> None:
    report = console.harness.cases[0].report
    photo, fake, form_file = files_in(tmp_path)
    console.add_user("sec.jia", "village_secretary", COUNTY_A, VILLAGE_A)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)

    sec = await (await new_context()).new_page()
    await sec.set_viewport_size({"width": 375, "height": 740})
    await log_in(sec, console, "sec.jia")
    await sec.goto(console.url + "/claims/new")
    await sec.get_by_label("保单号").fill(report.policy_numbers[0])
    await sec.get_by_label("被保险人身份证号").fill(report.id_number)
    await sec.get_by_label("出险日期").fill(report.accident_date.isoformat())
    await sec.get_by_label("报案日期").fill(report.reported_on.isoformat())
    await sec.get_by_label("出险结果").select_option("disability")
    await sec.get_by_label("出险原因").fill("fall_from_height")
    await sec.get_by_label("事故经过").fill("搭建钢架大棚时坠落")
    await sec.get_by_label("伤残等级").fill("1")
    await sec.get_by_label("资料类别").select_option("claimant_id")
    # a PNG named .pdf: refused by its content, the typed report kept
    await sec.locator("#f-photos").set_input_files(str(fake))
    await sec.get_by_role("button", name="提交报案").click()
    await expect(sec.locator("#err-photos")).to_contain_text(
        "its content is image/png although its name says .pdf"
    )
    await expect(sec.get_by_label("事故经过")).to_have_value("搭建钢架大棚时坠落")
    await expect(sec.get_by_label("被保险人身份证号")).to_have_value(report.id_number)
    await screenshot(sec, "20-report-photo-refused-phone")
    await sec.locator("#f-photos").set_input_files(str(photo))
    await sec.get_by_role("button", name="提交报案").click()
    await sec.wait_for_url(re.compile(r"/claims/JS20210626-[^/]+$"))
    number = sec.url.rsplit("/", 1)[1]
    # the claim page loads the documents panel (htmx): the photo with its thumbnail
    panel = sec.locator("section#documents-panel")
    await expect(panel.locator("tr#doc-claimant_id [data-status]")).to_have_attribute(
        "data-status", "uploaded"
    )
    thumb = panel.locator("tr#doc-claimant_id img").first
    await thumb.scroll_into_view_if_needed()  # thumbnails load lazily
    await expect(thumb).to_be_visible()
    await thumb.evaluate("img => img.complete || new Promise(ok => img.addEventListener('load', ok))")
    assert await thumb.evaluate("img => img.naturalWidth") > 0
    await screenshot(sec, "21-claim-with-photo-phone")

    handler = await (await new_context()).new_page()
    await log_in(handler, console, "handler.ningxiang")
    await handler.goto(f"{console.url}/claims/{number}")
    await handler.locator("form#step-register").get_by_role("button", name="立案", exact=True).click()
    await expect(handler.locator("dd.stage")).to_have_text("资料收集")
    await handler.goto(f"{console.url}/claims/{number}/documents")
    # reject the photo as unreadable
    row = handler.locator("tr#doc-claimant_id")
    await row.get_by_label("退回原因").select_option("unreadable")
    await row.get_by_label("说明").fill("照片反光，看不清号码")
    await row.get_by_role("button", name="退回").click()
    await expect(handler.locator("tr#doc-claimant_id [data-status]")).to_have_attribute(
        "data-status", "rejected"
    )
    await expect(handler.locator("tr#doc-claimant_id")).to_contain_text("无法辨认")
    # the claim form from the handler's files, accepted: received on the claim
    await handler.locator("#up-claim_form").set_input_files(str(form_file))
    await handler.get_by_role("button", name="上传").click()
    await expect(handler.locator("tr#doc-claim_form [data-status]")).to_have_attribute(
        "data-status", "uploaded"
    )
    await handler.locator("tr#doc-claim_form").get_by_role("button", name="审核通过").click()
    await expect(handler.locator("tr#doc-claim_form [data-status]")).to_have_attribute(
        "data-status", "accepted"
    )
    assert await serious_violations(handler) == []
    await screenshot(handler, "22-documents-checked")
    state = await claim_state(console.harness.client, number)
    assert state.stage == Stage.DOCUMENTS and "claim_form" in state.documents_received
    assert "claimant_id" not in state.documents_received
    (sent_back,) = state.documents_rejected
    assert (sent_back.file.kind, sent_back.reason.value) == ("claimant_id", "unreadable")

    # the one-time notice (art. 22) offers what is missing, the sent-back item among it
    await handler.goto(f"{console.url}/claims/{number}")
    notice = handler.locator("form#step-request_documents")
    if not await notice.is_visible():
        await handler.locator("#step-request_documents-box > summary").click()
    offered = [await b.get_attribute("value") for b in await notice.locator("input[name=documents]").all()]
    assert "claimant_id" in offered and "claim_form" not in offered, offered
    for box in await notice.locator("input[name=documents]").all():
        await box.check()
    await screenshot(handler, "22b-one-time-notice-with-sent-back-item")
    await notice.get_by_role("button", name="一次性告知补充资料").click()
    await expect(handler.locator("#claim-panel")).to_contain_text("已完成：一次性告知补充资料")
    state = await claim_state(console.harness.client, number)
    assert state.documents_requested == offered

    visitor = await (await new_context()).new_page()
    await visitor.set_viewport_size({"width": 375, "height": 740})
    await visitor.goto(console.url + "/status")
    await visitor.get_by_label("赔案号").fill(number)
    await visitor.get_by_label("身份证号后6位").fill("000000")
    await visitor.get_by_role("button", name="查询").click()
    await expect(visitor.locator("#status-error")).to_contain_text("未找到")
    await screenshot(visitor, "23-status-not-found-phone")
    await visitor.get_by_label("赔案号").fill(number)
    await visitor.get_by_label("身份证号后6位").fill(report.id_number[-6:])
    await visitor.get_by_role("button", name="查询").click()
    await expect(visitor.locator("dd.stage")).to_have_text("资料收集")
    missing = visitor.locator("ul.missing")
    await expect(missing).to_contain_text("身份证")  # the rejected photo's item, missing again
    body = await visitor.content()
    assert report.id_number not in body and "户主" not in body
    assert await serious_violations(visitor) == []
    await screenshot(visitor, "24-status-page-phone")
