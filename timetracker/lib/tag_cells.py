r"""The tags cell of our CSV layout: tag names joined by `;`.

A name may itself hold a `;`, so inside a name `;` is written `\;` and `\` is written `\\`.
Reading splits on the `;` no backslash escapes. A backslash before any other character stays
as it is, so files written before escaping existed (`C:\temp`) read the same as before.
"""

from collections.abc import Iterable

TAG_SEPARATOR = ";"


def join_tag_names(names: Iterable[str]) -> str:
    r"""["a;b", "c\d"] -> `a\;b;c\\d`."""
    return TAG_SEPARATOR.join(name.replace("\\", "\\\\").replace(";", "\\;") for name in names)


def split_tag_names(cell: str) -> list[str]:
    r"""The inverse of join_tag_names: `a\;b;c` -> ["a;b", "c"]. Names are not trimmed."""
    names, current = [], []
    characters = iter(cell)
    for character in characters:
        if character == "\\":
            following = next(characters, "")
            if following in ("\\", TAG_SEPARATOR):
                current.append(following)
            else:
                current.append(character + following)
        elif character == TAG_SEPARATOR:
            names.append("".join(current))
            current = []
        else:
            current.append(character)
    names.append("".join(current))
    return names
