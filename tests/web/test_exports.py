"""Exported tables: text that a spreadsheet would run as a formula is written as text."""
import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from backend.web.exports import table_response

ROWS = [["=HYPERLINK(\"http://evil.example\",\"click\")", Decimal("-5.00"), "+1 (call me)", "@SUM(A1)", "plain", 7],
        ["-2+3", Decimal("12.50"), "\tTAB", "a=b", "", None]]


def test_csv_cells_that_would_be_formulas_are_text():
    response = table_response("t", ["a", "b", "c", "d", "e", "f"], ROWS, "csv", sheet="t")
    rows = list(csv.reader(io.StringIO(response.content)))
    assert rows[1] == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "-5.00", "'+1 (call me)", "'@SUM(A1)",
                       "plain", "7"]
    assert rows[2] == ["'-2+3", "12.50", "'\tTAB", "a=b", "", ""]


def test_xlsx_cells_that_would_be_formulas_are_text_and_numbers_stay_numbers():
    response = table_response("t", ["a", "b", "c", "d", "e", "f"], ROWS, "xlsx", sheet="t")
    sheet = load_workbook(io.BytesIO(response.content)).active
    first = [cell for cell in sheet[2]]
    assert first[0].data_type == "s" and first[0].value == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert first[1].data_type == "n" and first[1].value == -5
    assert [c.value for c in first[2:]] == ["'+1 (call me)", "'@SUM(A1)", "plain", 7]
    assert sheet["A3"].value == "'-2+3" and sheet["D3"].value == "a=b"
