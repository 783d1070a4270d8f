"""The web console in a real browser: Debian's Chromium driven by Playwright
(pytest-playwright-asyncio) in the suite's session loop, the console served by uvicorn over
the time-skipping Temporal server, a worker and a fresh SQLite store (``tests/support/browser.py``).

Screenshots of every page go to ``tests/artifacts/screens/``. Marked ``browser``; without
Chromium or the CJK font these tests skip with the reason (``./run.sh test`` installs both as root).
"""

from __future__ import annotations

import io
import re
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")

from playwright.async_api import Page, expect  # noqa: E402
from pytest_playwright_asyncio.pytest_playwright import CreateContextCallback  # noqa: E402

from claims.models import Actor, RegisterInput, Role, Stage  # noqa: E402
from claims.services.client import claim_state, perform_step  # noqa: E402
from tests.support.browser import (  # noqa: E402
    CHROMIUM,
    PASSWORD,
    Console,
    screenshot,
    serious_violations,
    serve,
)

pytestmark = [
    pytest.mark.browser,
    # pytest-playwright-asyncio's own base_url fixture (a method): not ours to change
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

_PLAIN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>试页</title></head>
<body><main><h1>理赔待办</h1><form method="post" action="/done">
<button type="submit">立案</button></form></main></body></html>"""


async def _plain_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """A tiny ASGI app: one Chinese page with a 立案 button posting to /done, and a page with
    accessibility faults (``/unlabelled``)."""
    if scope["type"] != "http":
        return
    body = {
        "/": _PLAIN,
        "/unlabelled": (
            '<!doctype html><html lang="zh-CN"><title>坏页</title>'
            '<main><input type="text"><button></button></main>'
        ),
    }.get(scope["path"], '<!doctype html><html lang="zh-CN"><title>已立案</title><p>已立案</p>')
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
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
        # axe does find what it should: a field without a label, a button without a name
        await page.goto(url + "/unlabelled")
        found = " ".join(await serious_violations(page))
        assert "label (critical)" in found and "button-name (critical)" in found, found


# --------------------------------------------------------------------------- the console

COUNTY_A, TOWNSHIP_A, VILLAGE_A = "宁乡市", "大成桥镇", "示范村甲"  # the first demo case happened here
COUNTY_B = "醴陵市"

SLA_WORDS = re.compile(r"剩余 \d+ 个工作日|今日到期|超期 \d+ 天|已超期|暂停·等待资料")
"""An SLA badge in words (``claims/web/present.py``), never a bare number or an ISO duration."""

ROLE_NAMES = {
    "handler": "理赔员",
    "village_secretary": "村计生协秘书长",
    "investigator": "调查员",
    "supervisor": "主管",
    "auditor": "审计",
}


async def log_in(page: Page, console: Console, user: str, *, lands_on: str | None = "/inbox") -> None:
    """Log in through the form (fields 工号 and 密码) and wait for the landing page
    (``lands_on``; None: any page but the login page)."""
    await page.goto(console.url + "/login")
    await page.get_by_label("工号").fill(user)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    if lands_on is None:
        await page.wait_for_url(lambda url: "/login" not in url)
    else:
        await page.wait_for_url(re.compile(re.escape(console.url + lands_on) + r"(\?.*)?$"))


async def reported_in_county_a(console: Console) -> str:
    """The first demo case (宁乡市) reported through the harness; its claim number."""
    return await console.harness.report(console.harness.cases[0])


async def csrf_token_of(page: Page) -> str:
    """The CSRF token the page hands its forms (the hidden ``csrftoken`` field)."""
    token = await page.locator("input[name=csrftoken]").first.get_attribute("value")
    assert token
    return token


async def test_login_per_role_lands_on_its_page_and_switches_to_english(page: Page, console: Console) -> None:
    """Every role logs in with the form and lands on its page, named in the header in Chinese;
    the language switch turns the page into English and keeps it English; a wrong password
    stays on the login page with one message and no session."""
    await page.goto(console.url + "/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    await screenshot(page, "01-login")

    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    await page.get_by_label("工号").fill("handler.ningxiang")
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await expect(page).to_have_url(re.compile(r"/login"))
    await screenshot(page, "02-login-refused")

    users = {
        "handler": ("handler.ningxiang", "/inbox"),
        "village_secretary": (
            console.add_user("sec.jia", "village_secretary", COUNTY_A, VILLAGE_A),
            "/inbox",
        ),
        "investigator": (console.add_user("inv.ningxiang", "investigator", COUNTY_A), "/inbox"),
        "supervisor": (console.add_user("sup.ningxiang", "supervisor", COUNTY_A), "/supervise"),
    }
    for role, (user, landing) in users.items():
        await page.context.clear_cookies()
        await log_in(page, console, user, lands_on=landing)
        who = page.locator("header .who")
        await expect(who).to_contain_text(user)
        await expect(who).to_contain_text(ROLE_NAMES[role])
        await expect(who).to_contain_text(COUNTY_A)
        await expect(page.get_by_role("heading", level=1)).not_to_have_text(
            re.compile("未找到|无权操作|错误")
        )
        if role == "handler":
            await expect(page.get_by_role("heading", level=1)).to_have_text("我的待办")
        await screenshot(page, f"03-landing-{role}")
        if role == "village_secretary":  # the report form is made for a phone
            await page.set_viewport_size({"width": 375, "height": 740})
            await page.get_by_role("link", name="新报案").first.click()
            await page.wait_for_url("**/claims/new")
            await expect(page.get_by_label("保单号")).to_be_visible()
            assert await serious_violations(page) == []
            await screenshot(page, "03-new-report-phone")
            await page.set_viewport_size({"width": 1280, "height": 800})

    # the last one (the supervisor) switches to English, and the choice sticks
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("header .who")).to_contain_text("Supervisor")
    assert await page.locator("html").get_attribute("lang") == "en"
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await screenshot(page, "04-landing-supervisor-en")
    await page.get_by_role("button", name="中文").click()
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()


async def test_handler_registers_a_claim_from_the_inbox(page: Page, console: Console) -> None:
    """A handler of 宁乡市 finds the county's new report in the inbox, opens it, registers it
    with one click; the page then shows the stage after 立案, 立案 on the timeline by this
    handler, and the SLA clock in words. The workflow recorded the step as the handler's."""
    number = await reported_in_county_a(console)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    await log_in(page, console, "handler.ningxiang")

    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    await expect(row).to_contain_text(TOWNSHIP_A)
    await expect(row).to_contain_text("未分派")
    await expect(row.locator(".badge")).to_have_text(SLA_WORDS)
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "05-inbox")

    await row.get_by_role("link", name=number).click()
    await page.wait_for_url(f"**/claims/{number}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    await expect(page.locator("dd.stage")).to_have_text("报案")
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "06-claim-reported")

    await page.get_by_role("button", name="立案", exact=True).click()
    await expect(page.locator("dd.stage")).not_to_have_text("报案")
    timeline = page.locator("ol.timeline")
    await expect(
        timeline.locator("li").filter(has_text="立案").filter(has_text="handler.ningxiang")
    ).to_have_count(1)
    await expect(page.locator(".claim-header .badge")).to_have_text(SLA_WORDS)
    await screenshot(page, "07-claim-registered")

    state = await claim_state(console.harness.client, number)
    assert state.stage != Stage.REPORTED
    assert state.assigned_handler == "handler.ningxiang"
    registered = [t for t in state.timeline if t.event == "registered"]
    assert [(t.actor.id, t.actor.role) for t in registered] == [("handler.ningxiang", Role.HANDLER)]


