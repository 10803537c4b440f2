import os
import threading
import uuid
from datetime import datetime, timezone

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")


class EmbeddedAwareTask(Task):
    """Without a broker (the embedded default) tasks run in-process. Running them inside the
    request would block the page for as long as the work takes and hide its progress bar, so
    when `task_run_in_thread` is on they run eagerly in a background thread instead."""

    def apply_async(self, args=None, kwargs=None, **options):
        if self.app.conf.task_always_eager and self.app.conf.get("task_run_in_thread"):
            delay = _seconds_until(options.pop("eta", None), options.pop("countdown", None))
            options.setdefault("task_id", str(uuid.uuid4()))
            timer = threading.Timer(
                delay, _run_eagerly_then_close_connections, args=(super().apply_async, args, kwargs, options)
            )
            timer.name = f"task-{self.name}"
            timer.daemon = True
            timer.start()
            return self.AsyncResult(options["task_id"])
        return super().apply_async(args, kwargs, **options)


def _seconds_until(eta: datetime | None, countdown: float | None) -> float:
    if countdown:
        return max(0.0, float(countdown))
    if eta is not None:
        if eta.tzinfo is None:
            eta = eta.replace(tzinfo=timezone.utc)
        return max(0.0, (eta - datetime.now(timezone.utc)).total_seconds())
    return 0.0


def _run_eagerly_then_close_connections(apply_async, args, kwargs, options):
    from celery.exceptions import Retry
    from django.db import connections

    try:
        apply_async(args, kwargs, **options)
    except Retry as retry:
        # An eager task asking to retry raises Retry instead of being sent again as a worker
        # would do; send it again here (a new thread, after its countdown) or it never reruns.
        if retry.sig is None:
            raise
        retry.sig.apply_async()
    finally:
        connections.close_all()


app = Celery("timetracker", task_cls=EmbeddedAwareTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
