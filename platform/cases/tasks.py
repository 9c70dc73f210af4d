"""Scoring tasks, on the `scoring` queue: thin, idempotent, ids in and services doing the work."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task
def score_report(report_id: str) -> int | None:
    from .services import score_report_case

    case = score_report_case(report_id)
    return case.pk if case else None


@shared_task
def score_reports(report_ids: list[str]) -> list[int | None]:
    """A received batch's reports, each in its own transaction, in order."""
    from .services import score_report_case

    cases = [score_report_case(report_id) for report_id in report_ids]
    return [case.pk if case else None for case in cases]


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