async def test_a_handler_of_another_county_gets_404(page: Page, console: Console) -> None:
    """A claim of 宁乡市 does not exist for a handler of 醴陵市: 404 with a page that says so,
    and it is not in that handler's inbox."""
    number = await reported_in_county_a(console)
    console.add_user("handler.liling", "handler", county=COUNTY_B)
    await log_in(page, console, "handler.liling")
    await expect(page.get_by_role("link", name=number)).to_have_count(0)
    response = await page.goto(f"{console.url}/claims/{number}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_contain_text("未找到")
    await screenshot(page, "08-claim-other-county-404")


async def test_a_post_without_the_csrf_token_gets_403(page: Page, console: Console) -> None:
    """A logged-in handler's step POST without the CSRF token (or with a wrong one) is refused
    with 403, from the browser's request API and from ``fetch`` in the page, and the claim is not
    registered; with the page's token the same session reaches the validator (422, its reason)."""
    number = await reported_in_county_a(console)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    await log_in(page, console, "handler.ningxiang")
    await page.goto(f"{console.url}/claims/{number}")
    step = f"{console.url}/claims/{number}/steps/register"

    response = await page.request.post(step, form={"note": "forged"}, max_redirects=0)
    assert response.status == 403
    status = await page.evaluate(
        """(url) => fetch(url, {method: "POST", body: new URLSearchParams({note: "forged"}),
                               redirect: "manual"}).then(r => r.status)""",
        step,
    )
    assert status == 403
    # a wrong token is no better than none
    response = await page.request.post(step, form={"note": "forged", "csrftoken": "x" * 40}, max_redirects=0)
    assert response.status == 403
    # the same session with the page's token gets past CSRF to the workflow's validator, which
    # refuses a payout at this stage: 422, the claim page with the reason beside the pay form
    response = await page.request.post(
        f"{console.url}/claims/{number}/steps/pay",
        form={"transfer_ref": "TRF-FORGED-1", "csrftoken": await csrf_token_of(page)},
        max_redirects=0,
    )
    assert response.status == 422
    body = await response.text()
    assert 'id="step-pay-error"' in body and 'class="stage">报案<' in body
    assert (await claim_state(console.harness.client, number)).stage == Stage.REPORTED


async def test_an_auditors_step_post_gets_403(page: Page, console: Console) -> None:
    """An auditor reads the claim with no step form on it; a step POST carrying a valid CSRF
    token still gets 403 and changes nothing."""
    number = await reported_in_county_a(console)
    console.add_user("audit.ningxiang", "auditor", county=COUNTY_A)
    await log_in(page, console, "audit.ningxiang", lands_on=None)
    response = await page.goto(f"{console.url}/claims/{number}")
    assert response is not None and response.status == 200
    await expect(page.locator("form.step")).to_have_count(0)
    await screenshot(page, "09-claim-auditor")
    token = await csrf_token_of(page)
    response = await page.request.post(
        f"{console.url}/claims/{number}/steps/register", form={"csrftoken": token}, max_redirects=0
    )
    assert response.status == 403
    assert (await claim_state(console.harness.client, number)).stage == Stage.REPORTED


async def test_axe_finds_nothing_serious_on_login_inbox_and_claim(page: Page, console: Console) -> None:
    """axe-core: no serious or critical violation on the login page, the inbox and a claim page
    at phone width, and on the login page at desktop width (the inbox and the claim page at
    desktop width are checked in the registration test above, the report form in the first)."""
    number = await reported_in_county_a(console)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    await page.goto(console.url + "/login")
    found = {"login (desktop)": await serious_violations(page)}
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.reload()
    found["login"] = await serious_violations(page)
    await log_in(page, console, "handler.ningxiang")
    found["inbox"] = await serious_violations(page)
    await screenshot(page, "10-inbox-phone")
    await page.goto(f"{console.url}/claims/{number}")
    found["claim"] = await serious_violations(page)
    await screenshot(page, "10-claim-phone")
    assert found == {"login (desktop)": [], "login": [], "inbox": [], "claim": []}


async def _tab_to(page: Page, predicate: str, limit: int = 60) -> None:
    """Press Tab until ``predicate`` (a JS function of the focused element) holds."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"({predicate})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {predicate}")


async def test_keyboard_alone_logs_in_opens_and_registers_a_claim(page: Page, console: Console) -> None:
    """With the keyboard only: Tab reaches 工号 and 密码, Enter logs in; Tab reaches the claim's
    link in the inbox and Enter opens it; Tab reaches 立案 and Enter registers the claim."""
    number = await reported_in_county_a(console)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    await page.goto(console.url + "/login")
    await page.locator("body").focus()
    await _tab_to(page, "e => e.id === 'username'")
    await page.keyboard.type("handler.ningxiang")
    await _tab_to(page, "e => e.id === 'password'")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/inbox**")

    await _tab_to(page, f"e => e.tagName === 'A' && e.textContent.trim() === {number!r}")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/claims/{number}")
    await _tab_to(page, "e => e.tagName === 'BUTTON' && e.textContent.trim() === '立案'")
    await page.keyboard.press("Enter")
    await expect(page.locator("ol.timeline li").filter(has_text="立案")).to_have_count(1)
    assert (await claim_state(console.harness.client, number)).assigned_handler == "handler.ningxiang"


async def test_without_javascript_a_handler_still_registers(
    new_context: CreateContextCallback, console: Console
) -> None:
    """With JavaScript off (no htmx) the step form is a plain form: 立案 posts, the answer
    redirects to the claim page, which shows the next stage and 立案 on the timeline."""
    number = await reported_in_county_a(console)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    context = await new_context(java_script_enabled=False)
    page = await context.new_page()
    await log_in(page, console, "handler.ningxiang")
    await page.get_by_role("link", name=number).click()
    await page.wait_for_url(f"**/claims/{number}")
    await page.get_by_role("button", name="立案", exact=True).click()
    await page.wait_for_load_state()
    await expect(page.locator("dd.stage")).to_have_text("资料收集")
    await expect(
        page.locator("ol.timeline li").filter(has_text="立案").filter(has_text="handler.ningxiang")
    ).to_have_count(1)
    assert page.url == f"{console.url}/claims/{number}"
    await screenshot(page, "11-claim-registered-no-js")
    assert (await claim_state(console.harness.client, number)).stage == Stage.DOCUMENTS


async def test_a_village_secretarys_report_reaches_the_handlers_inbox(
    new_context: CreateContextCallback, console: Console
) -> None:
    """A village secretary reports a claim on the phone form in one browser; the claim page
    shows it at 报案, reported by the secretary (from the session, never a form field); a
    handler of the county, in another browser, finds it among the new reports and opens it."""
    report = console.harness.cases[0].report
    console.add_user("sec.jia", "village_secretary", COUNTY_A, VILLAGE_A)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)

    secretary = await (await new_context()).new_page()
    await secretary.set_viewport_size({"width": 375, "height": 740})
    await log_in(secretary, console, "sec.jia")
    await secretary.get_by_role("link", name="新报案").first.click()
    await secretary.wait_for_url("**/claims/new")
    await secretary.get_by_label("保单号").fill(report.policy_numbers[0])
    await secretary.get_by_label("被保险人身份证号").fill(report.id_number)
    await secretary.get_by_label("出险日期").fill(report.accident_date.isoformat())
    await secretary.get_by_label("报案日期").fill(report.reported_on.isoformat())
    await secretary.get_by_label("出险结果").select_option("disability")
    await secretary.get_by_label("出险原因").fill("fall_from_height")
    await secretary.get_by_label("事故经过").fill("搭建钢架大棚时从 5 米高处坠落，头部受伤")
    await secretary.get_by_label("伤残等级").fill("1")
    await secretary.get_by_label("有第三方证明").set_checked(False)
    await screenshot(secretary, "12-new-report-filled-phone")
    await secretary.get_by_role("button", name="提交报案").click()
    await secretary.wait_for_url(re.compile(r"/claims/JS20210626-"))
    number = secretary.url.rsplit("/", 1)[1]
    await expect(secretary.locator("dd.stage")).to_have_text("报案")
    await expect(
        secretary.locator("ol.timeline li").filter(has_text="报案").filter(has_text="sec.jia")
    ).to_have_count(1)
    await screenshot(secretary, "13-claim-reported-by-secretary-phone")

    handler = await (await new_context()).new_page()
    await log_in(handler, console, "handler.ningxiang")
    await handler.get_by_role("link", name=re.compile("待立案")).click()
    row = handler.get_by_role("row").filter(has=handler.get_by_role("link", name=number))
    await expect(row).to_contain_text(f"{TOWNSHIP_A}·{VILLAGE_A}")
    await row.get_by_role("link", name=number).click()
    await expect(handler.get_by_role("button", name="立案", exact=True)).to_be_visible()

    state = await claim_state(console.harness.client, number)
    reported = [t for t in state.timeline if t.event == "reported"]
    assert [(t.actor.id, t.actor.role) for t in reported] == [("sec.jia", Role.VILLAGE_SECRETARY)]
    assert state.stage == Stage.REPORTED and state.village == VILLAGE_A


COUNTY_DROWNING = "醴陵市"  # the second demo case: two policies, 132,000 yuan, above the 50,000 limit


async def _open(page: Page, step: str) -> None:
    """Unfold the step's form when the page shows it folded (``details`` beside the first step)."""
    box = page.locator(f"details#step-{step}-box")
    if await box.count() and await box.get_attribute("open") is None:
        await box.locator("summary").click()


async def _step(page: Page, step: str, label: str) -> None:
    """Submit the step form ``step`` with its button ``label`` and wait for this step's answer
    in the swapped panel: its notice (已完成：``label``) or the reason beside its form. Not any
    notice: the step before's is still on the page while the request runs, and a form opened
    then is swapped away closed (seen when a slow answer crossed midnight in Shanghai)."""
    await _open(page, step)
    form = page.locator(f"form#step-{step}")
    await form.get_by_role("button", name=label, exact=True).click()
    done = page.locator("p.notice", has_text=f"已完成：{label}")
    await expect(done.or_(page.locator(f"#step-{step}-error"))).to_be_visible()


async def test_a_payout_above_the_limit_is_refused_approved_and_paid_once(
    new_context: CreateContextCallback, console: Console
) -> None:
    """The drowning case (醴陵市, two policies, 132,000 yuan) through the claim page's forms: the
    handler registers it, receives every document, completes them and adjudicates; 赔付 is
    refused beside its form (above the handler's 50,000 authority); the supervisor, in another
    browser, approves (审批); the handler pays: two payments, 132,000.00 in all, and the pay
    form is gone."""
    number = await console.harness.report(console.harness.cases[1])
    console.add_user("handler.liling", "handler", county=COUNTY_DROWNING)
    console.add_user("sup.liling", "supervisor", county=COUNTY_DROWNING)
    handler = await (await new_context()).new_page()
    await log_in(handler, console, "handler.liling")
    await handler.goto(f"{console.url}/claims/{number}")

    await _step(handler, "register", "立案")
    await _open(handler, "receive_documents")
    boxes = handler.locator("form#step-receive_documents input[type=checkbox][name=documents]")
    for i in range(await boxes.count()):
        await boxes.nth(i).check()
    await _step(handler, "receive_documents", "收到资料")
    await _step(handler, "complete_documents", "资料齐全")
    await expect(handler.locator("dd.stage")).to_have_text("核定")
    await _open(handler, "adjudicate")
    await handler.locator("form#step-adjudicate").get_by_label("出险原因").fill("drowning")
    await _step(handler, "adjudicate", "核定")
    await expect(handler.locator("dd.stage")).to_have_text("赔付")

    await _open(handler, "pay")
    await handler.locator("form#step-pay").get_by_label("转账流水号").fill("TRF-2022-LL-0002")
    await _step(handler, "pay", "赔付")
    refusal = handler.locator("#step-pay-error")
    await expect(refusal).to_contain_text("132000.00")
    await expect(refusal).to_contain_text("须先经主管审批")
    await screenshot(handler, "14-pay-refused-above-limit")
    assert (await claim_state(console.harness.client, number)).payments == []

    supervisor = await (await new_context()).new_page()
    await log_in(supervisor, console, "sup.liling", lands_on="/supervise")
    await supervisor.goto(f"{console.url}/claims/{number}")
    await _step(supervisor, "approve_payout", "审批")
    await expect(supervisor.locator("ol.timeline")).to_contain_text("sup.liling")

    await handler.reload()
    await _open(handler, "pay")
    await handler.locator("form#step-pay").get_by_label("转账流水号").fill("TRF-2022-LL-0002")
    await _step(handler, "pay", "赔付")
    await expect(handler.locator("table.payments tbody tr")).to_have_count(2)
    await expect(handler.locator("table.payments")).to_contain_text("100,000.00")
    await expect(handler.locator("table.payments")).to_contain_text("32,000.00")
    await expect(handler.locator("dd.stage")).to_have_text("结案")
    await expect(handler.locator("form#step-pay")).to_have_count(0)
    await screenshot(handler, "15-paid")
    # the pay POST sent again (a double click, a resent form) pays nobody twice
    again = await handler.request.post(
        f"{console.url}/claims/{number}/steps/pay",
        form={"transfer_ref": "TRF-2022-LL-0002", "csrftoken": await csrf_token_of(handler)},
        max_redirects=0,
    )
    assert again.status in (303, 422), again.status
    state = await claim_state(console.harness.client, number)
    assert len(state.payments) == 2
    assert sum(p.amount for p in state.payments) == Decimal("132000.00")
    assert {p.transfer_ref for p in state.payments} == {"TRF-2022-LL-0002"}


async def test_an_auditor_reads_a_claims_audit_with_no_step_buttons(page: Page, console: Console) -> None:
    """An auditor lands on 审计, finds a paid claim by its number and opens its audit: the
    timeline from the workflow history (立案 by the handler), the payout, no step button or
    step form; the replay says the history replays with the current code; axe finds nothing
    serious."""
    state = await console.harness.drive(console.harness.cases[2])  # road accident, 45,000 paid
    number = state.claim_number
    console.add_user("audit.county", "auditor", county=state.county)
    await log_in(page, console, "audit.county", lands_on="/audit")
    await expect(page.get_by_role("heading", level=1)).to_have_text("审计")
    await page.get_by_label("赔案号").fill(number)
    await page.get_by_role("button", name="查找").click()
    await page.get_by_role("link", name=number).first.click()
    await page.wait_for_url(f"**/audit/{number}")
    timeline = page.locator("table.audit-timeline")
    await expect(timeline.locator("tr.entry-step", has_text="立案")).to_contain_text("理赔员")
    await expect(page.locator("table.payments tfoot")).to_contain_text("45,000.00")
    await expect(page.locator("form.step")).to_have_count(0)
    await expect(page.locator("form[action*='/steps/']")).to_have_count(0)
    for label in ("立案", "核定", "赔付", "拒赔"):
        await expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)
    assert await serious_violations(page) == []
    await screenshot(page, "audit-claim")
    await page.get_by_role("button", name="按当前代码重放").click()
    await expect(page.locator(".replay-outcome")).to_contain_text("历史可按当前代码重放")
    await screenshot(page, "audit-replayed")
    await page.goto(console.url + "/audit")
    assert await serious_violations(page) == []
    await screenshot(page, "audit-home")


