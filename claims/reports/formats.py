"""The monthly report's files: xlsx (XlsxWriter), CSV with a BOM, printable HTML and PDF.

One job: lay out a :class:`claims.reports.monthly.MonthlyReport`; nothing here reads the store.

* **xlsx**: sheets 理赔明细 (title block, header frozen and repeated on every printed page,
  autofilter, amounts ``#,##0.00``, township subtotals and the 合计 as ``SUBTOTAL`` formulas with
  their values cached, A4 landscape, 第 N 页 / 共 M 页 footer), 本月拒赔及未结案件 and 汇总.
* **CSV**: UTF-8 with a byte-order mark (Excel on Chinese Windows needs it), header first, then
  the rows, the 小计 lines and the 合计 line (named in the 序号 column).
* **HTML**: one Jinja2 template (``templates/monthly.html``), A4 landscape, ``thead`` repeated;
  the console's printable page and the PDF's source.
* **PDF**: WeasyPrint from that HTML with the WenQuanYi font embedded.

**Determinism**: the same report gives the same bytes. The workbook's created date and the
PDF's creation and modification dates are the report's data cut-off (``as_of``), never the
clock, so a scheduled re-run of a month reproduces its sha256.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape

from claims.domain.timeutil import SHANGHAI
from claims.reports.monthly import MonthlyReport, PayoutRow, fewer_collections

T = TypeVar("T")

EXCEL_EPOCH = date(1899, 12, 30).toordinal()
"""Day 0 of Excel's date serial numbers (1900 system): a date cell is its day count from here."""

TEMPLATES = Path(__file__).resolve().parent / "templates"

COLUMNS: tuple[str, ...] = (
    "序号",
    "赔案号",
    "被保险人",
    "身份证号",
    "保单号",
    "险种",
    "出险日期",
    "出险原因",
    "报案日期",
    "立案日期",
    "给付责任",
    "赔付金额(元)",
    "赔付日期",
    "处理时效(工作日)",
    "时效标准",
    "是否达标",
    "绿色通道",
    "乡镇",
    "村",
    "经办人",
    "备注",
)
"""The columns of 理赔明细, in order."""

AMOUNT_COL = COLUMNS.index("赔付金额(元)")

OTHER_COLUMNS: tuple[str, ...] = (
    "类别",
    "赔案号",
    "被保险人",
    "身份证号",
    "保单号",
    "出险日期",
    "报案日期",
    "当前阶段",
    "时效状态",
    "拒赔理由 / 待办事项",
    "乡镇",
    "村",
    "经办人",
)
"""The columns of 本月拒赔及未结案件."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "乡镇",
    "本月报案件数",
    "其中已结案",
    "赔付件数",
    "赔付笔数",
    "赔付金额(元)",
    "处理时效中位数(工作日)",
    "时效达标率(%)",
)
"""The columns of 汇总."""


class Format(StrEnum):
    """The report's file formats (their file extensions)."""

    XLSX = "xlsx"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"


MEDIA_TYPES = {
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.CSV: "text/csv; charset=utf-8",
    Format.HTML: "text/html; charset=utf-8",
    Format.PDF: "application/pdf",
}


def _yes(v: bool | None) -> str:
    return "" if v is None else ("是" if v else "否")


def _d(v: date | None) -> str:
    return v.isoformat() if v else ""


def _money(v: Decimal) -> str:
    return f"{v:,.2f}"


def title_of(report: MonthlyReport) -> str:
    """The report's title."""
    return f"{report.county}计划生育家庭保险理赔明细（{report.month.year}年{report.month.month}月）"


def file_name(report: MonthlyReport, fmt: Format) -> str:
    """``理赔明细_宁乡市_2026-03_township.xlsx``."""
    return f"理赔明细_{report.county}_{report.month}_{report.edition.value}.{fmt.value}"


def row_cells(r: PayoutRow) -> list[object]:
    """A row's cells: text, numbers (amount ``Decimal``, days ``int``) and dates (None: none)."""
    return [
        r.seq,
        r.claim_number,
        r.insured,
        r.id_number,
        r.policy_number,
        r.product,
        r.accident_date,
        r.cause,
        r.reported_on,
        r.registered_on,
        r.benefit,
        r.amount,
        r.paid_on,
        "" if r.working_days is None else r.working_days,
        "" if r.target_working_days is None else r.target_working_days,
        _yes(r.met),
        _yes(r.green_channel),
        r.township,
        r.village,
        r.handler,
        r.remark,
    ]


