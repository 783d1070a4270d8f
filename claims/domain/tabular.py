"""Rows from the files offices send: JSON Lines, CSV and Excel ``.xlsx``, in UTF-8 or GB18030.

A county or village office keeps its claim reports in a spreadsheet, saved by Excel on
Chinese Windows: a ``.xlsx`` workbook, or a CSV in the ANSI code page (GBK, of which
GB18030 is the superset), with Chinese header names (保单号, 身份证号, 出险日期, ...).
This module turns such a file into rows of report fields, each with the line (CSV, JSON
Lines: the physical line, the header being line 1) or sheet row (``.xlsx``) it came from,
and names every bad cell by its line and field. It checks only what a cell can say on its
own (a date, an amount, a yes/no); the boundary model ``ClaimReport`` and intake check the
rest. Nothing here raises for a bad row: a bad row is a :class:`RowError`, so one row never
stops a batch.

Decoding (:func:`decode`): a byte-order mark decides (UTF-8, UTF-16); otherwise strict
UTF-8, and when the bytes are not UTF-8, strict GB18030 (the national standard
GB 18030-2022, a superset of GBK/CP936, the code page of Excel's "CSV" on Chinese Windows).
``--encoding`` names the encoding instead. The encoding used is reported back.

Amounts never pass through a binary float unchecked: a text cell is parsed as a decimal
string; an Excel numeric cell (stored by Excel as an IEEE 754 double) is converted through
its shortest round-trip representation (``repr``), which is exact for every amount the store
holds (at most 14 significant digits, below the 15 a double keeps), and refused when that is
not a whole number of fen.

Libraries: ``openpyxl`` (read-only mode) for workbooks, the standard library's ``csv`` and
codecs for the rest.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from claims.models.bounds import MAX_YUAN
from claims.domain.identity import mask_text
from claims.models import Outcome

ENCODINGS = ("utf-8", "gb18030", "gbk")
"""Encodings a person may name with ``--encoding`` (UTF-8 with or without a BOM)."""

MAX_AMOUNT = MAX_YUAN  # the ledger's Numeric(14, 2), from claims.models.bounds
"""The largest amount the store holds, in yuan: ``Numeric(14, 2)`` (``Money`` in claims/store/db.py)."""

_XLSX_MAGIC = b"PK\x03\x04"  # a workbook is a zip archive (ECMA-376 Part 2, OPC)
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (an OLE2 compound file)


class Format(StrEnum):
    """How a file's rows are written."""

    JSON_LINES = "JSON Lines"
    CSV = "CSV"
    XLSX = "Excel workbook"


class TabularError(ValueError):
    """A file that cannot be read at all (not a row of it).

    Attributes:
        line: the line (sheet row) at fault, when one is; None for the file as a whole. The
            message starts with ``line N:`` then, so callers read the number here, never
            from the text.
        reason: the problem without the line number.
    """

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Problem:
    """One bad value of a row: the report field (or ``None`` for the row as a whole) and why."""

    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True)
class Row:
    """A row that read cleanly: its line (or sheet row) number and its report fields."""

    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """A row that cannot become a report, with every problem found in it."""

    line: int
    problems: tuple[Problem, ...]

    @property
    def message(self) -> str:
        """The problems as ``field: message; field: message`` (the line number apart)."""
        return "; ".join(str(p) for p in self.problems)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Table:
    """What a file held: its format, how it was decoded, its good rows and its bad ones.

    ``source`` says how the rows were read, for the person running the import, e.g.
    ``"CSV, GB18030 (detected: not UTF-8)"`` or ``"Excel workbook, sheet 报案清单"``.
    """

    format: Format
    source: str
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Decoded:
    """Text of a file and how it was decoded (``encoding`` is a codec name, ``how`` for people)."""

    text: str
    encoding: str
    how: str


