"""Spreadsheets as offices send them (issue 12): CSV in GB18030 or UTF-8 with a BOM, ``.xlsx``,
JSON Lines, Chinese header names, and every bad row named by its line.

The parser (``claims.domain.tabular``) is tested on real files written here, without Temporal or a
store; ``claims import`` and ``claims register load`` are tested through the command line in
the bad-input catalogue's world (a SQLite store with the demo register, a stand-in for
Temporal that records the workflows that would be started).
"""

from __future__ import annotations

import codecs
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from claims.models import ClaimReport
from claims.domain.tabular import (
    REPORT_COLUMNS,
    CellError,
    Format,
    RowError,
    TabularError,
    amount,
    decode,
    read_claim_reports,
)
from tests import test_bad_input
from tests.conftest import REPO
from tests.test_bad_input import GOOD, GOOD_2, IDS, REGISTER, UNKNOWN_ID, World, j, lines, report

world = test_bad_input.world
"""The bad-input catalogue's world: a SQLite store with the demo register, Temporal stood in for."""

SAMPLES = REPO / "data" / "samples"

HEADER_CN = ",".join(
    ["序号", "保单号", "身份证号", "出险日期", "报案日期", "出险结果", "出险原因"]
    + ["事故经过", "伤残等级", "申请金额（元）", "绿色通道", "第三方证明"]
)


def csv_bytes(rows: list[str], encoding: str) -> bytes:
    return ("\r\n".join(rows) + "\r\n").encode(encoding)  # Excel ends CSV lines with CRLF


def errors_of(table_errors: list[RowError]) -> list[str]:
    return [str(e) for e in table_errors]


# --------------------------------------------------------------------------- the parser


def test_a_gb18030_csv_with_chinese_headers_is_detected_and_every_field_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "报案清单.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER_CN,
                "1,FA2021NX0001,430182197805200424,2021年11月20日,2021/11/21,身故,drowning,"
                '"在稻田里溺水，""村医""到场",,"40,000.00",是,否',
                '2,HC2022LL0002、EA2022LL0002,430281195402070717,2022-05-18,2022-05-18,伤残,fall,"跌落\r\n大棚",三级,¥1200.5,否,是',
                ",,,,,,,,,,,",
                "4,FA2022YH0003,430111198604230917,2022/3/10 0:00,2022-3-11,disability,road_accident,,"
                "1,12000,Y,1",
            ],
            "gb18030",
        )
    )
    table = read_claim_reports(path)
    assert table.format is Format.CSV
    assert table.source == "CSV, GB18030 (detected: not UTF-8)"
    assert table.errors == []
    assert [(r.line, r.data) for r in table.rows] == [
        (
            2,
            {
                "policy_numbers": ["FA2021NX0001"],
                "id_number": "430182197805200424",
                "accident_date": date(2021, 11, 20),
                "reported_on": date(2021, 11, 21),
                "outcome": "death",
                "cause": "drowning",
                "description": '在稻田里溺水，"村医"到场',
                "claimed_amount": Decimal("40000.00"),
                "nominate_green_channel": True,
                "third_party_record": False,
            },
        ),
        (
            3,
            {
                "policy_numbers": ["HC2022LL0002", "EA2022LL0002"],
                "id_number": "430281195402070717",
                "accident_date": date(2022, 5, 18),
                "reported_on": date(2022, 5, 18),
                "outcome": "disability",
                "cause": "fall",
                "description": "跌落\r\n大棚",
                "disability_grade": 3,
                "claimed_amount": Decimal("1200.50"),
                "nominate_green_channel": False,
                "third_party_record": True,
            },
        ),
        # line 4 is the second line of row 3's quoted description; line 5 is blank
        (
            6,
            {
                "policy_numbers": ["FA2022YH0003"],
                "id_number": "430111198604230917",
                "accident_date": date(2022, 3, 10),
                "reported_on": date(2022, 3, 11),
                "outcome": "disability",
                "cause": "road_accident",
                "disability_grade": 1,
                "claimed_amount": Decimal("12000.00"),
                "nominate_green_channel": True,
                "third_party_record": True,
            },
        ),
    ]


