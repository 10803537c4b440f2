"""Reading CSV files as users really save them: encoding, delimiter, blank and preamble lines.

Everything streams: the encoding is checked chunk by chunk and rows are read one at a time
with their physical line numbers, so memory does not depend on the file's size.
"""

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK_SIZE = 1 << 16
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")

csv.field_size_limit(10 * 1024 * 1024)


class CsvDecodeError(ValueError):
    pass


class CsvUnclosedQuote(CsvDecodeError):
    """A quoted cell is still open at the end of the file: the csv module reads everything after
    its opening quote into that cell instead of saying so."""

    def __init__(self, *, line: int, position: int):
        self.line = line  # physical line where the cell (and its quote) starts
        self.position = position  # 0-based position of the cell in its record
        super().__init__(f"The file is not readable CSV: the quoted value in cell {position + 1} of line {line} is never closed.")


# Read after the last line: outside a quoted cell it is a record of its own; inside one it ends
# up in that cell. A file holding NUL is refused before it is read (detect_encoding).
END_OF_FILE = "\x00"


def _decodes_as(path, encoding: str) -> bool:
    """Whether the whole file decodes; a NUL character anywhere (no database text column
    holds one) makes it binary."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as stream:
        try:
            while chunk := stream.read(CHUNK_SIZE):
                if "\x00" in decoder.decode(chunk):
                    raise CsvDecodeError("The file is not a CSV text file (it contains binary data).")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path) -> str:
    """UTF-8 (BOM or not) first, then Windows-1252 as Excel writes it on Western systems
    (UTF-16 when it starts with its byte order mark, as Excel's "Unicode text" does).
    Never decodes with errors="replace": mojibake must not reach the database."""
    with open(path, "rb") as stream:
        head = stream.read(CHUNK_SIZE)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _decodes_as(path, "utf-16"):
            return "utf-16"
        raise CsvDecodeError("The file starts like UTF-16 text but cannot be decoded as such; save it as CSV UTF-8.")
    if b"\x00" in head:
        raise CsvDecodeError("The file is not a CSV text file (it contains binary data).")
    if _decodes_as(path, "utf-8-sig"):
        return "utf-8-sig"
    if _decodes_as(path, "cp1252"):
        return "cp1252"
    raise CsvDecodeError("The file cannot be decoded as UTF-8 or Windows-1252 text; save it as CSV UTF-8.")


def open_text(path, encoding: str) -> io.TextIOWrapper:
    # newline="" lets the csv module see \r\n, \n and \r inside and between records.
    return open(path, encoding=encoding, newline="")


def count_delimiters(line: str) -> dict[str, int]:
    """How often each candidate delimiter occurs outside double quotes."""
    counts = dict.fromkeys(CANDIDATE_DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return counts


def sniff_delimiter(header_line: str) -> str:
    counts = count_delimiters(header_line)
    best = max(CANDIDATE_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


@dataclass
class CsvRecord:
    line: int  # physical line where the record starts (1-based)
    cells: list[str]

    @property
    def is_blank(self) -> bool:
        return all(not cell.strip() for cell in self.cells)


def iter_records(path, *, encoding: str, delimiter: str) -> Iterator[CsvRecord]:
    """Yield every record with the physical line it starts on; blank lines come as records
    with no cells so callers can report them."""
    with open_text(path, encoding) as stream:
        reader = csv.reader(itertools.chain(stream, [END_OF_FILE]), delimiter=delimiter)
        next_line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # e.g. a cell over the field size limit: the file is not CSV we can read.
                raise CsvDecodeError(f"The file is not readable CSV at line {next_line}: {error}.") from None
            if cells == [END_OF_FILE]:
                return
            if cells and cells[-1].endswith(END_OF_FILE):
                # Lines inside the quoted cells before it move the quote's line down.
                opened = next_line + sum(cell.count("\n") for cell in cells[:-1])
                raise CsvUnclosedQuote(line=opened, position=len(cells) - 1)
            if cells and next_line == 1:
                cells[0] = cells[0].lstrip("\ufeff")
            yield CsvRecord(line=next_line, cells=cells)
            next_line = reader.line_num + 1


def first_lines(path, *, encoding: str, limit: int = 50) -> list[tuple[int, str]]:
    """The first `limit` non-blank physical lines (number, text), for header and delimiter
    detection. Streams line by line, so any number of blank lines before the header is skipped
    (a file is never judged empty because its first chunk was)."""
    found = []
    with open_text(path, encoding) as stream:
        # newline="": lines end at \r\n, \n or \r, counted as the csv reader counts them.
        for number, line in enumerate(stream, start=1):
            text = line.rstrip("\r\n").lstrip("\ufeff")
            if text.strip():
                found.append((number, text))
                if len(found) >= limit:
                    break
    return found
