"""Case folding for any letter on SQLite, as PostgreSQL does it.

SQLite's LIKE (behind Django's `iexact`, `icontains`, … on SQLite) and its `upper()` and
`lower()` fold A–Z only, so "Łukasz" did not match "łukasz" in the embedded set-up while it
did on PostgreSQL. `sqlite_unicode_functions_install` replaces them on a new connection with
Unicode-aware versions (Python's `re.IGNORECASE` and `str.upper`/`str.lower`).
"""

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern:
    """SQL LIKE as a regular expression: `%` any run, `_` one character, `escape` makes the
    next character literal."""
    parts = []
    characters = iter(pattern)
    for character in characters:
        if escape is not None and character == escape:
            parts.append(re.escape(next(characters, "")))
        elif character == "%":
            parts.append(".*")
        elif character == "_":
            parts.append(".")
        else:
            parts.append(re.escape(character))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def sqlite_like(pattern, value, escape=None):
    """SQLite's like(pattern, value[, escape]): `value LIKE pattern ESCAPE escape`."""
    if pattern is None or value is None:
        return None
    return _like_regex(_text(pattern), escape).fullmatch(_text(value)) is not None


def sqlite_upper(value):
    return None if value is None else _text(value).upper()


def sqlite_lower(value):
    return None if value is None else _text(value).lower()


def sqlite_unicode_functions_install(dbapi_connection) -> None:
    """Override LIKE, upper() and lower() on one sqlite3 connection."""
    dbapi_connection.create_function("like", 2, sqlite_like, deterministic=True)
    dbapi_connection.create_function("like", 3, sqlite_like, deterministic=True)
    dbapi_connection.create_function("upper", 1, sqlite_upper, deterministic=True)
    dbapi_connection.create_function("lower", 1, sqlite_lower, deterministic=True)
