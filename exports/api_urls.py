"""DRF v1 endpoints of exports, mounted under /api/v1/."""

urlpatterns: list = []