def test_a_utf8_csv_with_a_byte_order_mark_and_english_headers_reads_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_bytes(
        codecs.BOM_UTF8
        + csv_bytes(
            [
                "policy_numbers,id_number,accident_date,outcome,cause,Claimed_Amount",
                "FA2021NX0001 FA2022YH0003,430182197805200424,2021-11-20,医疗,drowning,0.5",
            ],
            "utf-8",
        )
    )
    table = read_claim_reports(path)
    assert table.source == "CSV, UTF-8 (byte-order mark)"
    assert [(r.line, r.data) for r in table.rows] == [
        (
            2,
            {
                "policy_numbers": ["FA2021NX0001", "FA2022YH0003"],
                "id_number": "430182197805200424",
                "accident_date": date(2021, 11, 20),
                "outcome": "medical",
                "cause": "drowning",
                "claimed_amount": Decimal("0.50"),
            },
        )
    ]


def test_every_bad_cell_of_a_csv_row_is_named_with_the_line_and_the_good_rows_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "reports.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER_CN,
                "1,FA2021NX0001,4.30182E+17,2021/2/30,20211121,受伤,drowning,,十一级,1e308,也许,",
                "2,FA2021NX0001,430182197805200424,2021-11-20,,身故,drowning,,,40000.001,,",
                "3,FA2021NX0001,430182197805200424,2021-11-20,,身故,drowning,,,1000,,,extra",
                "4,FA2021NX0001,430182197805200424,2021-11-20,,身故,drowning,,,,,",
            ],
            "utf-8",
        )
    )
    table = read_claim_reports(path)
    assert [r.line for r in table.rows] == [5]
    assert errors_of(table.errors) == [
        "line 2: id_number: the cell holds a number (Excel keeps only 15 digits of it, so the last digits "
        "are lost); format the column as text and type the 18 characters again; "
        "accident_date: '2021/2/30' is not a real date; "
        "reported_on: '20211121' is not a date; write YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日; "
        "outcome: '受伤' is not an outcome; write 身故, 伤残, 医疗 or 疾病 "
        "(death, disability, medical, illness); "
        "disability_grade: '十一级' is not a disability grade; write 1 to 10 (or 一级 ... 十级); "
        "claimed_amount: '1e308' is not an amount in yuan: use digits and one decimal point, e.g. 40000.00; "
        "nominate_green_channel: '也许' is not 是 or 否",
        "line 3: claimed_amount: '40000.001' is not a whole number of fen (at most two decimals)",
        "line 4: 13 cells, but the header has 12",
    ]


