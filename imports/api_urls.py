"""DRF v1 endpoints of imports, mounted under /api/v1/."""

urlpatterns: list = []