# ----------------------------------------------------------------------------------- xlsx


def to_xlsx(report: MonthlyReport) -> bytes:
    """The workbook's bytes (three sheets; see the module's docstring)."""
    with fewer_collections():
        return _xlsx(report)


def _xlsx(report: MonthlyReport) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False})
    created = report.as_of.astimezone(UTC).replace(tzinfo=None)
    wb.set_properties(
        {
            "title": title_of(report),
            "subject": f"{report.county} {report.month} {report.edition.value}",
            "author": report.issuer,
            "company": report.issuer,
            "created": created,
        }
    )
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
    f_title = wb.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
    f_meta = wb.add_format({**base})
    f_head = wb.add_format(
        {**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center", "text_wrap": True}
    )
    f_cell = wb.add_format({**base, "border": 1})
    f_date = wb.add_format({**base, "border": 1, "num_format": "yyyy-mm-dd", "align": "center"})
    f_int = wb.add_format({**base, "border": 1, "num_format": "0", "align": "center"})
    f_money = wb.add_format({**base, "border": 1, "num_format": "#,##0.00"})
    f_sub = wb.add_format({**base, "border": 1, "bold": True, "bg_color": "#F2F2F2"})
    f_sub_money = wb.add_format(
        {**base, "border": 1, "bold": True, "bg_color": "#F2F2F2", "num_format": "#,##0.00"}
    )
    f_pct = wb.add_format({**base, "border": 1, "num_format": "0.0"})
    f_days = wb.add_format({**base, "border": 1, "num_format": "0.0"})

    def page_setup(ws: object, header_row: int) -> None:
        ws.set_landscape()  # type: ignore[attr-defined]
        ws.set_paper(9)  # A4  # type: ignore[attr-defined]
        ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.6)  # type: ignore[attr-defined]
        ws.repeat_rows(header_row)  # type: ignore[attr-defined]
        ws.fit_to_pages(1, 0)  # type: ignore[attr-defined]
        ws.set_footer("&L制表人：__________  审核人：__________&R第 &P 页 / 共 &N 页")  # type: ignore[attr-defined]
        ws.freeze_panes(header_row + 1, 0)  # type: ignore[attr-defined]

    # --- sheet 1: 理赔明细
    ws = wb.add_worksheet("理赔明细")
    last_col = len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, last_col, title_of(report), f_title)
    ws.write(1, 0, f"县(市、区)：{report.county}", f_meta)
    ws.write(1, 4, f"统计期间：{report.period}", f_meta)
    ws.write(1, 13, f"版本：{report.edition_zh}", f_meta)
    ws.write(2, 0, f"制表单位：{report.issuer}", f_meta)
    ws.write(2, 4, f"制表日期：{report.made_on.isoformat()}", f_meta)
    ws.write(2, 8, f"数据截至：{report.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）", f_meta)
    header = 4
    ws.write_row(header, 0, COLUMNS, f_head)
    widths = [5, 19, 9, 20, 15, 22, 11, 9, 11, 11, 10, 14, 11, 8, 8, 7, 7, 12, 12, 16, 16]
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.set_row(header, 30)
    row = header + 1
    first_data = row
    col = _col_letter(AMOUNT_COL)
    for sub, rows in report.rows_by_township():
        start = row
        for r in rows:
            for c, v in enumerate(row_cells(r)):
                if c == AMOUNT_COL:
                    ws.write_number(row, c, float(v), f_money)  # type: ignore[arg-type]
                elif isinstance(v, int):
                    ws.write_number(row, c, v, f_int)
                elif isinstance(v, date):
                    ws.write_number(row, c, v.toordinal() - EXCEL_EPOCH, f_date)  # a date cell
                elif v is None:
                    ws.write_blank(row, c, None, f_cell)
                else:
                    ws.write_string(row, c, str(v), f_cell)
            row += 1
        ws.write_string(row, 0, "", f_sub)
        ws.write_string(row, 1, f"{sub.township} 小计", f_sub)
        ws.write_string(row, 2, f"{sub.claims} 件 {sub.payouts} 笔", f_sub)
        for c in range(3, last_col + 1):
            if c != AMOUNT_COL:
                ws.write_blank(row, c, None, f_sub)
        ws.write_formula(
            row, AMOUNT_COL, f"=SUBTOTAL(9,{col}{start + 1}:{col}{row})", f_sub_money, float(sub.amount)
        )
        row += 1
    ws.write_string(row, 0, "", f_sub)
    ws.write_string(row, 1, "合计", f_sub)
    ws.write_string(row, 2, f"{report.total.claims} 件 {report.total.payouts} 笔", f_sub)
    for c in range(3, last_col + 1):
        if c != AMOUNT_COL:
            ws.write_blank(row, c, None, f_sub)
    ws.write_formula(
        row,
        AMOUNT_COL,
        f"=SUBTOTAL(9,{col}{first_data + 1}:{col}{max(row, first_data + 1)})",
        f_sub_money,
        float(report.total.amount),
    )
    ws.autofilter(header, 0, max(row - 1, header), last_col)
    ws.write_string(row + 2, 0, "制表人：", f_meta)
    ws.write_string(row + 2, 4, "审核人：", f_meta)
    page_setup(ws, header)

    # --- sheet 2: 本月拒赔及未结案件
    ws2 = wb.add_worksheet("本月拒赔及未结案件")
    ws2.merge_range(
        0, 0, 0, len(OTHER_COLUMNS) - 1, f"{report.county} 本月拒赔及未结案件（{report.month}）", f_title
    )
    ws2.write(1, 0, f"统计期间：{report.period}", f_meta)
    ws2.write_row(3, 0, OTHER_COLUMNS, f_head)
    for c, w in enumerate([6, 19, 9, 20, 28, 11, 11, 14, 12, 40, 12, 12, 16]):
        ws2.set_column(c, c, w)
    for i, o in enumerate(report.others, 4):
        ws2.write_row(
            i,
            0,
            [
                o.kind,
                o.claim_number,
                o.insured,
                o.id_number,
                o.policy_numbers,
                _d(o.accident_date),
                _d(o.reported_on),
                o.stage,
                o.sla,
                o.detail,
                o.township,
                o.village,
                o.handler,
            ],
            f_cell,
        )
    ws2.autofilter(3, 0, max(3, 3 + len(report.others)), len(OTHER_COLUMNS) - 1)
    page_setup(ws2, 3)

    # --- sheet 3: 汇总
    ws3 = wb.add_worksheet("汇总")
    ws3.merge_range(0, 0, 0, len(SUMMARY_COLUMNS) - 1, f"{report.county} 理赔汇总（{report.month}）", f_title)
    ws3.write(1, 0, f"统计期间：{report.period}", f_meta)
    ws3.write_row(3, 0, SUMMARY_COLUMNS, f_head)
    for c, w in enumerate([16, 12, 10, 10, 10, 16, 14, 12]):
        ws3.set_column(c, c, w)
    r3 = 4
    for s in report.summary:
        ws3.write_string(r3, 0, s.township, f_cell)
        for c, v in enumerate((s.reported, s.closed, s.paid_claims, s.payouts), 1):
            ws3.write_number(r3, c, v, f_int)
        ws3.write_number(r3, 5, float(s.amount), f_money)
        _num_or_blank(ws3, r3, 6, s.median_working_days, f_days, f_cell)
        _num_or_blank(ws3, r3, 7, s.within_target_pct, f_pct, f_cell)
        r3 += 1
    t = report.summary_total
    ws3.write_string(r3, 0, "合计", f_sub)
    for c, v in enumerate((t.reported, t.closed, t.paid_claims, t.payouts, t.amount), 1):
        letter = _col_letter(c)
        fmt = f_sub_money if c == 5 else f_sub
        if report.summary:
            ws3.write_formula(r3, c, f"=SUM({letter}5:{letter}{r3})", fmt, float(v))
        else:
            ws3.write_number(r3, c, float(v), fmt)
    _num_or_blank(ws3, r3, 6, t.median_working_days, f_days, f_sub)
    _num_or_blank(ws3, r3, 7, t.within_target_pct, f_pct, f_sub)
    page_setup(ws3, 3)

    wb.close()
    return out.getvalue()


