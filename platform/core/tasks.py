from __future__ import annotations

import platform

from celery import shared_task
from django.conf import settings


@shared_task(ignore_result=False)
def runtime_probe() -> dict[str, str]:
    """Answers which node and which `platform` module a worker runs (deployment checks)."""
    return {
        "node": settings.NODE_CODE,
        "platform_module": platform.__file__,
        "python": platform.python_version(),
    }
