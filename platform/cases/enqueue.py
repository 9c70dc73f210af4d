"""The one way the case services hand work to the scoring worker: by task name, after the
caller's transaction commits (services never import tasks)."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def after_commit(task: str, *args: Any) -> None:
    def send() -> None:
        from celery import current_app

        current_app.send_task(task, args=list(args))

    transaction.on_commit(send)
