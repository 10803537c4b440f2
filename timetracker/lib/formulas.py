"""Spreadsheet formula neutralisation for text cells (CSV/XLSX exports) and its inverse on import."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_escape(text: str) -> str:
    """Prefix a single quote when a spreadsheet would read the cell as a formula."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def formula_unescape(text: str) -> str:
    """Undo formula_escape: drop a leading quote only when a trigger character follows it, so
    text that really starts with a quote survives the round trip."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text
