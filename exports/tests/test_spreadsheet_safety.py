"""timetracker.lib.spreadsheet: the formula escaping the exports apply and the importer undoes."""

import pytest

from timetracker.lib.spreadsheet import neutralise_formula, restore_formula


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1+1)", "'+SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("@admin", "'@admin"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Plain text", "Plain text"),
        ("", ""),
        ("'just a quote", "'just a quote"),
        ("'=quoted formula", "''=quoted formula"),
        ("''@two quotes", "'''@two quotes"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_and_restore_round_trip(text, escaped):
    assert neutralise_formula(text) == escaped
    assert restore_formula(escaped) == text


def test_restore_leaves_a_lone_quote_and_quoted_text_alone():
    assert restore_formula("'") == "'"
    assert restore_formula("'hello") == "'hello"
