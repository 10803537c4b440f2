"""DRF v1 endpoints of travel, mounted under /api/v1/."""

urlpatterns: list = []
