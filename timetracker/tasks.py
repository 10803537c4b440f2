from celery import shared_task
from django.contrib.auth import get_user_model


@shared_task
def users_count() -> int:
    """Health check for workers: proves a worker reaches the same database as the web."""
    return get_user_model().objects.count()
