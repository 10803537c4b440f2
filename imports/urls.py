"""Pages and session (cookie) endpoints of imports."""

urlpatterns: list = []
