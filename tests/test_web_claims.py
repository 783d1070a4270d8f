"""The console's claim screens: the inbox, the claim page with its step forms, the report form.

Against ``create_app`` through httpx's ``ASGITransport`` with the suite's time-skipping
Temporal server, a worker and a fresh SQLite store (``tests/support/harness.py``); users log
in with the login form (accounts from ``claims.services.accounts``), and every POST carries
the CSRF token the page handed out. Also the wording of SLA clocks for fixed dates and the
form builders, without a server.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import insert

from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound
from claims.infra.settings import get_settings
from claims.models import Actor, AdjudicateInput, RegisterInput, Role, Stage
from claims.services import accounts, console as console_reads
from claims.services.console import InboxView
from claims.services.client import claim_state
from claims.services.context import Services
from claims.web import forms, present
from claims.web.app import create_app
from claims.web.routes import inbox as inbox_route
from claims.store.db import Claim, Household, InsuredPerson, Sessions, unit_of_work
from tests.support.harness import Harness

CAL = WorkingCalendar()
PASSWORD = "correct horse battery"
COUNTY_A, VILLAGE_A, COUNTY_B = "宁乡市", "示范村甲", "醴陵市"


# --------------------------------------------------------------------------- words, no server


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant given in Beijing time (UTC+8)."""
    return datetime(y, m, d, hh - 8, mm, tzinfo=UTC) if hh >= 8 else datetime(y, m, d - 1, hh + 16, mm, tzinfo=UTC)


def test_sla_badges_in_words_for_known_deadlines() -> None:
    now = at(2026, 12, 2)  # Wednesday 10:00
    # due Monday 7 December 17:30: Thursday, Friday, Monday left
    assert present.sla_badge(at(2026, 12, 7, 17, 30), now, CAL) == present.Badge("剩余 3 个工作日", "3 working days left", "ok")
    # due Friday 27 November 17:30: Monday 30 November and Tuesday 1 December late, and today
    assert present.sla_badge(at(2026, 11, 27, 17, 30), now, CAL).text == "超期 3 天"
    # due Monday 30 November: Tuesday and today
    late = present.sla_badge(at(2026, 11, 30, 17, 30), now, CAL)
    assert (late.text, late.tone, late.words("en")) == ("超期 2 天", "late", "2 working days overdue")
    assert present.sla_badge(at(2026, 12, 2, 17, 30), now, CAL).text == "今日到期"
    assert present.sla_badge(at(2026, 12, 3, 17, 30), now, CAL).tone == "warn"  # one working day left
    # across the National Day week: due Thursday 8 October 2026, seen on Monday 28 September:
    # 29 and 30 September and 8 October (1-7 October are days off)
    assert present.sla_badge(at(2026, 10, 8, 17, 30), at(2026, 9, 28), CAL).text == "剩余 3 个工作日"
    paused = present.sla_badge(at(2026, 11, 30, 17, 30), now, CAL, paused=True)
    assert (paused.text, paused.tone) == ("暂停·等待资料", "paused")
    assert present.sla_badge(None, now, CAL).text == "未设时限"
    # breached by the engine before a whole working day passed
    assert present.sla_badge(at(2026, 12, 2, 9, 0), now, CAL).text == "已超期"


def test_badge_day_counts_equal_counting_day_by_day() -> None:
    """The badges count on the calendar's own bisection; the same as looking at each day."""
    import random

    rng = random.Random(14)
    for _ in range(2000):
        a = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 2900))
        b = a + timedelta(days=rng.randrange(-3, 120))
        by_day = sum(CAL.is_working_day(a + timedelta(days=k)) for k in range(1, (b - a).days + 1))
        assert present._working_days_in(CAL, a, b) == by_day, (a, b)


def test_names_are_masked_and_terms_are_chinese_first() -> None:
    assert present.mask_name("张三") == "张*"
    assert present.mask_name("户主甲") == "户**"
    assert present.mask_name("") == "-"
    assert present.stage_name("documents") == "资料收集"
    assert present.stage_name("documents", "en") == "Collecting documents"
    assert present.document_name("claim_form") == "理赔申请书"
    assert present.event_name("registered") == "立案"
    assert present.yuan(present.Decimal("132000")) == "132,000.00"


