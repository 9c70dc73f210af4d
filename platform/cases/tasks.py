"""Scoring tasks, on the `scoring` queue: thin, idempotent, the services doing the work.

The truth of what needs scoring is the `PendingScoring` table; a message only wakes a worker
up, so a lost or duplicated one costs nothing (beat sweeps every few seconds)."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task
def drain_scoring() -> int:
    """Regroup and rescore pending reports in batches; returns how many were taken."""
    from .services import drain_pending

    return drain_pending()


@shared_task
def sweep_scoring() -> int:
    """Beat: drain what a lost message left pending."""
    from .services import drain_pending

    return drain_pending()


@shared_task(bind=True, ignore_result=False)
def regroup_all_task(self: Task) -> int:
    from .services import regroup_all

    def progress(done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    return regroup_all(progress)


@shared_task(bind=True, ignore_result=False)
def rescore_all_task(self: Task) -> int:
    from .services import rescore_all

    def progress(done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    return rescore_all(progress)
