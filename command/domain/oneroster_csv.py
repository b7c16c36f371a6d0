"""One file of a OneRoster CSV bundle read into rows, each with the line it starts on, and every
problem a row has as a `RowError` (file, line, field, message). Pure: text in, rows out.

OneRoster 1.1 and 1.2 CSV files are RFC 4180 with a header line; the stdlib csv module reads
them (msgspec has no CSV). A row whose `status` is `tobedeleted` is left out, as if absent.
"""

import csv
import io

import msgspec

MAX_ERRORS = 1000  # a whole wrong file would list every row: the first thousand say enough


class RowError(msgspec.Struct, frozen=True):
    file: str
    line: int  # 1 is the header line; a quoted field over several lines: where its row starts
    field: str
    message: str


class Row(msgspec.Struct, frozen=True):
    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


class Table(msgspec.Struct, frozen=True):
    name: str
    columns: list[str]
    rows: list[Row]
    # every sourcedId given, a bad row's too: a reference to it is no second error
    named: frozenset[str] = frozenset()


def read(name: str, text: str, required: tuple[str, ...], filled: tuple[str, ...],
         errors: list[RowError]) -> Table:
    """The rows of file `name`: a missing column is one error on line 1; a row missing a value
    of `filled`, or repeating a sourcedId, an error on its line (the row is then left out)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        errors.append(RowError(name, 1, "", "the file is empty: it needs a header line"))
        return Table(name, [], [])
    except csv.Error as exc:
        errors.append(RowError(name, 1, "", f"not CSV: {exc}"))
        return Table(name, [], [])
    missing = [c for c in required if c not in header]
    for column in missing:
        errors.append(RowError(name, 1, column, f"the header has no {column} column"))
    if missing:
        return Table(name, header, [])
    rows: list[Row] = []
    seen: dict[str, int] = {}
    named: set[str] = set()
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(name, start, "", f"not CSV: {exc}"))
            break
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(cells) != len(header):
            errors.append(RowError(name, line, "", f"the row has {len(cells)} fields, the "
                                                   f"header {len(header)}"))
            continue
        row = Row(line, dict(zip(header, cells, strict=True)))
        if row.get("status").lower() == "tobedeleted":
            continue
        named.add(row.get("sourcedId"))
        empty = [c for c in filled if not row.get(c)]
        if empty:
            errors.extend(RowError(name, line, c, f"{c} is empty") for c in empty)
            continue
        key = row.get("sourcedId")
        if key and "sourcedId" in filled:
            if key in seen:
                errors.append(RowError(name, line, "sourcedId", f"duplicate sourcedId {key!r} "
                                                                f"(first on line {seen[key]})"))
                continue
            seen[key] = line
        rows.append(row)
    return Table(name, header, rows, frozenset(named))


def header(text: str) -> list[str]:
    """A file's column names (none for an empty or unreadable file: `read` says why)."""
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(text.removeprefix("\ufeff"),
                                                               newline="")), [])]
    except csv.Error:
        return []


def listed(value: str) -> list[str]:
    """A OneRoster list cell: values separated by commas (1.1, 1.2), or semicolons."""
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