def test_a_step_form_becomes_its_input_in_the_sessions_name() -> None:
    me = Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A)
    form = {
        "outcome": ["disability"],
        "cause": ["road_accident"],
        "disability_grades": ["3, 5"],
        "medical_expenses": ["3,200.00"],
        "actor": ["sup.x"],  # never read: the actor is the session's
        "note": ["核定 by form"],
    }
    inp = forms.step_input("adjudicate", form, me)
    assert isinstance(inp, AdjudicateInput)
    assert inp.actor == me
    assert inp.facts.disability_grades == [3, 5]
    assert str(inp.facts.medical_expenses) == "3200.00"
    assert forms.step_input("register", {}, me) == RegisterInput(actor=me)


def test_a_bad_form_value_names_its_field() -> None:
    me = Actor(id="handler.a", role=Role.HANDLER)
    with pytest.raises(forms.FormInvalid) as e:
        forms.step_input("adjudicate", {"outcome": ["death"], "cause": ["x"], "disability_grades": ["three"]}, me)
    assert e.value.field == "disability_grades"
    with pytest.raises(forms.FormInvalid) as e:
        forms.step_input("register", {"assign_to": ["王 五"]}, me)
    assert e.value.field == "assign_to"
    with pytest.raises(forms.FormInvalid) as e:
        forms.step_input("pay", {"transfer_ref": [""]}, me)
    assert e.value.field == "transfer_ref"
    with pytest.raises(forms.FormInvalid) as e:
        forms.step_input("note_to_self", {}, me)
    assert e.value.field == "step"
    assert forms.report_field("policy_numbers.0") == "policy_numbers"
    assert forms.report_field(None) == "(report)"


# --------------------------------------------------------------------------- inbox reads, fixed times

NOW = at(2026, 12, 2)  # Wednesday 10:00 Beijing time


def _projection(sessions: Sessions) -> None:
    """Claims of 宁乡市 (two villages) and one of 醴陵市, with deadlines around ``NOW``."""
    rows = [
        # number, county, village, stage, handler, sla_state, deadline
        ("JS-LATE", COUNTY_A, VILLAGE_A, "documents", "handler.a", "breached", at(2026, 11, 30, 17, 30)),
        ("JS-TODAY", COUNTY_A, VILLAGE_A, "adjudication", "handler.a", "at_risk", at(2026, 12, 2, 17, 30)),
        ("JS-NEW", COUNTY_A, "示范村乙", "reported", None, "on_track", at(2026, 12, 2, 17, 30)),
        ("JS-SOON", COUNTY_A, VILLAGE_A, "documents", "handler.a", "on_track", at(2026, 12, 4, 17, 30)),
        ("JS-LATER", COUNTY_A, VILLAGE_A, "investigation", "handler.a", "on_track", at(2026, 12, 7, 17, 30)),
        ("JS-OTHER", COUNTY_A, VILLAGE_A, "documents", "handler.b", "on_track", at(2026, 12, 3, 17, 30)),
        ("JS-CLOSED", COUNTY_A, VILLAGE_A, "closed", "handler.a", "met", at(2026, 12, 1, 17, 30)),
        ("JS-LILING", COUNTY_B, "村", "documents", "handler.a", "breached", at(2026, 11, 20, 17, 30)),
    ]
    with unit_of_work(sessions) as s:
        s.execute(insert(Household), [dict(id=1, household_no="H1", county=COUNTY_A, township="大成桥镇", village=VILLAGE_A)])
        s.execute(
            insert(InsuredPerson),
            [dict(id=1, person_ref="P1", household_id=1, name="张三丰", id_number="430182197805200424", sex="M", birth_date=datetime(1978, 5, 20).date())],
        )
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=number, workflow_id=f"claim-{number}", person_id=1,
                    accident_date=datetime(2026, 11, i + 1).date(), reported_on=datetime(2026, 11, 1).date(),
                    policy_numbers="FA1", outcome="death", stage=stage, county=county, township="大成桥镇",
                    village=village, assigned_handler=handler, green_channel=number == "JS-TODAY",
                    sla_state=state, sla_deadline=due, reported_at=at(2026, 11, 1), updated_at=NOW,
                )
                for i, (number, county, village, stage, handler, state, due) in enumerate(rows)
            ],
        )


