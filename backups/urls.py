"""Pages and session (cookie) endpoints of backups."""

urlpatterns: list = []
