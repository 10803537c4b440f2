from django.apps import AppConfig


class TimetrackerConfig(AppConfig):
    name = "timetracker"
    verbose_name = "Time tracking"

    def ready(self):
        from . import signals  # noqa: F401