def _num_or_blank(
    ws: object, row: int, col: int, v: float | Decimal | None, fmt: object, blank: object
) -> None:
    if v is None:
        ws.write_string(row, col, "—", blank)  # type: ignore[attr-defined]
    else:
        ws.write_number(row, col, float(v), fmt)  # type: ignore[attr-defined]


def _col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# ------------------------------------------------------------------------------------ CSV


def csv_rows(report: MonthlyReport) -> Iterator[list[str]]:
    """The CSV's rows as text: header, then per township its rows and a 小计 line, then 合计."""
    yield list(COLUMNS)
    blank = [""] * len(COLUMNS)
    for sub, rows in report.rows_by_township():
        for r in rows:
            yield [_text(v) for v in row_cells(r)]
        line = list(blank)
        line[0], line[1], line[AMOUNT_COL] = "小计", sub.township, f"{sub.amount:.2f}"
        line[COLUMNS.index("乡镇")] = sub.township
        yield line
    line = list(blank)
    line[0], line[1], line[AMOUNT_COL] = "合计", report.county, f"{report.total.amount:.2f}"
    yield line


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def to_csv(report: MonthlyReport) -> bytes:
    """The CSV's bytes: UTF-8 with a BOM (``EF BB BF``), CRLF line ends (as Excel writes)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for line in csv_rows(report):
        writer.writerow(line)
    return buf.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------- HTML and PDF

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = _money
_env.filters["d"] = _d
_env.filters["yes"] = _yes


def stylesheet() -> str:
    """The page's stylesheet (``templates/monthly.css``; A4 landscape, ``thead`` repeated)."""
    return (TEMPLATES / "monthly.css").read_text(encoding="utf-8")


