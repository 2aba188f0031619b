"""Tables offered for download as CSV or XLSX (numbers stay exact: Decimal cells, not floats)."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from litestar import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# text a spreadsheet would run as a formula when the file is opened (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A cell's value; text that a spreadsheet would read as a formula keeps a leading apostrophe,
    which shows it as the text it is. Numbers (Decimal, int) and dates are written as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_response(filename: str, columns: Sequence[str], rows: Sequence[Sequence], fmt: str, *, sheet: str,
                   money_columns: Sequence[str] = ()) -> Response:
    """`fmt` is "csv" or "xlsx"; the file is offered as an attachment named `filename`.<fmt>."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([["" if v is None else str(_cell(v)) for v in row] for row in rows])
        return Response(content=out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    from openpyxl import Workbook

    book = Workbook()
    table = book.active
    table.title = sheet
    table.append(list(columns))
    for row in rows:
        table.append([_cell(v) for v in row])
    for cell in table[1]:
        cell.font = cell.font.copy(bold=True)
    for index, name in enumerate(columns, start=1):
        if name in money_columns:
            for (cell,) in table.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return Response(content=out.getvalue(), headers=headers, media_type=XLSX)