def test_an_xlsx_workbook_reads_date_number_and_boolean_cells_by_sheet_row(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "报案清单"
    ws.append(["大成桥镇计生保险报案清单"])  # a title row above the header
    ws.append(
        [
            "序号",
            "保单号",
            "身份证号",
            "出险日期",
            "报案日期",
            "出险结果",
            "出险原因",
            "伤残等级",
            "申请金额",
            "绿色通道",
        ]
    )
    ws.append(
        [
            1,
            "FA2021NX0001",
            "430182197805200424",
            datetime(2021, 11, 20),
            date(2021, 11, 21),
            "身故",
            "drowning",
            None,
            40000.5,
            True,
        ]
    )
    ws.append(
        [
            2,
            "FA2022YH0003",
            "430111198604230917",
            "2022年3月10日",
            "2022/03/11",
            "伤残",
            "road_accident",
            1,
            12000,
            False,
        ]
    )
    ws.append([])
    ws.append(
        [4, "FA2021NX0001", 430182197805200424, 44520, "2021-11-21", "身故", "drowning", None, 0.001, "是"]
    )
    ws.append(
        [5, "FA2021NX0001", "430182197805200424", "2021-11-20", None, "身故", "drowning", 2.0, 1e308, None]
    )
    ws.append(
        [
            6,
            "FA2021NX0001",
            "430182197805200424",
            "2021-11-20",
            None,
            "身故",
            "drowning",
            None,
            99999999999.99,
            None,
        ]
    )
    path = tmp_path / "reports.xlsx"
    wb.save(path)

    table = read_claim_reports(path, encoding="gbk")  # an encoding means nothing to a workbook
    assert table.format is Format.XLSX
    assert table.source == "Excel workbook, sheet 报案清单"
    assert [(r.line, r.data) for r in table.rows] == [
        (
            3,
            {
                "policy_numbers": ["FA2021NX0001"],
                "id_number": "430182197805200424",
                "accident_date": date(2021, 11, 20),
                "reported_on": date(2021, 11, 21),
                "outcome": "death",
                "cause": "drowning",
                "claimed_amount": Decimal("40000.50"),
                "nominate_green_channel": True,
            },
        ),
        (
            4,
            {
                "policy_numbers": ["FA2022YH0003"],
                "id_number": "430111198604230917",
                "accident_date": date(2022, 3, 10),
                "reported_on": date(2022, 3, 11),
                "outcome": "disability",
                "cause": "road_accident",
                "disability_grade": 1,
                "claimed_amount": Decimal("12000.00"),
                "nominate_green_channel": False,
            },
        ),
        (
            8,
            {
                "policy_numbers": ["FA2021NX0001"],
                "id_number": "430182197805200424",
                "accident_date": date(2021, 11, 20),
                "outcome": "death",
                "cause": "drowning",
                "claimed_amount": Decimal("99999999999.99"),
            },
        ),
    ]
    assert errors_of(table.errors) == [
        "line 6: id_number: the cell holds a number (Excel keeps only 15 digits of it, so the last digits "
        "are lost); format the column as text and type the 18 characters again; "
        "accident_date: '44520' is a number, not a date; format the cell as a date or write 2021-11-20; "
        "claimed_amount: '0.001' is not a whole number of fen (at most two decimals)",
        "line 7: claimed_amount: '1e+308' is more than the store holds (999,999,999,999.99 yuan at most)",
    ]
    assert all(number not in str(table.errors) for number in IDS)


@pytest.mark.parametrize(
    ("cell", "yuan"),
    [
        ("40000", Decimal("40000.00")),
        ("40,000.00", Decimal("40000.00")),  # Excel writes a formatted number to CSV so
        ("1,234,567.8", Decimal("1234567.80")),
        ("￥1200元", Decimal("1200.00")),
        ("999999999999.99", Decimal("999999999999.99")),
        (0, Decimal("0.00")),
        (1234.56, Decimal("1234.56")),  # an Excel numeric cell: a double, read through its shortest text
        (999999999999.99, Decimal("999999999999.99")),  # 14 significant digits survive the double
    ],
)
def test_an_amount_cell_becomes_exact_yuan(cell: object, yuan: Decimal) -> None:
    assert amount(cell) == yuan  # type: ignore[arg-type]
    assert str(amount(cell)) == str(yuan)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("1e308", "'1e308' is not an amount in yuan"),
        (1e308, "'1e+308' is more than the store holds"),
        ("1000000000000", "'*********0000' is more than the store holds"),  # long digit runs masked
        (1.005, "'1.005' is not a whole number of fen"),  # a double with three decimals
        ("40000.001", "'40000.001' is not a whole number of fen"),
        ("1,0000", "'1,0000' is not an amount in yuan"),
        ("４００００", "'４００００' is not an amount in yuan"),
        (float("nan"), "'nan' is not an amount in yuan"),
        (float("inf"), "'inf' is not an amount in yuan"),
        ("-5", "'-5' is not an amount in yuan"),
        (-5, "'-5' is negative"),
        (True, "'True' is not an amount in yuan"),
        (datetime(2021, 1, 1), "is not an amount in yuan"),
        ("6217001234567890121", "'***************0121' is more than the store holds"),  # a bank card, masked
    ],
)
def test_an_amount_cell_that_is_not_a_whole_number_of_fen_is_refused(cell: object, message: str) -> None:
    with pytest.raises(CellError) as e:
        amount(cell)  # type: ignore[arg-type]
    assert message in str(e.value)


