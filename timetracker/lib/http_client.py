"""A requests session for third-party APIs (Toggl, Harvest) that survives their limits.

- 429: waits `Retry-After` seconds (or backs off exponentially with jitter when the header is
  missing) and retries the same request, a bounded number of times.
- 5xx, timeouts, connection errors and nginx's HTML 400 pages during bursts: bounded retries
  with backoff, then a clear `ApiTransientError`.
- 401/403: `ApiAuthError` at once, with the message the caller gave (no retry).
- 402 from an API with an hourly quota (Toggl): `ApiQuotaExceeded` with the seconds until the
  reset its header gives (one hour when the header is missing or unreadable).
- Error bodies are never JSON-parsed, and no error message contains request headers, so
  credentials cannot leak through exceptions or logs.
"""

import logging
import math
import random
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests

logger = logging.getLogger(__name__)

# Tests replace these to move time instead of waiting.
sleep = time.sleep
monotonic = time.monotonic
wall_clock = time.time  # reads `Retry-After` given as an HTTP date


class ApiError(Exception):
    """A failure worth showing to the user as is (it names no credential)."""


class ApiAuthError(ApiError):
    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class ApiTransientError(ApiError):
    pass


class ApiQuotaExceeded(ApiError):
    def __init__(self, message: str, *, resets_in: int):
        super().__init__(message)
        self.resets_in = resets_in


@dataclass(frozen=True)
class RetryPolicy:
    max_rate_limit_retries: int = 8
    max_transient_retries: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 60.0

    def backoff(self, attempt: int) -> float:
        """attempt 0 → 1 s (+ up to 50 % jitter), then doubling up to the cap."""
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return delay + random.uniform(0, delay / 2)


# The longest 429 `Retry-After` waited for in the request; a longer one fails the request
# ("try again later") instead of holding a worker for hours.
MAX_RETRY_AFTER_SECONDS = 15 * 60
# Toggl's quota resets within the hour; a reset header that is missing, unreadable or
# further away than this counts as this.
QUOTA_RESET_DEFAULT_SECONDS = 3600


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` value: a number of seconds or an HTTP date (a date
    in the past is 0). None when it is missing or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": an HTTP date is always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.fromtimestamp(wall_clock(), UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def quota_resets_in(value: str | None) -> int:
    seconds = retry_after_seconds(value)
    if seconds is None or seconds > QUOTA_RESET_DEFAULT_SECONDS:
        return QUOTA_RESET_DEFAULT_SECONDS
    return max(1, math.ceil(seconds))


class ApiSession:
    """One API's session: base URL, fixed headers/auth, timeout, pacing and retries."""

    def __init__(
        self,
        *,
        base_url: str,
        service_name: str,
        auth_error_message: str,
        timeout: float,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        min_interval: float = 0.0,
        window_limit: tuple[int, float] | None = None,
        policy: RetryPolicy | None = None,
        quota_on_402: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.service_name = service_name
        self.auth_error_message = auth_error_message
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.min_interval = min_interval
        self.window_limit = window_limit
        # Toggl answers 402 when the workspace's hourly quota is used up.
        self.quota_on_402 = quota_on_402
        self._sent: deque[float] = deque()
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        if auth:
            self.session.auth = auth

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url.lstrip("/"))

    def same_origin(self, url: str) -> bool:
        mine, theirs = urlsplit(self.base_url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def _pace(self) -> None:
        """Keep under the API's documented request rate (e.g. Harvest: 100 per 15 s)."""
        now = monotonic()
        if self.min_interval and self._sent:
            wait = self._sent[-1] + self.min_interval - now
            if wait > 0:
                sleep(wait)
                now = monotonic()
        if self.window_limit:
            count, seconds = self.window_limit
            while self._sent and self._sent[0] <= now - seconds:
                self._sent.popleft()
            if len(self._sent) >= count:
                wait = self._sent[0] + seconds - now
                if wait > 0:
                    sleep(wait)
                    now = monotonic()
                self._sent.popleft()
        self._sent.append(now)
        if not self.window_limit:
            while len(self._sent) > 1:
                self._sent.popleft()

    def request(self, method: str, path_or_url: str, **kwargs) -> requests.Response:
        url = self.url(path_or_url)
        if not self.same_origin(url):
            # Never send our credentials to a host the user did not configure.
            raise ApiError(f"{self.service_name} returned a link to another host; stopped.")
        rate_limited = transient = 0
        while True:
            self._pace()
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
                if transient >= self.policy.max_transient_retries:
                    raise ApiTransientError(
                        f"{self.service_name} {kind} {transient + 1} times in a row; try again later."
                    ) from None
                delay = self.policy.backoff(transient)
                transient += 1
                logger.warning("%s %s %s; retry %d in %.1f s", self.service_name, method, kind, transient, delay)
                sleep(delay)
                continue
            except (requests.RequestException, ValueError):
                # E.g. InvalidHeader or UnicodeEncodeError for a credential with a line break
                # or non-Latin-1 characters: their messages quote the header value, so none
                # of it is kept (`from None`) or logged.
                raise ApiError(
                    f"{self.service_name} could not be sent the request: the token or account id contains "
                    "characters that cannot be sent (line breaks or non-ASCII); paste it again."
                ) from None

            status = response.status_code
            logger.info("%s %s %s -> %s", self.service_name, method, urlsplit(url).path, status)
            if status < 400:
                return response
            if status == 429:
                if rate_limited >= self.policy.max_rate_limit_retries:
                    raise ApiTransientError(
                        f"{self.service_name} kept answering 429 Too Many Requests; try again later."
                    )
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if delay is None:
                    delay = self.policy.backoff(rate_limited)
                if delay > MAX_RETRY_AFTER_SECONDS:
                    raise ApiTransientError(
                        f"{self.service_name} asked to wait {math.ceil(delay / 60)} min before the next request "
                        f"(more than {MAX_RETRY_AFTER_SECONDS // 60} min); try again later."
                    )
                rate_limited += 1
                sleep(delay)
                continue
            if status in (401, 403):
                raise ApiAuthError(self.auth_error_message, status=status)
            if status == 402 and self.quota_on_402:
                resets_in = quota_resets_in(response.headers.get("X-Toggl-Quota-Resets-In"))
                raise ApiQuotaExceeded(f"{self.service_name} API quota reached", resets_in=resets_in)
            html_burst_page = status == 400 and "html" in response.headers.get("Content-Type", "").lower()
            if status >= 500 or html_burst_page:
                if transient >= self.policy.max_transient_retries:
                    raise ApiTransientError(
                        f"{self.service_name} answered HTTP {status} {transient + 1} times in a row; try again later."
                    )
                delay = self.policy.backoff(transient)
                transient += 1
                sleep(delay)
                continue
            raise ApiError(f"{self.service_name} answered HTTP {status}: {short_body(response)}")

    def get(self, path_or_url: str, **kwargs) -> requests.Response:
        return self.request("GET", path_or_url, **kwargs)

    def post(self, path_or_url: str, **kwargs) -> requests.Response:
        return self.request("POST", path_or_url, **kwargs)


def short_body(response: requests.Response, limit: int = 200) -> str:
    """The start of an error body as plain text, for the user (HTML pages are not echoed)."""
    if "html" in response.headers.get("Content-Type", "").lower():
        return response.reason or "error page"
    text = " ".join(response.text.split())
    return text[:limit] or (response.reason or "")


def json_body(response: requests.Response, *, service_name: str):
    try:
        return response.json()
    except ValueError:
        raise ApiError(f"{service_name} answered something that is not JSON.") from None
