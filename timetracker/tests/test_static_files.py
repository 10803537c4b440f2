"""collectstatic's files are served by the application itself (WhiteNoise), so the admin has
its CSS and JS under gunicorn with nothing in front of it."""

from io import StringIO

from django.core.management import call_command
from django.test import Client


def test_collected_static_files_are_served_without_debug(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", stdout=StringIO())
    expected = (tmp_path / "static" / "admin" / "css" / "base.css").read_bytes()

    response = Client().get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content) == expected
    assert Client().get("/static/admin/css/no-such-file.css").status_code == 404