PAGE_ROWS = 24
"""Detail lines in one printed page's table (the first page, under the title block, takes
:data:`FIRST_PAGE_ROWS`). Each page is its own table, so the header is on every page and
WeasyPrint's layout time grows with the rows, not with their square."""

FIRST_PAGE_ROWS = 20


def _paged(items: list[T], first: int = FIRST_PAGE_ROWS, rest: int = PAGE_ROWS) -> list[list[T]]:
    """``items`` cut into printed pages: ``first`` on the first, ``rest`` on each other (at
    least one page, empty when there are no items)."""
    pages = [items[:first]]
    for i in range(first, len(items), rest):
        pages.append(items[i : i + rest])
    return pages


def detail_lines(report: MonthlyReport) -> list[tuple[str, object]]:
    """理赔明细 as printed lines: ("row", PayoutRow), ("sub", Subtotal) after each township's
    rows, and ("total", Subtotal) last."""
    lines: list[tuple[str, object]] = []
    for sub, rows in report.rows_by_township():
        lines += [("row", r) for r in rows]
        lines.append(("sub", sub))
    lines.append(("total", report.total))
    return lines


def to_html(
    report: MonthlyReport, css_href: str | None = None, links: list[tuple[str, str]] | None = None
) -> str:
    """The printable page (``templates/monthly.html``): a whole HTML document.

    Args:
        css_href: link the stylesheet at this URL instead of inlining it (the console, whose
            Content-Security-Policy allows no inline style).
        links: (label, URL) pairs shown above the report on screen only (downloads).
    """
    return _env.get_template("monthly.html").render(
        r=report,
        css_href=css_href,
        links=links or [],
        detail_pages=_paged(detail_lines(report)),
        other_pages=_paged(list(report.others), first=PAGE_ROWS),
        title=title_of(report),
        columns=COLUMNS,
        other_columns=OTHER_COLUMNS,
        summary_columns=SUMMARY_COLUMNS,
        as_of_local=report.as_of.astimezone(SHANGHAI),
        created=report.as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def to_pdf(report: MonthlyReport) -> bytes:
    """The PDF's bytes, from :func:`to_html` with WeasyPrint (CJK font embedded; its creation
    date is the data's cut-off, from the page's ``dcterms.created``/``dcterms.modified``)."""
    from weasyprint import HTML

    with fewer_collections():
        return HTML(string=to_html(report), base_url=str(TEMPLATES)).write_pdf()  # type: ignore[no-any-return]


WRITERS = {
    Format.XLSX: to_xlsx,
    Format.CSV: to_csv,
    Format.HTML: lambda r: to_html(r).encode("utf-8"),
    Format.PDF: to_pdf,
}
"""Each format's writer to bytes."""


def render(report: MonthlyReport, fmt: Format) -> bytes:
    """The report in ``fmt`` as bytes."""
    return WRITERS[fmt](report)
