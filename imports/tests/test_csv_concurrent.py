"""Imports of one owner running at the same time (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from imports.models import DataImport
from imports.services import CsvImportOptions, csv_import_create, csv_import_run
from imports.tests.factories import store_bytes
from timetracker.models import TimeEntry

HEADER = "project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n"


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_imports_of_one_new_file_all_complete_without_duplicates(alice):
    data = (HEADER + "".join(f"Site,ACME,,2024-03-{day:02d} 09:00:00,2024-03-{day:02d} 10:00:00,,,,true\n" for day in range(1, 21))).encode()
    imports = [
        csv_import_create(
            user=alice, stored_file=store_bytes(alice, data), source_file_name="same.csv",
            options=CsvImportOptions(), enqueue=False,
        )
        for _ in range(3)
    ]
    start = threading.Barrier(3)

    def run(data_import_id):
        try:
            start.wait()
            csv_import_run(data_import_id=data_import_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(data_import.pk,)) for data_import in imports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    finished = DataImport.objects.filter(pk__in=[i.pk for i in imports])
    assert sorted((i.status, i.created_records, i.unchanged_records) for i in finished) == [
        ("completed", 0, 20),
        ("completed", 0, 20),
        ("completed", 20, 0),
    ]
    assert TimeEntry.objects.filter(owner=alice).count() == 20