async def test_a_supervisor_filters_by_handler_and_reassigns_two_claims_in_bulk(
    page: Page, console: Console
) -> None:
    """Two 宁乡市 claims registered by one handler: the supervisor filters the list by that
    handler (the filter in the query string), ticks both, picks the other handler and
    reassigns them in one submission: a result on each row, both claims now the other
    handler's (in the workflows, not only on the page)."""
    first = console.harness.cases[0]
    second = first.model_copy(
        update={
            "report": first.report.model_copy(
                update={"accident_date": date(2021, 9, 1), "reported_on": date(2021, 9, 3)}
            )
        }
    )
    numbers = [await console.harness.report(first), await console.harness.report(second)]
    assert numbers[0] != numbers[1]
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER, county=COUNTY_A)
    for n in numbers:
        await perform_step(console.harness.client, n, RegisterInput(actor=handler))
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    console.add_user("handler.ningxiang2", "handler", county=COUNTY_A)
    console.add_user("sup.ningxiang", "supervisor", county=COUNTY_A)

    await log_in(page, console, "sup.ningxiang", lands_on="/supervise")
    await page.goto(console.url + "/supervise")
    await page.get_by_label("经办人", exact=True).select_option("handler.ningxiang")
    await page.get_by_role("button", name="筛选").click()
    await page.wait_for_url(re.compile(r"/supervise\?.*handler=handler\.ningxiang"))
    for n in numbers:
        await page.get_by_label(f"选择 {n}").check()
    await page.get_by_label("改派给").select_option("handler.ningxiang2")
    await screenshot(page, "16-supervise-selected")
    await page.get_by_role("button", name="批量改派").click()
    results = page.locator("#bulk-results")
    for n in numbers:
        await expect(results.locator(f'tr[data-claim="{n}"]')).to_have_class(re.compile("result-reassigned"))
    await screenshot(page, "17-supervise-reassigned")
    assert not await serious_violations(page), await serious_violations(page)
    for n in numbers:
        assert (await claim_state(console.harness.client, n)).assigned_handler == "handler.ningxiang2"


