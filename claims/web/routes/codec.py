"""The Temporal codec endpoint: ``POST /codec/decode`` (and its CORS preflight), so Temporal's own
web UI can show the claims' encrypted histories in clear to an auditor.

One job: the codec-server contract (docs.temporal.io/codec-server) over HTTP. The body is JSON
``{"payloads": [{"metadata": {"encoding": "<base64>", ...}, "data": "<base64>"}]}``; the answer
has the same shape, each payload decrypted with the project's payload codec
(``claims/infra/codec.py``, keys ``CLAIMS_PAYLOAD_KEYS``) through
``claims.services.auditing.decode_payloads``. No ``/codec/encode``: the UI needs it only to
send signals or start workflows with input, which an auditor does not do.

**Who.** Auditors only: no session → 401, another role → 403 (JSON ``{"error": ...}``, with
the CORS headers so the UI shows the status instead of a network error).

**CORS.** Only the origin in ``CLAIMS_WEB_CODEC_CORS_ORIGIN`` (default ``http://localhost:8233``,
the embedded dev server's UI) gets ``Access-Control-Allow-Origin`` (that origin, never ``*``)
with ``Access-Control-Allow-Credentials: true``; its preflight ``OPTIONS`` is answered 204
(methods ``POST``, headers ``Content-Type`` and ``X-Namespace``, which the UI sends). A
preflight from any other origin gets 403, and a POST carrying another origin's ``Origin``
header is refused 403 before anything is decoded.

**CSRF.** The endpoint is exempt from the console's double-submit token
(``claims.web.security``): the Temporal UI, on another origin, cannot read the console's token.
That is safe because it is protected otherwise, on every count:

- it needs an auditor's session, and it is read-only (it changes nothing anywhere);
- it accepts only ``Content-Type: application/json`` (415 otherwise, and the exemption in
  ``claims.web.security`` applies only to that content type: a form post to this path still
  needs the token). A cross-site HTML form cannot send that content type, and a cross-origin
  ``fetch`` that does is preflighted, which only the configured origin passes;
- the answer is readable by a page only on the configured origin (CORS), and a POST whose
  ``Origin`` is neither that origin nor the console's own is refused;
- the session cookie is ``SameSite=Lax``, so a browser does not send it with a POST from another
  *site* at all.

**Pointing the Temporal UI at it.** Serve the console and the UI under the same host name (the
cookie is ``SameSite=Lax``: ``localhost:8000`` and ``localhost:8233`` are one site,
``127.0.0.1:8000`` and ``localhost:8233`` are not), e.g. ``CLAIMS_WEB_HOST=localhost``. Log in
to the console as an auditor in that browser. In the Temporal UI open the codec-server setting
(the glasses icon / "Codec Server" in the top bar), set the endpoint to
``http://localhost:8000/codec`` (the UI appends ``/decode``), tick **Include cross-origin
credentials** (so the browser sends the console's session cookie), and leave "Pass the access
token" off. The server-wide equivalent for a UI you deploy: its codec endpoint setting
(``temporal server start-dev --ui-codec-endpoint http://localhost:8000/codec``). Set
``CLAIMS_WEB_CODEC_CORS_ORIGIN`` to the UI's origin when it is not ``http://localhost:8233``.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from claims.errors import InputError, NotAllowed
from claims.infra.codec import PayloadKeyError
from claims.models import Actor
from claims.services.auditing import MAX_PAYLOAD_BYTES, decode_payloads
from claims.web.deps import get_services, optional_actor

router = APIRouter()

MAX_BODY = MAX_PAYLOAD_BYTES * 2
"""Largest request body read (base64 is 4/3 of the data, plus the metadata)."""

ALLOW_HEADERS = "Content-Type, X-Namespace"
"""Request headers the Temporal UI sends and a preflight may ask for."""


def _allowed_origin(request: Request) -> str:
    return request.app.state.services.settings.web.codec_cors_origin.rstrip("/")


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _cors(request: Request, response: Response) -> Response:
    """Add the CORS headers when the request comes from the configured origin."""
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin and origin == _allowed_origin(request):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def _error(request: Request, status: int, message: str, field: str | None = None) -> Response:
    body: dict[str, str] = {"error": message}
    if field:
        body["field"] = field
    return _cors(request, JSONResponse(body, status_code=status))


@router.options("/codec/decode", include_in_schema=False)
async def preflight(request: Request) -> Response:
    """The CORS preflight: 204 with the allowances for the configured origin, 403 for any other."""
    origin = request.headers.get("origin")
    if not origin or origin != _allowed_origin(request):
        return Response(status_code=403, headers={"Vary": "Origin"})
    return _cors(
        request,
        Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": "600",
            },
        ),
    )


@router.post("/codec/decode")
async def decode(request: Request, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Response:
    """Decode payloads for the Temporal UI (module docstring: who, CORS, CSRF)."""
    origin = request.headers.get("origin")
    if origin and origin not in (_allowed_origin(request), _own_origin(request)):
        return _error(request, 403, f"origin {origin[:100]} may not use the codec endpoint")
    if actor is None:
        return _error(request, 401, "login required: log in to the console as an auditor in this browser")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return _error(request, 415, "Content-Type must be application/json", "content-type")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return _error(request, 413, f"at most {MAX_BODY} bytes a request", "payloads")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return _error(request, 413, f"at most {MAX_BODY} bytes a request", "payloads")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error(request, 400, "the body is not JSON", "payloads")
    try:
        result = await decode_payloads(get_services(request), actor, body)
    except NotAllowed as e:
        return _error(request, 403, str(e))
    except InputError as e:
        return _error(request, 400, str(e), e.field)
    except PayloadKeyError as e:
        return _error(request, 422, str(e), "payloads")
    return _cors(request, JSONResponse(result))