def _bad_bytes(data: bytes, e: UnicodeDecodeError, what: str) -> TabularError:
    line = data.count(b"\n", 0, e.start) + 1
    column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
    return TabularError(f"{what} (byte 0x{data[e.start]:02X} at byte {column} of the line)", line)


def decode(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode a file's bytes: by its byte-order mark, as told, or UTF-8 else GB18030.

    Args:
        data: the whole file.
        encoding: ``"utf-8"`` (a BOM is allowed), ``"gb18030"`` or ``"gbk"``; ``None`` to detect.

    Returns:
        The text (without a BOM) and the encoding used.

    Raises:
        TabularError: the bytes are not in the encoding named, or (detecting) neither UTF-8 nor
            GB18030; the message names the line and byte.
    """
    if encoding is not None:
        name = codecs.lookup(encoding).name  # "utf-8", "gb18030", "gbk"
        codec = "utf-8-sig" if name == "utf-8" else name
        try:
            return Decoded(data.decode(codec), name, name.upper())
        except UnicodeDecodeError as e:
            raise _bad_bytes(data, e, f"not valid {name.upper()} (--encoding {encoding})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        return Decoded(data.decode("utf-16"), "utf-16", "UTF-16 (byte-order mark)")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return Decoded(data.decode("utf-8-sig"), "utf-8", "UTF-8 (byte-order mark)")
        except UnicodeDecodeError as e:
            raise _bad_bytes(data, e, "not valid UTF-8 despite its UTF-8 byte-order mark") from None
    try:
        return Decoded(data.decode("utf-8"), "utf-8", "UTF-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return Decoded(data.decode("gb18030"), "gb18030", "GB18030 (detected: not UTF-8)")
        except UnicodeDecodeError:
            raise _bad_bytes(
                data, utf8_error, "neither UTF-8 nor GB18030/GBK; give --encoding or save the file as UTF-8"
            ) from None


# --------------------------------------------------------------------------- cells


Cell = str | int | float | bool | datetime | date | None
"""A cell as read: text from CSV; text, number, boolean or date from a workbook."""


class CellError(ValueError):
    """A cell that does not hold a value of its field; the message says how to write it."""


def _shown(value: Cell) -> str:
    """A cell's value quoted for a message, identity numbers and long digit runs masked."""
    return repr(mask_text(str(value)))


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Cell) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _policy_numbers(value: Cell) -> list[str]:
    """One or more policy numbers in a cell, separated by 、 , ， ; ； or spaces."""
    if isinstance(value, float):
        raise CellError("is a number; write policy numbers as text, e.g. FA2021NX0001")
    return [p for p in re.split(r"[、,，;；\s]+", str(value)) if p]


_SCIENTIFIC = re.compile(r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+")


def _id_number(value: Cell) -> str:
    """An identity number: text only, since Excel keeps 15 significant digits of a number."""
    if _is_number(value) or (isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip())):
        raise CellError(
            "the cell holds a number (Excel keeps only 15 digits of it, so the last digits are lost); "
            "format the column as text and type the 18 characters again"
        )
    return str(value).strip()


_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)
_MIDNIGHT = re.compile(r"\s+0?0:00(:00)?$")  # Excel writes a date cell to CSV as "2021/11/20 0:00"