def test_an_unknown_or_doubled_header_refuses_the_file_naming_the_header(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_bytes(csv_bytes(["保单号,姓名,身份证号", "FA2021NX0001,张三,430182197805200424"], "gb18030"))
    with pytest.raises(TabularError) as e:
        read_claim_reports(path)
    assert str(e.value).startswith(
        "line 1: unknown column '姓名'; the columns are 保单号、身份证号、出险日期、"
    )
    assert e.value.line == 1 and e.value.reason.startswith("unknown column '姓名'")  # typed, not parsed
    path.write_bytes(csv_bytes(["保单号,身份证号,ID_NUMBER"], "utf-8"))
    with pytest.raises(TabularError, match="line 1: columns '身份证号' and 'ID_NUMBER' are both id_number"):
        read_claim_reports(path)
    path.write_bytes(csv_bytes(["保单号*,身份证号码,出险日期（YYYY-MM-DD）,reporter"], "utf-8"))
    with pytest.raises(TabularError, match="line 1: unknown column 'reporter'"):
        read_claim_reports(path)


def test_the_report_columns_are_every_report_field_but_the_reporter() -> None:
    assert [c.field for c in REPORT_COLUMNS] == [f for f in ClaimReport.model_fields if f != "reporter"]


def test_an_encoding_is_detected_or_told_and_bytes_in_no_encoding_are_named_by_line() -> None:
    gbk = "保单号\n出险日期\n".encode("gbk")
    assert decode(gbk).how == "GB18030 (detected: not UTF-8)"
    assert decode(gbk, "gbk").text == "保单号\n出险日期\n"
    assert decode(codecs.BOM_UTF8 + "保单号".encode()).text == "保单号"
    assert decode(codecs.BOM_UTF8 + "保单号".encode(), "utf-8").text == "保单号"
    assert decode("保单号".encode("utf-16")).text == "保单号"  # Excel's "Unicode text"
    assert decode(b"policy_numbers\n").how == "UTF-8"
    with pytest.raises(TabularError) as e:
        decode(b"ok\n" + gbk, "utf-8")
    assert str(e.value) == "line 2: not valid UTF-8 (--encoding utf-8) (byte 0xB1 at byte 1 of the line)"
    with pytest.raises(TabularError) as e:
        decode(b"ok\nok\nab\x80\n")
    assert str(e.value) == (
        "line 3: neither UTF-8 nor GB18030/GBK; give --encoding or save the file as UTF-8 "
        "(byte 0x80 at byte 3 of the line)"
    )
    assert e.value.line == 3


def test_json_lines_keep_their_line_numbers_and_a_1e308_amount_is_one_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    path.write_bytes(
        lines(
            GOOD,
            report(claimed_amount="1e308"),
            b"",
            b"[1]",
            j(GOOD_2)[:30],
            report(description="甲\u2028乙"),
        )
    )
    table = read_claim_reports(path)
    assert table.source == "JSON Lines, UTF-8"
    assert [(r.line, r.data) for r in table.rows] == [(1, GOOD), (6, report(description="甲\u2028乙"))]
    assert errors_of(table.errors)[:2] == [
        "line 2: claimed_amount: '1e308' is more than the store holds (999,999,999,999.99 yuan at most)",
        "line 4: a row must be a JSON object {...}",
    ]
    assert errors_of(table.errors)[2].startswith("line 5: not valid JSON at column ")
    assert len(table.errors) == 3


def test_an_old_xls_or_a_broken_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    xls = tmp_path / "reports.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(TabularError, match=r"an old \.xls workbook; save it in Excel as \.xlsx or as CSV"):
        read_claim_reports(xls)
    broken = tmp_path / "reports.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TabularError, match=r"not a readable \.xlsx workbook \(BadZipFile\)"):
        read_claim_reports(broken)


def test_the_sample_files_read_to_the_same_reports() -> None:
    csv_table = read_claim_reports(SAMPLES / "reports.csv")
    xlsx_table = read_claim_reports(SAMPLES / "reports.xlsx")
    jsonl_table = read_claim_reports(SAMPLES / "reports.jsonl")
    assert csv_table.source == "CSV, GB18030 (detected: not UTF-8)"
    assert xlsx_table.source == "Excel workbook, sheet 报案清单"
    assert csv_table.errors == xlsx_table.errors == jsonl_table.errors == []
    reporter = {"reporter": {"id": "sec.sample", "role": "village_secretary"}}
    as_reports = [
        [ClaimReport.model_validate({**row.data, **reporter}) for row in table.rows]
        for table in (csv_table, xlsx_table, jsonl_table)
    ]
    assert as_reports[0] == as_reports[1] == as_reports[2]
    assert [r.line for r in csv_table.rows] == [2, 3]
    assert [r.line for r in xlsx_table.rows] == [3, 4]
    assert as_reports[0][0].claimed_amount == Decimal("40000.00")
    assert as_reports[0][1].policy_numbers == ["HC2022LL0002", "EA2022LL0002"]


# --------------------------------------------------------------------------- the command line


def test_import_of_a_gb18030_csv_says_so_imports_the_good_rows_and_names_the_bad_by_line(
    world: World,
) -> None:
    before = world.snapshot()
    path = world.tmp / "reports.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER_CN,
                "1,FA2021NX0001,430182197805200424,2021年11月20日,2021/11/21,身故,drowning,在稻田里溺水,,,是,",
                "2,FA2021NX0001,430182197503120314,2021-03-03,2021-03-04,身故,drowning,,,1e308,,",
                f"3,FA2021NX0001,{UNKNOWN_ID},2021-03-03,2021-03-04,身故,drowning,,,,,",
                "4,FA2021NX0001,430182197503120314,2021-03-03,2021-03-04,身故,drowning,,,,,",
            ],
            "gb18030",
        )
    )
    out = world.run("import", str(path))
    assert out.exit_code == 1, out.output
    assert out.output.splitlines()[0] == f"{path}: CSV, GB18030 (detected: not UTF-8)"
    assert "line 2: reported claim JS20211120-P0002" in out.output
    assert "line 5: reported claim JS20210303-P0001" in out.output
    assert "line 3: claimed_amount: '1e308' is not an amount in yuan" in out.output
    assert "line 4: id_number: no insured person 110101********" in out.output
    assert out.output.rstrip().endswith("2 imported, 2 bad row(s)")
    assert "Traceback" not in out.output
    assert not any(number in out.output for number in [*IDS, UNKNOWN_ID])
    claims, payouts, started = world.snapshot()
    assert {c[0] for c in claims} - {c[0] for c in before[0]} == {"JS20211120-P0002", "JS20210303-P0001"}
    assert payouts == before[1] and len(started) == len(before[2]) + 2


