"""The one way services hand work to Celery: a task named by its dotted path, sent after the
caller's transaction commits. Services never import tasks (no import cycles, and a rolled-back
change sends nothing); the task routes in settings pick the queue from the name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class TaskSend:
    """One task to send, as an on-commit callback that says what it will send."""

    task: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float | None = None

    def __call__(self) -> None:
        from celery import current_app

        current_app.send_task(
            self.task, args=list(self.args), kwargs=self.kwargs, countdown=self.countdown
        )


def after_commit(task: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    transaction.on_commit(TaskSend(task, args, kwargs, countdown))
