"""Scheduled pulls from other TAXII 2.1 servers (Celery beat)."""

from __future__ import annotations

import logging

from celery import shared_task

from .services import due_sources, project_received, pull_source
from .stix.imports import BundleError

log = logging.getLogger(__name__)


@shared_task(name="interop.tasks.pull_due_sources")
def pull_due_sources() -> int:
    pulled = 0
    for source in due_sources():
        try:
            pull_source(source)
            pulled += 1
        except BundleError as exc:
            log.warning("pull %s refused: %s", source.name, exc)
        except Exception as exc:  # a partner's server down must not stop the other pulls
            log.warning("pull %s failed: %s", source.name, type(exc).__name__)
    return pulled


@shared_task(name="interop.tasks.project_received", acks_late=True)
def project_received_task(version_ids: list[int]) -> int:
    """Serve versions received from partners over TAXII (see services.project_versions)."""
    return project_received(version_ids)
