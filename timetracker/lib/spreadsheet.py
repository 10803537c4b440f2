"""Spreadsheet safety for text cells we write to CSV and XLSX (and read back on import).

A cell whose text starts with one of FORMULA_TRIGGERS may be run as a formula by Excel,
LibreOffice or Google Sheets ("CSV injection"). Exports prefix such text with a single quote,
which spreadsheets show as plain text; our importer removes that quote again with
restore_formula, but only when the quote is followed by a trigger, so other text that starts
with `'` is left alone.

Text that already starts with quotes followed by a trigger (`'=x`) gets one more quote too,
otherwise the importer could not tell it from a neutralised `=x`; every text round-trips.
"""

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
NEUTRALISING_PREFIX = "'"


def _is_quoted_trigger(text: str) -> bool:
    """True for `'=…`, `''+…`: one or more quotes, then a trigger character."""
    stripped = text.lstrip(NEUTRALISING_PREFIX)
    return len(stripped) < len(text) and stripped[:1] in FORMULA_TRIGGERS and stripped != ""


def neutralise_formula(text: str) -> str:
    """`=1+1` -> `'=1+1`; text that does not start with a trigger is returned unchanged."""
    if not text:
        return text
    if text[0] in FORMULA_TRIGGERS or (text[0] == NEUTRALISING_PREFIX and _is_quoted_trigger(text)):
        return NEUTRALISING_PREFIX + text
    return text


def restore_formula(text: str) -> str:
    """The inverse of neutralise_formula, for importers: `'=1+1` -> `=1+1`, `'quoted` stays."""
    if text[:1] == NEUTRALISING_PREFIX and _is_quoted_trigger(text):
        return text[1:]
    return text
