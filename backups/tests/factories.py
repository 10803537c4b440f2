"""Builders for backup tests: rows to back up, and surgery on a real archive (one member or the manifest)."""

import json
import zipfile
from pathlib import Path

from exports.tests.factories import at, entry
from timetracker.models import TimeEntry


def rewrite_archive(source: Path, destination: Path, *, manifest_change=None, member_change=None) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(destination, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        if manifest_change:
            manifest_change(manifest)
        for info in old.infolist():
            if info.filename == "manifest.json":
                continue
            content = old.read(info.filename)
            if member_change:
                content = member_change(info.filename, content)
            new.writestr(info, content)
        new.writestr("manifest.json", json.dumps(manifest))
    return destination


def entries_of(user) -> list[tuple[str, int, list[str]]]:
    return [(e.notes, e.duration_seconds, sorted(t.name for t in e.tags.all()))
            for e in TimeEntry.objects.filter(owner=user).order_by("start")]


def three_entries(user) -> None:
    for day in (1, 2, 3):
        entry(user, start=at(f"2024-03-0{day} 09:00"), end=at(f"2024-03-0{day} 10:30"), notes=f"day {day}",
              tags=("deep work",) if day == 2 else ())
