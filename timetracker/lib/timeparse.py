"""Parsing the dates, clock times, durations and numbers found in time-tracking exports.

Functions raise ValueError with a reason a user can act on; callers add line and column.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

DATE_ORDERS = ("DMY", "MDY", "YMD")
# Time entries outside these years are typos; refusing them also keeps every timezone
# conversion and database type in range.
MIN_YEAR, MAX_YEAR = 1900, 2200
DATE_ORDER_NAMES = {"DMY": "day/month/year", "MDY": "month/day/year", "YMD": "year/month/day"}

_DATE = re.compile(r"^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?\s*(?P<ampm>[ap]\.?\s?m\.?)?$",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"(?:\s*(?P<z>Z)|\s*(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2}))$", re.IGNORECASE)
_HMS = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})$")
_HM = re.compile(r"^(\d+):(\d{1,2})$")
_MIN_SEC = re.compile(r"^(\d+):(\d{1,2})\s*min$", re.IGNORECASE)
# "90 min", "45m", "2 h", "1.5 hours", "1h 30m", "1 hr 5 mins"
_UNITS = re.compile(
    r"^(?:(?P<h>\d+(?:[.,]\d+)?)\s*h(?:(?:ou)?rs?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:ute)?s?)?)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


TWO_DIGIT_YEAR = "the year has only two digits, so it cannot be told from the day or month; write it with four digits (e.g. 2024-03-04)"


def _split_date(value: str) -> tuple[int, int, int, str] | None:
    match = _DATE.match(value.strip())
    if not match:
        return None
    first, _separator, middle, last = match.groups()
    if len(first) == 4:
        return int(first), int(middle), int(last), first
    return int(first), int(middle), int(last), ""


def has_two_digit_year(value: str) -> bool:
    """`24-03-04` or `4.3.24`: no part has more than two digits, so the year could be the first
    part or the last (and its century is unknown). Refused rather than guessed."""
    match = _DATE.match(value.strip())
    return bool(match) and len(match[1]) <= 2 and len(match[4]) <= 2


def _build_date(year: int, month: int, day: int) -> date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_orders_fitting(value: str) -> set[str]:
    """The date orders under which `value` is a real calendar date."""
    parts = _split_date(value)
    if parts is None:
        return set()
    first, middle, last, long_first = parts
    if long_first:
        return {"YMD"} if _build_date(first, middle, last) else set()
    fitting = set()
    if _build_date(last, middle, first):
        fitting.add("DMY")
    if _build_date(last, first, middle):
        fitting.add("MDY")
    return fitting


def looks_like_short_date(value: str) -> bool:
    """Written like a date whose day and month order matters (03/04/2024, 4.3.24), valid or not;
    text such as "bad" is not a date at all."""
    parts = _split_date(value)
    return parts is not None and not parts[3] and not has_two_digit_year(value)


def date_uses_dots(value: str) -> bool:
    return bool(_DATE.match(value.strip())) and "." in value


def parse_date(value: str, order: str | None) -> date:
    parts = _split_date(value)
    if parts is None:
        raise ValueError("not a date (expected e.g. 2024-03-04, 04.03.2024 or 03/04/2024)")
    if has_two_digit_year(value):
        raise ValueError(TWO_DIGIT_YEAR)
    first, middle, last, long_first = parts
    if long_first:
        parsed = _build_date(first, middle, last)
        if parsed is None:
            if not MIN_YEAR <= first <= MAX_YEAR:
                raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
            raise ValueError("not a valid date in year-month-day order")
        return parsed
    if order is None or order == "YMD":
        raise ValueError("the day and month order of this date is unknown; choose the date order")
    parsed = _build_date(last, middle, first) if order == "DMY" else _build_date(last, first, middle)
    if parsed is None and not MIN_YEAR <= last <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    if parsed is None:
        raise ValueError(f"not a valid date in {DATE_ORDER_NAMES[order]} order")
    return parsed


def parse_time(value: str) -> tuple[time, int]:
    """24-hour or 12-hour clock, seconds and fractions optional. Returns the time and how many
    fractional digits the text carried (the precision to compare at)."""
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError("not a time of day (expected e.g. 14:30, 14:30:05 or 2:30 PM)")
    hour, minute = int(match["h"]), int(match["m"])
    second = int(match["s"] or 0)
    fraction = match["f"] or ""
    ampm = (match["ampm"] or "").lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("hour must be 1 to 12 with AM/PM")
        # 12 AM is midnight, 12 PM is noon.
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("not a valid time of day")
    microsecond = int(fraction.ljust(6, "0")) if fraction else 0
    return time(hour, minute, second, microsecond), len(fraction)


@dataclass
class ParsedDateTime:
    value: datetime  # aware when the text had an offset, naive otherwise
    precision: int  # fractional digits carried by the text
    has_time: bool


def parse_datetime(value: str, order: str | None) -> ParsedDateTime:
    """ISO 8601 (T or space, optional fraction and offset), or a date in the file's order
    followed by a clock time, or a date alone (midnight)."""
    text = value.strip()
    offset = None
    match = _OFFSET.search(text)
    if match and (match["z"] or re.search(r"\d[T ]?\d{1,2}:\d{2}", text[: match.start()])):
        if match["z"]:
            offset = UTC
        else:
            minutes = int(match["oh"]) * 60 + int(match["om"])
            if minutes >= 24 * 60 or int(match["om"]) > 59:
                raise ValueError(f"the UTC offset {match['sign']}{match['oh']}:{match['om']} is out of range")
            offset = timezone(timedelta(minutes=-minutes if match["sign"] == "-" else minutes))
        text = text[: match.start()]
    date_text, _, time_text = text.replace("T", " ", 1).partition(" ")
    day = parse_date(date_text, order)
    if not time_text.strip():
        if offset is not None:
            raise ValueError("an offset needs a time of day")
        return ParsedDateTime(datetime.combine(day, time()), 0, False)
    clock, precision = parse_time(time_text)
    parsed = datetime.combine(day, clock)
    if offset is not None:
        parsed = parsed.replace(tzinfo=offset)
    return ParsedDateTime(parsed, precision, True)


@dataclass
class LocalTime:
    """A wall-clock time read in a timezone. `status` is "ok", "ambiguous" (the clock fell back
    and showed it twice) or "nonexistent" (the clock skipped it); `candidates` are the UTC
    instants it could mean (for a nonexistent time: the readings with either offset)."""

    status: str
    candidates: list[datetime]


def localize(naive: datetime, zone: ZoneInfo) -> LocalTime:
    readings = []
    for fold in (0, 1):
        aware = naive.replace(tzinfo=zone, fold=fold)
        readings.append(aware.astimezone(UTC))
    if readings[0] == readings[1]:
        return LocalTime("ok", [readings[0]])
    real = [r for r in readings if r.astimezone(zone).replace(tzinfo=None) == naive]
    if len(real) == 2:
        return LocalTime("ambiguous", sorted(readings))
    if len(real) == 1:
        return LocalTime("ok", real)
    return LocalTime("nonexistent", sorted(readings))


def parse_decimal(value: str, *, decimal_comma: bool) -> Decimal:
    """A number as spreadsheets write it: `1.5`, `1,5` (decimal comma files), `2.001,0`."""
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        # Whichever separator comes last is the decimal one; the other groups thousands.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if decimal_comma:
            text = text.replace(",", ".")
        elif re.fullmatch(r"\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif decimal_comma and re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    if not _NUMBER.match(text):
        raise ValueError("not a number")
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValueError("not a number") from error


def looks_like_decimal_comma(value: str) -> bool:
    """`1,5` or `0,01` (not `1,000`) or `2.001,0`: a number written with a decimal comma."""
    text = value.strip()
    return bool(re.fullmatch(r"\d+,(\d{1,2}|\d{4,})", text) or re.fullmatch(r"\d{1,3}(\.\d{3})+,\d+", text))


@dataclass
class ParsedDuration:
    seconds: Decimal
    tolerance: Decimal  # how far start/end may be off before the cell disagrees


def parse_duration(value: str, *, decimal_comma: bool) -> ParsedDuration:
    """`hh:mm:ss`, `h:mm:ss`, `mm:ss min` (Toggl classic), `h:mm` or decimal hours."""
    text = value.strip()
    if match := _MIN_SEC.match(text):
        minutes, seconds = int(match[1]), int(match[2])
        if seconds > 59:
            raise ValueError("seconds must be below 60")
        return ParsedDuration(Decimal(minutes * 60 + seconds), Decimal(1))
    if match := _HMS.match(text):
        hours, minutes, seconds = (int(g) for g in match.groups())
        if minutes > 59 or seconds > 59:
            raise ValueError("minutes and seconds must be below 60")
        return ParsedDuration(Decimal(hours * 3600 + minutes * 60 + seconds), Decimal(1))
    if match := _HM.match(text):
        hours, minutes = int(match[1]), int(match[2])
        if minutes > 59:
            raise ValueError("minutes must be below 60")
        return ParsedDuration(Decimal(hours * 3600 + minutes * 60), Decimal(60))
    if (match := _UNITS.match(text)) and (match["h"] or match["m"]):
        hours = parse_decimal(match["h"], decimal_comma=decimal_comma) if match["h"] else Decimal(0)
        minutes = int(match["m"] or 0)
        if match["h"] and match["m"] and minutes > 59:
            raise ValueError("minutes must be below 60")
        if match["m"]:
            return ParsedDuration(hours * 3600 + minutes * 60, Decimal(60))
        text = match["h"]  # "2 h": decimal hours, with their precision
    try:
        hours = parse_decimal(text, decimal_comma=decimal_comma)
    except ValueError:
        raise ValueError("not a duration (expected hh:mm:ss, h:mm, mm:ss min, 90 min, 1h 30m or decimal hours)") from None
    if hours < 0:
        raise ValueError("a duration cannot be negative")
    digits = max(0, -hours.as_tuple().exponent)
    tolerance = Decimal(3600) / (Decimal(10) ** digits) / 2 + 1
    return ParsedDuration(hours * 3600, tolerance)


def seconds_int(seconds: Decimal) -> int:
    return int(seconds.quantize(Decimal(1), ROUND_HALF_UP))


def truncate(moment: datetime, precision: int) -> datetime:
    """Drop the digits of the fraction a file did not carry."""
    if precision >= 6:
        return moment
    step = 10 ** (6 - precision)
    return moment.replace(microsecond=moment.microsecond // step * step)