def _date(value: Cell) -> date:
    """A date: an Excel date cell, or text YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise CellError(
            f"{_shown(value)} is a number, not a date; format the cell as a date or write 2021-11-20"
        )
    text = _MIDNIGHT.sub("", value.strip())
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise CellError(f"{_shown(value)} is not a real date") from None
    raise CellError(f"{_shown(value)} is not a date; write YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日")


OUTCOME_NAMES: dict[str, Outcome] = {
    "身故": Outcome.DEATH,
    "死亡": Outcome.DEATH,
    "伤残": Outcome.DISABILITY,
    "残疾": Outcome.DISABILITY,
    "医疗": Outcome.MEDICAL,
    "疾病": Outcome.ILLNESS,
    **{o.value: o for o in Outcome},
}
"""Outcome values as offices write them: 身故, 伤残, 医疗, 疾病 (and synonyms), or the English codes."""


def _outcome(value: Cell) -> str:
    outcome = OUTCOME_NAMES.get(str(value).strip().lower())
    if outcome is None:
        raise CellError(
            f"{_shown(value)} is not an outcome; write 身故, 伤残, 医疗 or 疾病 "
            f"({', '.join(o.value for o in Outcome)})"
        )
    return outcome.value


_CN_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}


def _grade(value: Cell) -> int:
    """A disability grade: 3, 3级, 三级 (JR/T 0083-2013 grades 1 ... 10; the model checks the range)."""
    if _is_number(value) and float(value) == int(value):  # type: ignore[arg-type]
        return int(value)  # type: ignore[arg-type]
    text = str(value).strip().removeprefix("第").removesuffix("级")
    if text.isascii() and text.isdigit():
        return int(text)
    if text in _CN_NUMERALS:
        return _CN_NUMERALS[text]
    raise CellError(f"{_shown(value)} is not a disability grade; write 1 to 10 (or 一级 ... 十级)")


_AMOUNT = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?")


def amount(value: Cell) -> Decimal:
    """An amount in yuan, exact to the fen, from a spreadsheet cell.

    Text: ASCII digits with one decimal point, optionally grouped by thousands (Excel writes
    a formatted cell to CSV as ``40,000.00``), optionally with ¥/￥ before or 元 after.
    A numeric cell goes through its shortest round-trip text, which is exact for the
    at most 14 significant digits of any amount the store holds.

    Raises:
        CellError: not such a number, more than two decimals, or above :data:`MAX_AMOUNT`.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(f"{_shown(value)} is not an amount in yuan")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    text = text.lstrip("¥￥").removesuffix("元").strip()
    number = text.replace(",", "")
    if not (_AMOUNT.fullmatch(text) or (isinstance(value, int | float) and _is_decimal(number))):
        raise CellError(
            f"{_shown(value)} is not an amount in yuan: use digits and one decimal point, e.g. 40000.00"
        )
    d = Decimal(number)
    if not d.is_finite() or abs(d) > MAX_AMOUNT:
        raise CellError(f"{_shown(value)} is more than the store holds ({MAX_AMOUNT:,} yuan at most)")
    if d != d.quantize(Decimal("0.01")):
        raise CellError(f"{_shown(value)} is not a whole number of fen (at most two decimals)")
    if d < 0:
        raise CellError(f"{_shown(value)} is negative")
    return d.quantize(Decimal("0.01"))


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


_YES = {"是", "有", "y", "yes", "true", "1", "√"}
_NO = {"否", "无", "n", "no", "false", "0"}


def _flag(value: Cell) -> bool:
    """是/否 (also 有/无, Y/N, yes/no, true/false, 1/0) or an Excel TRUE/FALSE cell."""
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower().removesuffix(".0")
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(f"{_shown(value)} is not 是 or 否")


def _plain(value: Cell) -> str:
    return _text(value).strip()


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """A report field as a spreadsheet column: its Chinese header names and how a cell converts."""

    field: str
    names: tuple[str, ...]
    convert: Callable[[Cell], Any]


REPORT_COLUMNS: tuple[Column, ...] = (
    Column("policy_numbers", ("保单号", "保单号码"), _policy_numbers),
    Column("id_number", ("身份证号", "身份证号码", "被保险人身份证号"), _id_number),
    Column("accident_date", ("出险日期", "事故日期"), _date),
    Column("reported_on", ("报案日期",), _date),
    Column("outcome", ("出险结果", "事故结果"), _outcome),
    Column("cause", ("出险原因", "事故原因"), _plain),
    Column("description", ("事故经过", "出险经过"), _plain),
    Column("disability_grade", ("伤残等级",), _grade),
    Column("claimed_amount", ("申请金额", "索赔金额"), amount),
    Column("nominate_green_channel", ("绿色通道",), _flag),
    Column("third_party_record", ("第三方证明",), _flag),
)
"""The columns of a claim report sheet. The English field name works as a header too; the
reporter is who runs the import, never a column."""

