"""Signal and version hooks: sign-ins and report releases are audited wherever they happen
(web UI, Django admin, analyst API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest

from core.markings import Classification
from core.selectors import this_node
from reports.models import ReportVersion, Status

from . import guard
from .services import record


def _client(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", ""), "path": request.path[:200]}


def on_signed_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    second = bool(request is not None and request.session.get("web_second_factor"))
    record(user, "auth.sign_in", user.get_username(), {**_client(request), "totp": second})


def on_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    record("anonymous", "auth.sign_in_failed", username, {**_client(request), "stage": "password"})


def record_report_versions(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOK: every version of a local report (draft, publication, withdrawal) is
    audited, in the same transaction as the version itself, whichever door wrote it."""
    me = this_node().code
    for version in versions:
        if version.report.origin == me:
            _record_report_version(version)


_VERSION_ACTIONS: dict[str, str] = {
    Status.DRAFT: "report.draft",
    Status.WITHDRAWN: "report.withdraw",
}


def _record_report_version(version: ReportVersion) -> None:
    report = version.report
    action = _VERSION_ACTIONS.get(version.status, "report.publish")
    record(
        version.author,
        action,
        str(report.pk),
        {
            "version": version.version,
            "classification": Classification(version.classification).name,
            "rel_to": list(version.rel_to),
        },
    )


def ensure_guard(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate: install the append-only trigger where the table was made without the
    migration (test databases built with --no-migrations, `migrate --run-syncdb`)."""
    connection = connections[using]
    if guard.TABLE in connection.introspection.table_names():
        guard.install(connection)