def _numbers(page: console_reads.InboxPage) -> list[str]:
    return [r.claim_number for r in page.rows]


def test_the_inbox_views_split_by_deadline_in_scope_and_by_role(sqlite_sessions: Sessions, tmp_path: Path) -> None:
    _projection(sqlite_sessions)
    services = Services(get_settings(), sessions=sqlite_sessions)
    handler = Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A)

    def view(actor: Actor, v: InboxView, page: int = 1, per_page: int = 50) -> console_reads.InboxPage:
        return console_reads.inbox_page(services, actor, v, NOW, CAL, page, per_page)

    # a handler: their own open claims and the county's unassigned report, earliest deadline first
    assert _numbers(view(handler, InboxView.ALL)) == ["JS-LATE", "JS-NEW", "JS-TODAY", "JS-SOON", "JS-LATER"]
    assert _numbers(view(handler, InboxView.OVERDUE)) == ["JS-LATE"]
    assert _numbers(view(handler, InboxView.TODAY)) == ["JS-NEW", "JS-TODAY"]
    assert _numbers(view(handler, InboxView.UPCOMING)) == ["JS-SOON"]  # Friday; Monday is the third working day
    assert _numbers(view(handler, InboxView.NEW)) == ["JS-NEW"]
    first = view(handler, InboxView.ALL)
    assert first.counts == {
        InboxView.OVERDUE: 1, InboxView.TODAY: 2, InboxView.UPCOMING: 1, InboxView.ALL: 5, InboxView.NEW: 1
    }
    assert first.rows[0].insured_name == "张三丰" and present.mask_name(first.rows[0].insured_name) == "张**"
    # pages of two; a page past the end gives the last
    pages = [view(handler, InboxView.ALL, n, per_page=2) for n in (1, 2, 3, 9)]
    assert [_numbers(p) for p in pages] == [["JS-LATE", "JS-NEW"], ["JS-TODAY", "JS-SOON"], ["JS-LATER"], ["JS-LATER"]]
    assert (pages[0].pages, pages[0].total, pages[3].page) == (3, 5, 3)
    # a supervisor sees the whole county, an investigator the investigations, a secretary the village
    sup = Actor(id="sup.a", role=Role.SUPERVISOR, county=COUNTY_A)
    assert "JS-OTHER" in _numbers(view(sup, InboxView.ALL)) and "JS-LILING" not in _numbers(view(sup, InboxView.ALL))
    assert _numbers(view(Actor(id="inv.a", role=Role.INVESTIGATOR, county=COUNTY_A), InboxView.ALL)) == ["JS-LATER"]
    sec = Actor(id="sec.a", role=Role.VILLAGE_SECRETARY, county=COUNTY_A, village="示范村乙")
    assert _numbers(view(sec, InboxView.ALL)) == ["JS-NEW"]
    # the summary of a claim elsewhere is "not found", as one that does not exist
    with pytest.raises(ClaimNotFound):
        console_reads.claim_summary(services, handler, "JS-LILING")
    assert console_reads.claim_summary(services, sec, "JS-NEW").village == "示范村乙"
    with pytest.raises(ClaimNotFound):
        console_reads.claim_summary(services, sec, "JS-LATE")