async def test_the_monthly_report_page_and_its_downloads(
    page: Page, console: Console, tmp_path: Path
) -> None:
    """A paid claim (the road accident, 45,000 yuan) in this month's 理赔明细 of its county: the
    page shows it and its total; the Excel file downloaded from the page holds the same total,
    the CSV starts with a byte-order mark (Excel on Chinese Windows), the PDF embeds its font."""
    state = await console.harness.drive(console.harness.cases[2])
    assert state.stage == Stage.CLOSED
    (payment,) = state.payments
    month = payment.paid_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    county = state.county
    console.add_user("sup.yuhua", "supervisor", county=county)
    await log_in(page, console, "sup.yuhua", lands_on="/supervise")
    await page.goto(f"{console.url}/reports/monthly/{county}/{month}")
    await expect(page.locator("body")).to_contain_text(state.claim_number)
    await expect(page.locator("body")).to_contain_text("45,000.00")
    await expect(page.locator("body")).to_contain_text("合计")
    assert await serious_violations(page) == []
    await screenshot(page, "18-monthly-report")

    files: dict[str, bytes] = {}
    for name in ("下载 Excel (.xlsx)", "CSV", "PDF"):
        async with page.expect_download() as info:
            await page.get_by_role("link", name=name, exact=True).click()
        download = await info.value
        path = tmp_path / download.suggested_filename
        await download.save_as(path)
        files[path.suffix] = path.read_bytes()

    book = openpyxl.load_workbook(io.BytesIO(files[".xlsx"]), data_only=False)
    sheet = book.worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    numbers = [v for r in rows for v in r if isinstance(v, int | float | Decimal)]
    assert 45000 in numbers, rows[:12]
    assert any(state.claim_number in str(v) for r in rows for v in r)
    assert files[".csv"].startswith(b"\xef\xbb\xbf")
    assert state.claim_number in files[".csv"].decode("utf-8-sig")
    assert files[".pdf"].startswith(b"%PDF")
    assert b"WenQuanYi" in _pdf_text(files[".pdf"]) and b"/FontFile" in _pdf_text(files[".pdf"])


def _pdf_text(pdf: bytes) -> bytes:
    """A PDF's bytes with its compressed streams (object streams too) inflated, to look for
    the embedded fonts' names and their ``/FontFile`` entries."""
    inflated = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            inflated.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"\n".join(inflated)
