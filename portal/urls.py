"""Pages and session (cookie) endpoints of portal."""

urlpatterns: list = []