def test_the_five_tab_counts_of_one_query_match_the_views_on_a_mixed_set(store_sessions: Sessions) -> None:
    """The tabs' five counts (``claims.store.inbox.view_counts``: one query of conditional sums)
    on rows at every edge of the views, on SQLite and PostgreSQL: the numbers asserted, and each
    equal to the rows its view lists."""
    now = NOW  # Wednesday 2 December 10:00; today ends at midnight, upcoming at Friday's close
    end_of_today, horizon = at(2026, 12, 3, 0, 0), at(2026, 12, 4, 17, 30)
    rows = [
        # number, village, stage, handler, sla_state, deadline
        ("C-LATE-BY-TIME", VILLAGE_A, "documents", "handler.a", "on_track", now - timedelta(minutes=1)),
        ("C-BREACHED-LATER", VILLAGE_A, "adjudication", "handler.a", "breached", at(2026, 12, 9)),
        ("C-BREACHED-TODAY", VILLAGE_A, "documents", "handler.a", "breached", at(2026, 12, 2, 15)),
        ("C-DUE-NOW", VILLAGE_A, "documents", "handler.a", "at_risk", now),
        ("C-DUE-2359", "示范村乙", "payout", "handler.a", "at_risk", end_of_today - timedelta(seconds=1)),
        ("C-DUE-MIDNIGHT", VILLAGE_A, "documents", "handler.a", "on_track", end_of_today),
        ("C-DUE-HORIZON", VILLAGE_A, "investigation", "handler.a", "at_risk", horizon),
        ("C-AFTER-HORIZON", VILLAGE_A, "documents", "handler.a", "on_track", horizon + timedelta(seconds=1)),
        ("C-NEW", "示范村乙", "reported", None, "on_track", None),
        ("C-NEW-DUE-TODAY", VILLAGE_A, "reported", None, "on_track", at(2026, 12, 2, 17, 30)),
        ("C-REPORTED-TAKEN", VILLAGE_A, "reported", "handler.a", "on_track", at(2026, 12, 3, 17, 30)),
        ("C-UNASSIGNED-DOCS", VILLAGE_A, "documents", None, "breached", at(2026, 11, 30)),
        ("C-OTHER-HANDLER", VILLAGE_A, "investigation", "handler.b", "on_track", at(2026, 12, 3, 12)),
        ("C-OTHER-NO-DEADLINE", "示范村乙", "documents", "handler.b", "on_track", None),
        ("C-CLOSED", VILLAGE_A, "closed", "handler.a", "breached", at(2026, 11, 1)),
        ("C-DECLINED", VILLAGE_A, "declined", None, "met", at(2026, 12, 2, 12)),
    ]
    with unit_of_work(store_sessions) as s:
        household = dict(id=1, household_no="H1", county=COUNTY_A, township="大成桥镇", village=VILLAGE_A)
        s.execute(insert(Household), [household])
        person = dict(id=1, person_ref="P1", household_id=1, name="张三丰", id_number="430182197805200424")
        s.execute(insert(InsuredPerson), [dict(person, sex="M", birth_date=date(1978, 5, 20))])
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=number, workflow_id=f"claim-{number}", person_id=1,
                    accident_date=date(2026, 1, 1) + timedelta(days=i), reported_on=date(2026, 11, 1),
                    policy_numbers="FA1", outcome="death", stage=stage, county=county, township="大成桥镇",
                    village=village, assigned_handler=handler, sla_state=state, sla_deadline=due,
                    reported_at=at(2026, 11, 1), updated_at=now,
                )
                for i, (number, village, stage, handler, state, due, county) in enumerate(
                    [(*r, COUNTY_A) for r in rows]
                    + [("C-LILING", "村", "documents", "handler.a", "breached", at(2026, 11, 20), COUNTY_B)]
                )
            ],
        )
    services = Services(get_settings(), sessions=store_sessions)
    V = InboxView
    # overdue: late by time or breached (whatever the deadline), today: from now to midnight and
    # not breached, upcoming: from midnight to Friday's close, new: the unassigned reports
    expected = {  # overdue, today, upcoming, all, new
        Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A): (4, 3, 3, 12, 2),
        Actor(id="sup.a", role=Role.SUPERVISOR, county=COUNTY_A): (4, 3, 4, 14, 2),
        Actor(id="inv.a", role=Role.INVESTIGATOR, county=COUNTY_A): (0, 0, 2, 2, 0),
        Actor(id="sec.b", role=Role.VILLAGE_SECRETARY, county=COUNTY_A, village="示范村乙"): (0, 1, 0, 3, 1),
        Actor(id="sup.b", role=Role.SUPERVISOR, county=COUNTY_B): (1, 0, 0, 1, 0),
    }
    for actor, numbers in expected.items():
        counts = dict(zip((V.OVERDUE, V.TODAY, V.UPCOMING, V.ALL, V.NEW), numbers, strict=True))
        assert console_reads.inbox_page(services, actor, V.ALL, now, CAL).counts == counts, actor.id
        for view in V:  # each count is the number of rows its view lists, none from elsewhere
            page = console_reads.inbox_page(services, actor, view, now, CAL, per_page=100)
            assert (page.total, len(page.rows)) == (counts[view], counts[view]), (actor.id, view)
            assert all(r.county == actor.county for r in page.rows)
    handler = Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A)

    def view(v: InboxView) -> list[str]:
        return _numbers(console_reads.inbox_page(services, handler, v, now, CAL))

    assert view(V.OVERDUE) == ["C-UNASSIGNED-DOCS", "C-LATE-BY-TIME", "C-BREACHED-TODAY", "C-BREACHED-LATER"]
    assert view(V.TODAY) == ["C-DUE-NOW", "C-NEW-DUE-TODAY", "C-DUE-2359"]
    assert view(V.UPCOMING) == ["C-DUE-MIDNIGHT", "C-REPORTED-TAKEN", "C-DUE-HORIZON"]
    assert view(V.NEW) == ["C-NEW-DUE-TODAY", "C-NEW"]  # no deadline: last
    assert view(V.ALL)[-1] == "C-NEW"


