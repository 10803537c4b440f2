"""Celery tasks of the Toggl and Harvest pulls. Late acknowledgement: a worker that dies
mid-pull leaves the message unacknowledged; it is delivered again (after the broker's
visibility timeout) and the pull continues from its checkpoint."""

from celery import shared_task

from .pulls import pull_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def toggl_pull(self, import_id: int, sealed_credentials: str) -> str:
    outcome = pull_execute(import_id=import_id, sealed_credentials=sealed_credentials)
    if outcome.resume_at:  # Toggl's hourly quota: continue once it resets
        toggl_pull.apply_async((import_id, sealed_credentials), eta=outcome.resume_at)
    return outcome.status


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def harvest_pull(self, import_id: int, sealed_credentials: str) -> str:
    outcome = pull_execute(import_id=import_id, sealed_credentials=sealed_credentials)
    if outcome.resume_at:
        harvest_pull.apply_async((import_id, sealed_credentials), eta=outcome.resume_at)
    return outcome.status
