"""Pages and session (cookie) endpoints of exports."""

urlpatterns: list = []
