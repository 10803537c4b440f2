"""DRF v1 endpoints of backups, mounted under /api/v1/."""

urlpatterns: list = []