# --------------------------------------------------------------------------- the console over Temporal


class Browser:
    """An httpx client on the app with one person's session (cookies kept)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def login(self, user: str) -> None:
        page = await self.client.get("/login")
        r = await self.client.post(
            "/login", data={"username": user, "password": PASSWORD, "csrftoken": token_of(page.text), "next": ""}
        )
        assert r.status_code == 303, r.text
        self.token = token_of((await self.client.get("/inbox")).text)

    async def get(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.get(url, **kw)  # type: ignore[arg-type]

    async def post(self, url: str, data: dict[str, object] | None = None, **kw: object) -> httpx.Response:
        return await self.client.post(url, data={**(data or {}), "csrftoken": self.token}, **kw)  # type: ignore[arg-type]


def token_of(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Console:
    def __init__(self, harness: Harness, services: Services) -> None:
        self.harness = harness
        self.services = services
        self.app = create_app(services)
        self._clients: list[httpx.AsyncClient] = []

    async def as_user(self, user: str, role: str, county: str | None = None, village: str | None = None) -> Browser:
        accounts.add_user(self.services, user, role, PASSWORD, county=county, village=village)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://console.test")
        self._clients.append(client)
        b = Browser(client)
        await b.login(user)
        return b

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def console(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))  # the session secret is written there
    get_settings.cache_clear()
    services = Services(get_settings(), sessions=harness.sessions, client=harness.client)
    c = Console(harness, services)
    yield c
    await c.close()


def step_error(html: str, step: str) -> str:
    m = re.search(rf'id="step-{step}-error">([^<]*)<', html)
    assert m, f"no reason beside the {step} form"
    return m.group(1)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_handler_sees_the_new_report_and_registers_it(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await console.harness.report(console.harness.cases[0])  # 宁乡市, reported by its village secretary
    me = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)

    # Registration is due by the closing hour of the day reported; reported after it (or on a
    # rest day), by the next working day's close, which the "upcoming" view holds. The inbox's
    # clock is held at the report's instant: read a moment later, a report made seconds before
    # 17:30 (or midnight) would already be overdue (or in another day's view).
    with console.harness.sessions() as s:
        row = s.get_one(Claim, number)
        due, reported = (
            t if t.tzinfo else t.replace(tzinfo=UTC) for t in (row.sla_deadline, row.reported_at)
        )
    monkeypatch.setattr(inbox_route, "now_utc", lambda: reported)
    deadline_view = "today" if console_reads.windows(reported, CAL).end_of_today > due else "upcoming"
    for view in ("all", "new", deadline_view):
        inbox = await me.get(f"/inbox?view={view}")
        assert inbox.status_code == 200
        assert f'href="/claims/{number}"' in inbox.text, view
    assert "户**" in inbox.text and "户主甲" not in inbox.text  # the insured, masked
    assert "大成桥镇·示范村甲" in inbox.text
    assert f'href="/claims/{number}"' not in (await me.get("/inbox?view=overdue")).text
    assert (await me.get("/inbox?view=someday")).status_code == 422
    table = await me.get("/inbox?view=new", headers={"HX-Request": "true"})
    assert table.text.startswith('<div id="inbox-table"') and "<html" not in table.text

    page = await me.get(f"/claims/{number}")
    assert page.status_code == 200
    assert 'class="stage">报案<' in page.text
    assert "<td>立案时限</td>" in page.text and "<td>当日</td>" in page.text  # registration: the same working day
    # only what the registry allows now: 立案 (and receiving documents is not yet open); 撤案 (issue 17)
    offered = re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', page.text)
    assert offered == ["register", "withdraw"]
    assert "<button type=\"submit\">立案</button>" in page.text

    done = await me.post(f"/claims/{number}/steps/register", {"note": "网上立案", "actor": "sup.fake"})
    assert done.status_code == 303 and done.headers["location"] == f"/claims/{number}"

    state = await claim_state(console.harness.client, number)
    assert state.stage == Stage.DOCUMENTS
    assert state.assigned_handler == "handler.ningxiang"
    registered = [t for t in state.timeline if t.event == "registered"]
    assert [(t.actor.id, t.actor.role, t.actor.county) for t in registered] == [
        ("handler.ningxiang", Role.HANDLER, COUNTY_A)
    ]
    page = await me.get(f"/claims/{number}")
    assert 'class="stage">资料收集<' in page.text
    assert re.search(r"<strong class=\"event\">立案</strong> <span class=\"who\">理赔员 handler.ningxiang", page.text)
    assert "理赔申请书" in page.text  # the checklist, by name
    offered = re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', page.text)
    assert offered == [
        "request_documents",
        "receive_documents",
        "complete_documents",
        "request_investigation",
        "refer_to_consultation",
        "withdraw",  # issue 17
    ]
    # the htmx form gets the panel from the state the step returned
    panel = await me.post(
        f"/claims/{number}/steps/receive_documents",
        {"documents": ["claim_form", "bank_card"]},
        headers={"HX-Request": "true"},
    )
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "已完成：收到资料" in panel.text and "收到资料" in panel.text
    assert (await claim_state(console.harness.client, number)).documents_received == ["claim_form", "bank_card"]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_claim_of_another_county_is_not_found(console: Console) -> None:
    number = await console.harness.report(console.harness.cases[0])  # 宁乡市
    other = await console.as_user("handler.liling", "handler", county=COUNTY_B)
    assert f"/claims/{number}" not in (await other.get("/inbox?view=all")).text
    assert (await other.get(f"/claims/{number}")).status_code == 404
    assert (await other.post(f"/claims/{number}/steps/register")).status_code == 404
    assert (await claim_state(console.harness.client, number)).stage == Stage.REPORTED


def step_field_error(page: str, step: str, field: str) -> str:
    """The error text shown beside ``field`` of ``step``'s form."""
    found = re.search(rf'id="{step}-{field}-err">(.*?)<', page, re.S)
    assert found, f"no error beside {step}.{field}"
    return html.unescape(found.group(1))