IGNORED_HEADERS = frozenset({"序号"})
"""Headers read and ignored: the row counter every office sheet starts with."""

_UNIT = re.compile(r"\s*[(（][^()（）]*[)）]$")  # 申请金额（元）, 出险日期(YYYY-MM-DD)


def _header_key(header: str) -> str:
    h = header.replace("\u3000", " ").strip().rstrip("*＊").strip()
    return _UNIT.sub("", h).strip().lower()


def _header_map(columns: Iterable[Column]) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for c in columns:
        for name in (c.field, *c.names):
            out[_header_key(name)] = c
    return out


_REPORT_HEADERS = _header_map(REPORT_COLUMNS)


# --------------------------------------------------------------------------- formats


def sniff_format(path: Path, head: bytes) -> Format:
    """The format of a file: a workbook by its zip signature or ``.xlsx``; CSV by ``.csv``/``.tsv``;
    JSON Lines by ``.jsonl``/``.json``/``.ndjson``; otherwise JSON Lines when it starts with ``{``.

    Raises:
        TabularError: an old binary ``.xls`` workbook.
    """
    suffix = path.suffix.lower()
    if head.startswith(_XLS_MAGIC) or suffix == ".xls":
        raise TabularError("an old .xls workbook; save it in Excel as .xlsx or as CSV")
    if head.startswith(_XLSX_MAGIC) or suffix in (".xlsx", ".xlsm"):
        return Format.XLSX
    if suffix in (".csv", ".tsv"):
        return Format.CSV
    if suffix in (".jsonl", ".json", ".ndjson"):
        return Format.JSON_LINES
    first = head.lstrip(codecs.BOM_UTF8).lstrip()[:1]
    return Format.JSON_LINES if first in (b"{", b"[") else Format.CSV


def read_claim_reports(path: Path, encoding: str | None = None) -> Table:
    """Read a batch of claim reports from JSON Lines, CSV or ``.xlsx``.

    JSON Lines rows are passed on as written (the boundary model checks them), except that an
    amount above :data:`MAX_AMOUNT` (``"1e308"``) is refused here. CSV and workbook cells are
    converted by :data:`REPORT_COLUMNS`.

    Args:
        path: the file.
        encoding: for text files, as for :func:`decode`; ignored for a workbook.

    Returns:
        The rows read and the bad rows, each with its line (sheet row) number.

    Raises:
        TabularError: the file as a whole cannot be read (encoding, not a workbook, a bad or
            missing header row).
    """
    data = path.read_bytes()
    fmt = sniff_format(path, data[:8])
    if fmt is Format.XLSX:
        sheet, cells = _workbook_rows(data)
        table = _from_cells(fmt, f"{fmt}, sheet {sheet}", cells, _REPORT_HEADERS)
        return table
    decoded = decode(data, encoding)
    if fmt is Format.CSV:
        return _from_cells(fmt, f"{fmt}, {decoded.how}", _csv_rows(decoded.text, path), _REPORT_HEADERS)
    return _json_lines(decoded)


