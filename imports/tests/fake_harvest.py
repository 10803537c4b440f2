"""A real HTTP server on 127.0.0.1 that answers like Harvest API v2.

Every request must carry `Authorization: Bearer <token>`, `Harvest-Account-Id` and a
`User-Agent` (Harvest answers 400 without it). `/v2/time_entries` pages with cursor links:
`links.next` is followed; `page`/`next_page` are null on middle pages. Recorded responses
(case 17) can be replayed with their `https://api.harvestapp.com` links pointed here.
"""

import base64
import json
import math
import zlib
from urllib.parse import parse_qs, urlencode, urlsplit

from .fake_toggl import Canned, FakeApiServer, RecordedRequest, json_answer

HARVEST_PUBLIC_URL = "https://api.harvestapp.com"


HARVEST_TOKEN = "harvest-secret-token-456"


class FakeHarvest(FakeApiServer):
    def __init__(self, *, token: str = HARVEST_TOKEN, account_id: str = "424242"):
        super().__init__()
        self.token = token
        self.account_id = account_id
        self.entries: list[dict] = []
        self.users: list[dict] = []
        self.recorded: list[tuple[str, dict]] = []

    def replay(self, responses_in_order: list[dict]) -> None:
        """Serve recorded pages: each answers the request whose path and query match its url."""
        for recorded in responses_in_order:
            url = recorded["url"].replace(HARVEST_PUBLIC_URL, self.url)
            body = json.loads(json.dumps(recorded["body"]).replace(HARVEST_PUBLIC_URL, self.url))
            self.recorded.append((url, body))

    def answer(self, request: RecordedRequest) -> Canned:
        if not request.headers.get("User-Agent"):
            return json_answer({"error": "invalid_request", "error_description": "User-Agent header is required"}, 400)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_answer({"error": "invalid_token",
                                "error_description": "The access token provided is expired, revoked, malformed "
                                                     "or invalid for other reasons."}, 401)
        if request.headers.get("Harvest-Account-Id") != self.account_id:
            return json_answer({"error": "forbidden", "error_description": "Account not found"}, 403)
        if request.path == "/v2/users/me":
            return json_answer({"id": 1782959, "first_name": "Alex", "last_name": "Example",
                                "email": "alex@example.com", "timezone": "Eastern Time (US & Canada)"})
        if request.path == "/v2/users":
            return json_answer(self.page_of(request, self.users, "users", "/v2/users"))
        if request.path == "/v2/time_entries":
            for url, body in self.recorded:
                parts = urlsplit(url)
                if parts.path == request.path and {k: v[0] for k, v in parse_qs(parts.query).items()} == request.query:
                    return json_answer(body)
            if self.recorded:
                return json_answer({"error": "unexpected request"}, 404)
            entries = [e for e in self.entries
                       if request.query.get("from", "0000") <= e["spent_date"] <= request.query.get("to", "9999")]
            entries.sort(key=lambda e: (e["spent_date"], e["id"]), reverse=True)
            return json_answer(self.page_of(request, entries, "time_entries", "/v2/time_entries"))
        return json_answer({"error": "not_found"}, 404)

    def page_of(self, request: RecordedRequest, items: list[dict], key: str, path: str) -> dict:
        per_page = int(request.query.get("per_page", 2000))
        offset = 0
        if "cursor" in request.query:
            offset = json.loads(base64.urlsafe_b64decode(request.query["cursor"]))["after"]
        chunk = items[offset: offset + per_page]
        following = offset + per_page
        total_pages = max(1, math.ceil(len(items) / per_page))
        first, last = offset == 0, following >= len(items)
        base_query = {k: v for k, v in request.query.items() if k != "cursor"}
        next_url = None
        if not last:
            cursor = base64.urlsafe_b64encode(json.dumps({"after": following}).encode()).decode()
            next_url = f"{self.url}{path}?{urlencode({'cursor': cursor, **base_query})}"
        return {
            key: chunk,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": len(items),
            # Cursor pagination: page numbers only on the first and the last page.
            "page": 1 if first else (total_pages if last else None),
            "next_page": 2 if first and not last else None,
            "previous_page": total_pages - 1 if last and not first else None,
            "links": {"first": f"{self.url}{path}?page=1", "next": next_url, "previous": None,
                      "last": f"{self.url}{path}?page={total_pages}"},
        }


def harvest_entry(entry_id: int, spent_date: str, *, hours: float, started: str | None = None,
                  ended: str | None = None, notes: str = "", user_id: int = 1782959, running: bool = False,
                  project: str = "Online Store - Phase 1", client: str = "123 Industries",
                  task: str = "Programming") -> dict:
    """A Harvest v2 time entry object (the fields the importer reads, and a few it ignores)."""
    return {
        "id": entry_id, "spent_date": spent_date, "user": {"id": user_id, "name": f"User {user_id}"},
        "client": {"id": zlib.crc32(client.encode()) % 10**7, "name": client},
        "project": {"id": zlib.crc32(f"{client}/{project}".encode()) % 10**8, "name": project, "code": "OS1"},
        "task": {"id": zlib.crc32(task.encode()) % 10**7, "name": task}, "hours": hours, "hours_without_timer": hours,
        "rounded_hours": hours, "notes": notes, "is_locked": False, "is_running": running,
        "timer_started_at": f"{spent_date}T14:02:11Z" if running else None,
        "started_time": started, "ended_time": ended, "billable": True, "billable_rate": 100.0,
        "cost_rate": 50.0, "created_at": f"{spent_date}T18:00:00Z", "updated_at": f"{spent_date}T18:00:00Z",
    }