def test_import_of_json_lines_with_a_1e308_amount_imports_the_other_rows(world: World) -> None:
    path = world.tmp / "reports.jsonl"
    path.write_bytes(lines(GOOD, report(claimed_amount="1e308", id_number="430182197503120314"), GOOD_2))
    out = world.run("import", str(path))
    assert out.exit_code == 1, out.output
    assert "line 2: claimed_amount: '1e308' is more than the store holds" in out.output
    assert "line 1: reported claim JS20211120-P0002" in out.output
    assert "line 3: reported claim JS20210303-P0001" in out.output
    assert out.output.rstrip().endswith("2 imported, 1 bad row(s)")
    assert "Traceback" not in out.output


def test_import_of_an_xlsx_all_or_nothing_imports_nothing_when_a_row_is_bad(world: World) -> None:
    before = world.snapshot()
    wb = Workbook()
    ws = wb.active
    ws.append(["保单号", "身份证号", "出险日期", "报案日期", "出险结果", "出险原因", "申请金额"])
    ws.append(
        [
            "FA2021NX0001",
            "430182197805200424",
            date(2021, 11, 20),
            date(2021, 11, 21),
            "身故",
            "drowning",
            40000,
        ]
    )
    ws.append(
        ["FA2021NX0001", "430182197503120314", date(2021, 3, 3), date(2021, 3, 4), "身故", "drowning", 0.001]
    )
    path = world.tmp / "reports.xlsx"
    wb.save(path)
    out = world.run("import", str(path), "--all-or-nothing")
    assert out.exit_code == 1, out.output
    assert out.output.splitlines()[0] == f"{path}: Excel workbook, sheet Sheet"
    assert "line 3: claimed_amount: '0.001' is not a whole number of fen (at most two decimals)" in out.output
    assert "1 bad row(s); nothing imported (--all-or-nothing)" in out.output
    assert world.snapshot() == before


