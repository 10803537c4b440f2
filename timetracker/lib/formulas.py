"""The importer's names for the spreadsheet formula guard; the rules live in timetracker.lib.spreadsheet."""

from timetracker.lib.spreadsheet import neutralise_formula as formula_escape
from timetracker.lib.spreadsheet import restore_formula as formula_unescape

__all__ = ["formula_escape", "formula_unescape"]