@pytest.mark.asyncio(loop_scope="session")
async def test_a_step_that_does_not_fit_shows_the_reason_beside_its_form(console: Console) -> None:
    number = await console.harness.report(console.harness.cases[0])
    me = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    refused = await me.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-1"})
    assert refused.status_code == 422
    assert "<html" in refused.text  # the claim page, not an error page
    reason = step_error(refused.text, "pay")
    assert "当前阶段不能进行此操作" in reason and "赔付" in reason and "payout" not in reason  # by its code, in words
    assert 'class="stage">报案<' in refused.text
    me.client.cookies.set("claims_lang", "en")
    in_english = await me.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-1"})
    me.client.cookies.delete("claims_lang")
    assert in_english.status_code == 422
    assert step_error(in_english.text, "pay") == "Not allowed at this stage (allowed at: Payout)"
    assert 'class="stage">Reported<' in in_english.text

    # a bad value names its field and keeps what was typed
    bad = await me.post(f"/claims/{number}/steps/register", {"assign_to": "王 五", "note": "留着"})
    assert bad.status_code == 422
    assert 'id="register-assign_to-err">assign_to:' in bad.text
    assert 'value="留着"' in bad.text
    assert (await claim_state(console.harness.client, number)).stage == Stage.REPORTED
    # the claim goes only to an active handler account of its county: not to another county's
    # handler (who could not open it), nor to a name without an account
    await console.as_user("handler.liling.x", "handler", county="醴陵市")
    for name in ("handler.liling.x", "nobody.here"):
        elsewhere = await me.post(f"/claims/{number}/steps/register", {"assign_to": name})
        assert elsewhere.status_code == 422
        assert "is not an active handler account of" in step_field_error(elsewhere.text, "register", "assign_to")
    state = await claim_state(console.harness.client, number)
    assert state.stage == Stage.REPORTED and state.assigned_handler is None

    auditor = await console.as_user("auditor.a", "auditor", county=COUNTY_A)
    assert (await auditor.post(f"/claims/{number}/steps/register")).status_code == 403
    page = await auditor.get(f"/claims/{number}")
    assert page.status_code == 200 and "/steps/" not in page.text  # no step forms at all


