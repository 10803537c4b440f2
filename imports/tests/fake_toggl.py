"""A real HTTP server on 127.0.0.1 that answers like Toggl Track (API v9, Reports API v3).

It checks basic auth `<token>:api_token` (403 "Incorrect username and/or password" otherwise,
as Toggl does), pages the detailed report with `X-Next-ID` / `X-Next-Row-Number`, and can be
scripted to answer a path with canned responses first (429, 402 quota, 500, nginx pages, slow
answers) or to hold a request until the test releases it.
"""

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    received_at: float = 0.0  # time.monotonic()


@dataclass
class Canned:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0


class FakeApiServer:
    """Shared plumbing: a threaded server, a request log, canned responses per path."""

    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self.scripts: dict[str, list[Canned]] = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command, path=parts.path, query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k: v for k, v in self.headers.items()}, body=body, received_at=time.monotonic(),
                )
                with fake.lock:
                    fake.requests.append(request)
                    script = fake.scripts.get(parts.path)
                    canned = script.pop(0) if script else None
                if canned is None or canned.status == 0:  # status 0: answer normally, after any delay
                    delay = canned.delay if canned else 0.0
                    canned = fake.answer(request)
                    canned.delay = canned.delay or delay
                if canned.delay:
                    time.sleep(canned.delay)
                payload = canned.body.encode() if isinstance(canned.body, str) else canned.body
                try:
                    self.send_response(canned.status)
                    headers = {"Content-Type": "application/json; charset=utf-8", **canned.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def script(self, path: str, responses: list[Canned | dict]) -> None:
        """Answer the next requests to `path` with these responses, in order (status 0 = the
        normal answer, e.g. to fail the second page only or to delay a normal answer)."""
        self.scripts[path] = [r if isinstance(r, Canned) else Canned(**r) for r in responses]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def answer(self, request: RecordedRequest) -> Canned:  # pragma: no cover - subclasses
        return Canned(status=404, body='{"error": "not found"}')


def json_answer(payload, status: int = 200, headers: dict | None = None) -> Canned:
    return Canned(status=status, headers=headers or {}, body=json.dumps(payload))


TOGGL_TOKEN = "toggl-secret-token-123"


class FakeToggl(FakeApiServer):
    def __init__(self, *, token: str = TOGGL_TOKEN, workspace_id: int = 2000002):
        super().__init__()
        self.token = token
        self.workspace_id = workspace_id
        self.me = {"id": 1000001, "email": "alice@example.com", "timezone": "UTC",
                   "default_workspace_id": workspace_id}
        self.clients: list[dict] = []
        self.projects: list[dict] = []
        self.tasks: list[dict] = []
        self.tags: list[dict] = []
        self.users: list[dict] = []
        # Detailed report rows; each row groups time entries sharing description/project/…
        self.rows: list[dict] = []
        self.since_entries: list[dict] = []
        # How /projects and /tasks page: "normal"; "ignores_page" (every page is the first);
        # "endless" (a full page of new projects for every page asked).
        self.catalog_paging = "normal"
        self.hold_row_number: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()

    def add_entry(self, *, entry_id: int, start: str, stop: str | None, project_id=None, task_id=None,
                  description: str = "", billable: bool = False, tag_ids=None, user_id: int = 1000001) -> None:
        seconds = int((datetime.fromisoformat(stop) - datetime.fromisoformat(start)).total_seconds()) if stop else -1
        self.rows.append({
            "user_id": user_id, "username": f"user {user_id}", "project_id": project_id, "task_id": task_id,
            "billable": billable, "description": description, "tag_ids": tag_ids,
            "time_entries": [{"id": entry_id, "seconds": seconds, "start": start, "stop": stop, "at": stop or start}],
        })

    def authorized(self, request: RecordedRequest) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.token}:api_token".encode()).decode()
        return request.headers.get("Authorization") == expected

    def answer(self, request: RecordedRequest) -> Canned:
        if not self.authorized(request):
            return Canned(status=403, headers={"Content-Type": "text/plain; charset=utf-8"},
                          body="Incorrect username and/or password")
        ws = f"/api/v9/workspaces/{self.workspace_id}"
        path = request.path
        if path == "/api/v9/me":
            return json_answer(self.me)
        if path == "/api/v9/me/time_entries":
            return json_answer(self.since_entries)
        if path == f"{ws}/clients":
            return json_answer(self.clients)
        if path in (f"{ws}/projects", f"{ws}/tasks"):
            items = self.projects if path.endswith("projects") else self.tasks
            page, per_page = int(request.query.get("page", 1)), int(request.query.get("per_page", 200))
            if self.catalog_paging == "endless":
                return json_answer([{"id": page * 100_000 + n, "name": f"Project {page}-{n}", "active": True}
                                    for n in range(per_page)])
            if self.catalog_paging == "ignores_page":
                page = 1
            return json_answer(items[(page - 1) * per_page: page * per_page])
        if path == f"{ws}/tags":
            return json_answer(self.tags)
        if path == f"{ws}/users":
            return json_answer(self.users)
        if path == f"/reports/api/v3/workspace/{self.workspace_id}/search/time_entries":
            return self.detailed_report(request)
        if path.startswith(("/api/v9/workspaces/", "/reports/api/v3/workspace/")):
            return Canned(status=403, headers={"Content-Type": "text/plain"}, body="Forbidden")
        return Canned(status=404, body='"Not Found"')

    def detailed_report(self, request: RecordedRequest) -> Canned:
        query = json.loads(request.body or b"{}")
        start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
        if (end - start).days > 366:
            return Canned(status=400, headers={"Content-Type": "text/plain"}, body="Maximum allowed date range is 1 year")
        rows = sorted(
            (r for r in self.rows if start <= date.fromisoformat(r["time_entries"][0]["start"][:10]) <= end),
            key=lambda r: (r["time_entries"][0]["start"], r["time_entries"][0]["id"]),
        )
        numbered = [{**r, "row_number": n} for n, r in enumerate(rows, start=1)]
        first_row = int(query.get("first_row_number") or 1)
        # The cursor must point at the row it names, as the real API's does.
        if query.get("first_id") is not None and (
            first_row > len(numbered) or numbered[first_row - 1]["time_entries"][0]["id"] != query["first_id"]
        ):
            return Canned(status=400, headers={"Content-Type": "text/plain"}, body="Invalid first_id")
        if self.hold_row_number is not None and first_row == self.hold_row_number and not self.release.is_set():
            self.held.set()
            self.release.wait(timeout=60)
        page_size = int(query.get("page_size") or 50)
        page = numbered[first_row - 1: first_row - 1 + page_size]
        headers = {}
        following = first_row - 1 + page_size
        if following < len(numbered):
            headers = {"X-Next-ID": str(numbered[following]["time_entries"][0]["id"]),
                       "X-Next-Row-Number": str(following + 1)}
        return json_answer(page, headers=headers)
