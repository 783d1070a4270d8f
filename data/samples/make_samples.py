"""Write the sample batch files of ``claims import`` from one list of reports.

The same two claim reports, on the demo register (``data/demo/register.json``), as an office
sends them: ``reports.csv`` as Excel saves "CSV" on Chinese Windows (GB18030, CRLF, Chinese
headers, a formatted amount), ``reports.xlsx`` (a title row, date and number cells) and
``reports.jsonl`` (JSON Lines, the report's field names). Identity numbers are the demo
register's made-up ones. Run ``python data/samples/make_samples.py`` to write them again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent

HEADERS = ["序号", "保单号", "身份证号", "出险日期", "报案日期", "出险结果", "出险原因", "事故经过"]
HEADERS += ["伤残等级", "申请金额（元）", "绿色通道", "第三方证明"]

CSV_ROWS = [
    ["1", "FA2021NX0001", "430182197805200424", "2021年11月20日", "2021/11/25", "身故", "drowning"]
    + ["在水塘边洗衣时落水溺亡", "", "40,000.00", "否", "是"],
    ["2", "HC2022LL0002、EA2022LL0002", "430281195708110822", "2022/8/3", "2022/8/4", "伤残"]
    + ["fall_from_height", "修缮房顶时跌落", "三级", "25,000.00", "是", "否"],
]

XLSX_ROWS = [
    [1, "FA2021NX0001", "430182197805200424", date(2021, 11, 20), date(2021, 11, 25), "身故", "drowning"]
    + ["在水塘边洗衣时落水溺亡", None, 40000, "否", "是"],
    [2, "HC2022LL0002、EA2022LL0002", "430281195708110822", date(2022, 8, 3), date(2022, 8, 4), "伤残"]
    + ["fall_from_height", "修缮房顶时跌落", 3, 25000, True, False],
]

JSON_ROWS = [
    {
        "policy_numbers": ["FA2021NX0001"],
        "id_number": "430182197805200424",
        "accident_date": "2021-11-20",
        "reported_on": "2021-11-25",
        "outcome": "death",
        "cause": "drowning",
        "description": "在水塘边洗衣时落水溺亡",
        "claimed_amount": "40000.00",
        "nominate_green_channel": False,
        "third_party_record": True,
    },
    {
        "policy_numbers": ["HC2022LL0002", "EA2022LL0002"],
        "id_number": "430281195708110822",
        "accident_date": "2022-08-03",
        "reported_on": "2022-08-04",
        "outcome": "disability",
        "cause": "fall_from_height",
        "description": "修缮房顶时跌落",
        "disability_grade": 3,
        "claimed_amount": "25000.00",
        "nominate_green_channel": True,
        "third_party_record": False,
    },
]


def _csv_line(cells: list[str]) -> str:
    return ",".join(f'"{c}"' if "," in c else c for c in cells)


def main() -> None:
    lines = [_csv_line(HEADERS), *(_csv_line(r) for r in CSV_ROWS)]
    (HERE / "reports.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))

    wb = Workbook()
    ws = wb.active
    ws.title = "报案清单"
    ws.append(["宁乡市、醴陵市计生保险报案清单（样例）"])
    ws.append(HEADERS)
    for row in XLSX_ROWS:
        ws.append(row)
    for cell in ws["D"][2:] + ws["E"][2:]:
        cell.number_format = "yyyy-mm-dd"
    wb.save(HERE / "reports.xlsx")

    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in JSON_ROWS)
    (HERE / "reports.jsonl").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
