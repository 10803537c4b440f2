"""Celery tasks of the Toggl and Harvest pulls. Late acknowledgement: a worker that dies
mid-pull leaves the message unacknowledged; it is delivered again (after the broker's
visibility timeout) and the pull continues from its checkpoint."""

import logging

from celery import shared_task

from .pulls import PullOutcome, pull_execute

logger = logging.getLogger(__name__)


def _resume_later(task, outcome: PullOutcome, import_id: int, sealed_credentials: str) -> None:
    """Toggl's hourly quota: queue the same pull again for when the quota resets."""
    if not outcome.resume_at:
        return
    if task.request.is_eager:
        # In-process mode (no broker) cannot wait; the import stays "waiting" and a rerun
        # after that time continues it safely.
        logger.warning("Import %s waits for a quota but tasks run in-process; rerun it later", import_id)
        return
    task.apply_async((import_id, sealed_credentials), eta=outcome.resume_at)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def toggl_pull(self, import_id: int, sealed_credentials: str) -> str:
    outcome = pull_execute(import_id=import_id, sealed_credentials=sealed_credentials)
    _resume_later(self, outcome, import_id, sealed_credentials)
    return outcome.status


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def harvest_pull(self, import_id: int, sealed_credentials: str) -> str:
    outcome = pull_execute(import_id=import_id, sealed_credentials=sealed_credentials)
    _resume_later(self, outcome, import_id, sealed_credentials)
    return outcome.status