def test_import_with_a_wrong_encoding_told_names_the_line_and_imports_nothing(world: World) -> None:
    before = world.snapshot()
    path = world.tmp / "reports.csv"
    path.write_bytes(
        csv_bytes([HEADER_CN, "1,FA2021NX0001,430182197805200424,2021-11-20,,身故,溺水,,,,,"], "gb18030")
    )
    out = world.run("import", str(path), "--encoding", "utf-8")
    assert out.exit_code == 2, out.output
    assert (
        f"{path}: line 1: not valid UTF-8 (--encoding utf-8) (byte 0xD0 at byte 1 of the line)" in out.output
    )
    out = world.run("import", str(path), "--encoding", "gbk")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == f"{path}: CSV, GBK"
    assert "1 imported, 0 bad row(s)" in out.output
    assert len(world.snapshot()[0]) == len(before[0]) + 1


def test_register_load_reads_a_gb18030_register_and_one_with_a_byte_order_mark(world: World) -> None:
    text = json.dumps(REGISTER, ensure_ascii=False)
    gb = world.tmp / "register.json"
    gb.write_bytes(text.encode("gb18030"))
    out = world.run("register", "load", str(gb))
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == f"{gb}: JSON, GB18030 (detected: not UTF-8)"
    households = REGISTER["households"]
    policies = sum(len(h["policies"]) for h in households)
    assert (
        f"loaded {len(households)} households, {len(IDS)} insured persons, {policies} policies" in out.output
    )
    bom = world.tmp / "register-bom.json"
    bom.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    out = world.run("register", "load", str(bom))
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == f"{bom}: JSON, UTF-8 (byte-order mark)"
    out = world.run("register", "load", str(gb), "--encoding", "utf-8")
    assert out.exit_code == 2
    assert f"{gb}: line 1: not valid UTF-8 (--encoding utf-8)" in out.output


def test_the_sample_csv_imports_and_the_sample_workbook_finds_the_same_claims(world: World) -> None:
    out = world.run("import", str(SAMPLES / "reports.csv"))
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        f"{SAMPLES / 'reports.csv'}: CSV, GB18030 (detected: not UTF-8)",
        "line 2: reported claim JS20211120-P0002",
        "line 3: reported claim JS20220803-P0005",
        "2 imported, 0 bad row(s)",
    ]
    out = world.run("import", str(SAMPLES / "reports.xlsx"))
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1:] == [
        "line 3: already reported claim JS20211120-P0002",
        "line 4: already reported claim JS20220803-P0005",
        "0 imported, 0 bad row(s)",
    ]