def _json_lines(decoded: Decoded) -> Table:
    table = Table(Format.JSON_LINES, f"{Format.JSON_LINES}, {decoded.how}")
    # JSON Lines ends a record at "\n" only: a U+2028 inside a string is legal JSON.
    for n, line in enumerate(decoded.text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            table.errors.append(RowError(n, (Problem(None, f"not valid JSON at column {e.colno}: {e.msg}"),)))
            continue
        if not isinstance(data, dict):
            table.errors.append(RowError(n, (Problem(None, "a row must be a JSON object {...}"),)))
            continue
        problem = _amount_in_range(data.get("claimed_amount"))
        if problem:
            table.errors.append(RowError(n, (problem,)))
            continue
        table.rows.append(Row(n, data))
    return table


def _amount_in_range(value: Any) -> Problem | None:
    """Refuse an amount the store cannot hold before the model sees it (``"1e308"`` is a number)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if not _is_decimal(str(value).strip()):
        return None  # not a number at all: the model says so
    if abs(Decimal(str(value).strip())) > MAX_AMOUNT:
        return Problem(
            "claimed_amount", f"{_shown(value)} is more than the store holds ({MAX_AMOUNT:,} yuan at most)"
        )
    return None


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[Cell]]]:
    """Rows of a CSV text with the physical line each starts on (a quoted cell may span lines)."""
    first_line = text.split("\n", 1)[0]
    tab = path.suffix.lower() == ".tsv" or ("\t" in first_line and "," not in first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if tab else ",")
    start = 1
    try:
        for cells in reader:
            yield start, list(cells)
            start = reader.line_num + 1
    except csv.Error as e:
        raise TabularError(f"not valid CSV: {e}", reader.line_num) from None


def _workbook_rows(data: bytes) -> tuple[str, list[tuple[int, list[Cell]]]]:
    """The first sheet's name and its rows with their sheet row numbers (cached values of formulas)."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise TabularError(
            f"not a readable .xlsx workbook ({type(e).__name__}); save it again in Excel"
        ) from None
    try:
        ws = wb.worksheets[0]
        rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
        return ws.title, rows
    finally:
        wb.close()


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _from_cells(
    fmt: Format, source: str, rows: Iterable[tuple[int, list[Cell]]], headers: dict[str, Column]
) -> Table:
    """Rows of cells under a header row, converted column by column.

    The header row is the first row that is not blank, after any title rows (a single cell
    that is not a header, such as "大成桥镇计生保险报案清单").
    """
    table = Table(fmt, source)
    columns: list[Column | None] | None = None
    for n, cells in rows:
        filled = [c for c in cells if not _blank(c)]
        if not filled:
            continue
        if columns is None:
            if len(filled) == 1 and _header_key(str(filled[0])) not in headers:
                continue  # a title row above the header
            columns = _columns(n, cells, headers)
            continue
        data: dict[str, Any] = {}
        problems: list[Problem] = []
        extra = [c for c in cells[len(columns) :] if not _blank(c)]
        if extra:
            cells_now = len(columns) + len(extra)
            problems.append(Problem(None, f"{cells_now} cells, but the header has {len(columns)}"))
        for column, cell in zip(columns, cells, strict=False):
            if column is None or _blank(cell):
                continue
            try:
                data[column.field] = column.convert(cell.strip() if isinstance(cell, str) else cell)
            except CellError as e:
                problems.append(Problem(column.field, str(e)))
        if problems:
            table.errors.append(RowError(n, tuple(problems)))
        else:
            table.rows.append(Row(n, data))
    if columns is None:
        raise TabularError("no header row: the first row must name the columns (保单号, 身份证号, ...)")
    return table


def _columns(n: int, cells: list[Cell], headers: dict[str, Column]) -> list[Column | None]:
    out: list[Column | None] = []
    seen: dict[str, str] = {}
    for cell in cells:
        if _blank(cell):
            out.append(None)
            continue
        header = str(cell).strip()
        key = _header_key(header)
        if key in IGNORED_HEADERS:
            out.append(None)
            continue
        column = headers.get(key)
        if column is None:
            known = "、".join(c.names[0] for c in dict.fromkeys(headers.values()))
            raise TabularError(f"unknown column {header!r}; the columns are {known}", n)
        if column.field in seen:
            raise TabularError(f"columns {seen[column.field]!r} and {header!r} are both {column.field}", n)
        seen[column.field] = header
        out.append(column)
    return out
