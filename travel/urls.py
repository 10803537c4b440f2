"""Pages and session (cookie) endpoints of travel."""

urlpatterns: list = []