@pytest.mark.asyncio(loop_scope="session")
async def test_a_village_secretary_reports_from_the_phone_form(console: Console) -> None:
    case = console.harness.cases[0]
    sec = await console.as_user("sec.jia", "village_secretary", county=COUNTY_A, village=VILLAGE_A)
    form = await sec.get("/claims/new")
    assert form.status_code == 200 and 'name="viewport"' in form.text and 'name="policy_numbers"' in form.text

    refused = await sec.post(
        "/claims",
        {
            "policy_numbers": "NOSUCHPOLICY",
            "id_number": case.report.id_number,
            "accident_date": "2021-06-26",
            "outcome": "",
            "cause": "fall_from_height",
            "description": "从大棚架上摔下",
        },
    )
    assert refused.status_code == 422
    assert 'id="err-outcome"' in refused.text  # every problem by its field
    assert "从大棚架上摔下</textarea>" in refused.text and 'value="NOSUCHPOLICY"' in refused.text

    ok = await sec.post(
        "/claims",
        {
            "policy_numbers": "NOSUCHPOLICY",
            "id_number": case.report.id_number,
            "accident_date": "2021-06-26",
            "outcome": "disability",
            "cause": "fall_from_height",
        },
    )
    assert ok.status_code == 422 and 'id="err-policy_numbers"' in ok.text  # the register's refusal, by field

    policy = case.report.policy_numbers[0]
    ok = await sec.post(
        "/claims",
        {
            "policy_numbers": policy,
            "id_number": case.report.id_number,
            "accident_date": "2021-06-26",
            "reported_on": "2022-03-08",
            "outcome": "disability",
            "cause": "fall_from_height",
            "disability_grade": "1",
            "reporter": "handler.fake",  # never read
        },
    )
    assert ok.status_code == 303, ok.text
    number = ok.headers["location"].removeprefix("/claims/")
    assert number.startswith("JS20210626-")
    again = await sec.post(
        "/claims",
        {
            "policy_numbers": policy,
            "id_number": case.report.id_number,
            "accident_date": "2021-06-26",
            "outcome": "disability",
            "cause": "fall_from_height",
        },
    )
    assert (again.status_code, again.headers["location"]) == (303, f"/claims/{number}?reported=again")
    handler = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    assert f'href="/claims/{number}"' in (await handler.get("/inbox?view=new")).text
    investigator = await console.as_user("inv.a", "investigator", county=COUNTY_A)
    assert (await investigator.get("/claims/new")).status_code == 403


