"""The loss-ratio page (``/reports/loss-ratio``): 赔付率 by county, product and policy year.

One job: the table and chart of ``claims.services.loss_ratio`` for supervisors and auditors
(anyone else gets 403), in the session's county. Filters live in the query string
(``?county=&product=&year=``) so a view can be bookmarked. The chart's numbers are in the page
(a ``<script type="application/json">`` block drawn by ``/static/loss_ratio.js`` with the
vendored ECharts; no inline script under the CSP); the table carries the same numbers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from claims.errors import InputError
from claims.models import Actor
from claims.services.context import Services
from claims.services.loss_ratio import LossRatioLine, loss_ratio
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.templating import locale_of, render
from rules.terms import load_catalogue

router = APIRouter()


@lru_cache(maxsize=1)
def product_names() -> dict[str, tuple[str, str]]:
    """(Chinese, English) product names by product code, from the terms catalogue
    (``rules/terms/*.json``; the first version of a product names it)."""
    names: dict[str, tuple[str, str]] = {}
    for loaded in load_catalogue():
        t = loaded.terms
        names.setdefault(t.product_code, (t.name_zh, t.name_en))
    return names


def _filter(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _year(value: str | None) -> int | None:
    value = _filter(value)
    if value is None:
        return None
    if not value.isdigit() or len(value) != 4:
        raise InputError("year", f"{value!r} is not a year YYYY")
    return int(value)


def chart_data(lines: list[LossRatioLine], words: present.Words) -> dict[str, object]:
    """The chart's numbers: one category per group, earned premium and paid (yuan, as
    strings of exact decimals) and the ratio (per cent, None when nothing is earned)."""
    return {
        "groups": [f"{ln.county} {product_name(ln.product, words)} {ln.year}" for ln in lines],
        "earned": [str(ln.earned_premium) for ln in lines],
        "paid": [str(ln.paid) for ln in lines],
        "ratio": [None if ln.loss_ratio is None else float(ln.loss_ratio) for ln in lines],
    }


def product_name(code: str, words: present.Words) -> str:
    """The product's name in the page's language (its code when unknown)."""
    names = product_names().get(code)
    return words(*names) if names else code


@router.get("/reports/loss-ratio")
async def loss_ratio_page(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    county: str | None = None,
    product: str | None = None,
    year: str | None = None,
) -> Response:
    """The page; 403 for roles other than supervisor and auditor (and for another county),
    422 naming the field for a bad filter."""
    locale = locale_of(request)
    words = present.Words(locale)
    filters = {"county": _filter(county), "product": _filter(product), "year": _filter(year)}
    try:
        report = await run_in_threadpool(
            loss_ratio, services, actor, filters["county"], filters["product"], _year(year)
        )
    except InputError as e:
        return render(
            request,
            "error.html",
            status_code=422,
            status=422,
            title=words("输入有误", "Invalid input"),
            message=e.message,
        )
    return render(
        request,
        "loss_ratio.html",
        actor=actor,
        L=words,
        report=report,
        filters=filters,
        chart_json=chart_data(report.lines, words),
        product_name=lambda code: product_name(code, words),
        yuan=present.yuan,
    )
