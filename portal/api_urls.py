"""DRF v1 endpoints of portal, mounted under /api/v1/."""

urlpatterns: list = []