@pytest.mark.asyncio(loop_scope="session")
async def test_a_village_secretary_sees_what_is_missing_and_hands_documents_in(console: Console) -> None:
    number = await console.harness.report(console.harness.cases[0])  # 宁乡市 示范村甲
    handler = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    row = re.search(rf'href="/claims/{number}".*?</tr>', (await handler.get("/inbox")).text, re.S)
    assert row and "<td>立案</td>" in row.group(0)  # the handler's next step
    assert (await handler.post(f"/claims/{number}/steps/register")).status_code == 303

    sec = await console.as_user("sec.jia", "village_secretary", county=COUNTY_A, village=VILLAGE_A)
    inbox = await sec.get("/inbox")
    assert "本村案件" in inbox.text
    row = re.search(rf'href="/claims/{number}".*?</tr>', inbox.text, re.S)
    assert row, "the village's claim is in the secretary's list"
    assert "<td>收到资料</td>" in row.group(0)
    missing = re.search(r'<td class="missing">([^<]*)</td>', row.group(0))
    assert missing and "理赔申请书" in missing.group(1) and "银行卡" in missing.group(1)

    page = await sec.get(f"/claims/{number}")
    offered = re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', page.text)
    assert offered == ["receive_documents", "withdraw"]  # a village secretary's steps (撤案: issue 17)
    done = await sec.post(f"/claims/{number}/steps/receive_documents", {"documents": ["claim_form", "bank_card"]})
    assert done.status_code == 303
    state = await claim_state(console.harness.client, number)
    assert state.documents_received == ["claim_form", "bank_card"]
    assert [t.actor.id for t in state.timeline if t.event == "documents_received"] == ["sec.jia"]
    missing = re.search(r'<td class="missing">([^<]*)</td>', (await sec.get("/inbox")).text)
    assert missing and "理赔申请书" not in missing.group(1) and "申请人身份证明" in missing.group(1)

    timeline = await sec.get(f"/claims/{number}/timeline", headers={"HX-Request": "true"})
    assert timeline.status_code == 200 and timeline.text.startswith('<section aria-labelledby="timeline-title"')
    assert "收到资料" in timeline.text and "sec.jia" in timeline.text
    other = await console.as_user("sec.other", "village_secretary", county=COUNTY_A, village="示范村乙")
    assert (await other.get(f"/claims/{number}/timeline")).status_code == 404
    assert (await other.post(f"/claims/{number}/steps/receive_documents", {"documents": ["bank_card"]})).status_code == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_a_payout_above_the_limit_is_refused_approved_and_paid_through_the_forms(console: Console) -> None:
    case = console.harness.cases[1]  # 醴陵市: drowning, two policies, 100,000 + 32,000
    number = await console.harness.report(case)
    handler = await console.as_user("handler.liling", "handler", county=COUNTY_B)
    assert (await handler.post(f"/claims/{number}/steps/register")).status_code == 303

    page = await handler.get(f"/claims/{number}")
    waivable = re.findall(r'name="waive:([a-z_]+)"', page.text)
    assert "bank_card" in waivable
    done = await handler.post(
        f"/claims/{number}/steps/complete_documents", {f"waive:{d}": "村委会核实" for d in waivable}
    )
    assert done.status_code == 303, step_error(done.text, "complete_documents")
    done = await handler.post(
        f"/claims/{number}/steps/adjudicate", {"outcome": "death", "cause": "drowning", "note": "核定"}
    )
    assert done.status_code == 303, step_error(done.text, "adjudicate")
    page = await handler.get(f"/claims/{number}")
    assert 'class="stage">赔付<' in page.text
    assert "132,000.00" in page.text  # the decision's total

    refused = await handler.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-WEB-0002"})
    assert refused.status_code == 422
    assert "50000" in step_error(refused.text, "pay").replace(",", "")  # the authority limit, in the reason
    assert (await claim_state(console.harness.client, number)).payments == []

    await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    sup = await console.as_user("sup.liling", "supervisor", county=COUNTY_B)
    page = await sup.get(f"/claims/{number}")
    assert "/steps/approve_payout" in page.text
    # reassigning offers the county's handlers (not the supervisor, not other counties')
    choices = re.search(r'<datalist id="reassign-handler-choices">(.*?)</datalist>', page.text)
    assert choices and re.findall(r'value="([^"]+)"', choices.group(1)) == ["handler.liling"]
    assert (await sup.post(f"/claims/{number}/steps/approve_payout", {"note": "同意"})).status_code == 303

    paid = await handler.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-WEB-0002"})
    assert paid.status_code == 303
    page = await handler.get(f"/claims/{number}")
    assert 'class="stage">结案<' in page.text
    payments = re.search(r'<table class="payments">.*?</table>', page.text, re.S)
    assert payments, "the payments table"
    rows = re.findall(r'<td class="num">([^<]+)</td><td>([^<]+)</td>', payments.group(0))
    assert sorted(rows) == [("100,000.00", "TRF-WEB-0002"), ("32,000.00", "TRF-WEB-0002")]
    assert "/steps/" not in page.text  # a closed claim offers no step
    assert 'hx-get="/claims/' + number + '/timeline"' not in page.text  # and is not polled
    state = await claim_state(console.harness.client, number)
    assert sum(p.amount for p in state.payments) == 132000


def test_a_claim_number_longer_than_the_column_is_not_found_without_a_query(sqlite_sessions: Sessions) -> None:
    services = Services(get_settings(), sessions=sqlite_sessions)
    with pytest.raises(ClaimNotFound) as e:
        console_reads.claim_summary(services, Actor(id="h", role=Role.HANDLER), "JS" + "9" * 5000)
    assert len(e.value.claim_number) == 48
