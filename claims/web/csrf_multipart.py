"""asgi-csrf's check of multipart forms on python-multipart 0.0.26 and later.

One job: read the ``csrftoken`` field of a ``multipart/form-data`` POST (a file upload form
without JavaScript) for ``asgi-csrf`` 0.11, whose own reader passes ``FileClass=`` to
python-multipart's ``FormParser``, an argument removed in python-multipart 0.0.26 (the release
that fixes CVE-2026-40347): every multipart POST then ends in a ``TypeError`` (500) before the
route runs (simonw/asgi-csrf issue #38; the fix, PR #39, is not released).

:func:`install` replaces ``asgi_csrf._parse_multipart_form_data`` with :func:`read_token`, which
keeps asgi-csrf's contract: consume the body only until the ``csrftoken`` field is complete,
raise ``asgi_csrf.FileBeforeToken`` when a file part starts before it, and return
``(token or None, replay_receive)`` so the route reads the whole body again. It uses
python-multipart's low-level ``MultipartParser`` callbacks, whose interface did not change.
Installed by ``claims.web.security.install`` with the other middlewares, so every upload
route is covered whichever module defines it; idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asgi_csrf
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD = b"csrftoken"
MAX_TOKEN = 4096


class _Found(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


async def read_token(
    boundary: bytes, receive: Callable[[], Awaitable[dict[str, Any]]]
) -> tuple[str | None, Any]:
    """The body's ``csrftoken`` field and a ``receive`` that replays what was read (see module)."""
    messages: list[dict[str, Any]] = []

    async def replay_receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await receive()

    part: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, field=b"", value=b"", name=None, is_token=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.setdefault("hv", b"")
        part["hv"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["field"].lower()] = part.pop("hv", b"")
        part["field"] = b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if b"filename" in options:
            raise asgi_csrf.FileBeforeToken
        part["is_token"] = options.get(b"name") == FIELD

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.get("is_token"):
            part["value"] += data[start:end]
            if len(part["value"]) > MAX_TOKEN:
                raise _Found("")

    def on_part_end() -> None:
        if part.get("is_token"):
            raise _Found(part["value"].decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    more_body = True
    try:
        while more_body:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
    except _Found as found:
        return found.token or None, replay_receive
    return None, replay_receive


def install() -> None:
    """Use :func:`read_token` for asgi-csrf's multipart check (idempotent)."""
    asgi_csrf._parse_multipart_form_data = read_token  # noqa: SLF001 - the library's fix is unreleased


install()
