"""Browser-test fixtures: Debian's Chromium driven by Playwright in the session's event loop,
the console served by uvicorn beside it, screenshots and accessibility checks.

One job: what ``tests/test_web_browser.py`` needs to test the console in a real browser.

* Playwright comes through **pytest-playwright-asyncio** (its ``browser``, ``new_context``,
  ``page`` fixtures), never the sync plugin (it breaks this suite's session loop). Its
  ``browser_type_launch_args`` and ``browser_context_args`` are overridden here: the browser is
  ``/usr/bin/chromium`` (Debian's package, installed by ``./run.sh test``) with the arguments of
  the trial in ``../shared/notes/console.md``, so nothing ever downloads a browser; pages open
  with locale ``zh-CN`` and timezone ``Asia/Shanghai``. Without Chromium or the CJK font the
  browser tests skip with the reason.
* :func:`serve` runs an ASGI app under uvicorn as a task of the running (session) loop, on a
  free port of 127.0.0.1; the ``console`` fixture serves ``claims.web.app.create_app`` over the
  ``harness`` (the suite's time-skipping Temporal server, a worker on a fresh task queue, a
  fresh SQLite store with the demo register); claims reported through the console start on
  the harness's task queue (a client interceptor), so its worker runs them.
* :func:`screenshot` writes ``tests/artifacts/screens/<name>.png`` (git-ignored);
  :func:`serious_violations` runs axe-core (``axe-playwright-python``) on a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from tests.support.env import REPO
from tests.support.harness import Harness, on_queue

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``); Playwright's own downloads are never used."""

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
"""``fonts-wqy-microhei``: without a CJK font Chromium draws Chinese as empty boxes."""

CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
"""Launch arguments of the trial: no network traffic of the browser's own."""

SCREENS = REPO / "tests" / "artifacts" / "screens"
"""Where :func:`screenshot` writes (git-ignored; kept after the run for review)."""

PASSWORD = "browser-test-password-1"
"""The password of every account the browser tests create."""


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [p for p, f in (("chromium", CHROMIUM), ("fonts-wqy-microhei", CJK_FONT)) if not f.exists()]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not installed ({CHROMIUM}, {CJK_FONT}): ./run.sh test installs them "
        "with apt-get when run as root; or: sudo apt-get install -y chromium fonts-wqy-microhei"
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The plugin's launch options plus Debian's Chromium and the trial's arguments; skips the
    test when Chromium or the CJK font is missing."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Every page in Chinese, on Beijing time, at a desktop size."""
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": {"width": 1280, "height": 800},
    }


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free port of 127.0.0.1 as a task of the running loop; yields its
    base URL (``http://127.0.0.1:PORT``) once it accepts connections, stops it after.

    uvicorn's signal handlers are left out: Ctrl-C belongs to pytest."""
    import uvicorn  # here, not at import: conftest imports this module for every test

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()  # the server's own error
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("uvicorn did not start within 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 10)
        if not task.done():
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sock.close()


@dataclass
class Console:
    """The console under test: its base URL, the harness behind it (Temporal client, worker's
    task queue, store with the demo register) and the services object it was built on."""

    url: str
    harness: Harness
    services: Any
    users: dict[str, str] = field(default_factory=dict)

    def add_user(self, user_id: str, role: str, county: str | None = None, village: str | None = None) -> str:
        """An account in the console's store (password :data:`PASSWORD`); returns its id."""
        from claims.services import accounts

        accounts.add_user(self.services, user_id, role, PASSWORD, county=county, village=village)
        self.users[user_id] = role
        return user_id


@pytest_asyncio.fixture(loop_scope="session")
async def console(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    """``create_app`` over the harness, served by uvicorn in the session loop. Skips when the
    browser cannot run (nothing is served for nothing)."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from claims.infra.settings import get_settings
    from claims.services.context import Services
    from claims.web.app import create_app

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))  # the session secret is written there
    get_settings.cache_clear()
    client = on_queue(harness.client, harness.task_queue)
    services = Services(get_settings(), sessions=harness.sessions, client=client)
    async with serve(create_app(services)) as url:
        yield Console(url=url, harness=harness, services=services)


async def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG of ``page`` as ``tests/artifacts/screens/<name>.png``; returns its path."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, each as ``id (impact): nodes``."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: " + "; ".join(n["target"][0] for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
