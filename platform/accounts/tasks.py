"""Periodic upkeep of sign-in state; the work is in `second_factor`."""

from __future__ import annotations

from celery import shared_task

from . import second_factor


@shared_task(ignore_result=True)
def prune_sign_in_throttles() -> int:
    return second_factor.prune_throttles()
