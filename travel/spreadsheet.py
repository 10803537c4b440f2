"""Formula neutralisation for the text cells of travel CSV exports.

Local stand-in for `timetracker.lib.spreadsheet.neutralise_formula`, which the exports team
writes on its own branch: at merge, import that one instead and delete this module.
"""

FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def neutralise_formula(text: str) -> str:
    """`=1+1` -> `'=1+1`: spreadsheets then show the text instead of running it."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text
