"""Yes/no options as forms, query strings and JSON send them, read strictly: a value that is
none of the accepted spellings is refused (naming it), never taken as true or false."""

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def parse_flag(value, *, default: bool = False) -> bool:
    """true/false, 1/0, yes/no, on/off (any case) and JSON booleans; absent or empty: `default`.
    Raises ValueError with a message naming the value."""
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    text = str(value).strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f'"{str(value)[:40]}" is not a yes/no value; use true/false, 1/0, yes/no or on/off.')
