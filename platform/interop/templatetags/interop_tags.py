"""Small STIX blocks for the report and case pages: export links, and where an imported draft
came from with the objects kept as received."""

from __future__ import annotations

from typing import Any

from django import template

from cases.models import Case
from reports.models import Report

from ..selectors import import_of, imported_objects_of

register = template.Library()


@register.inclusion_tag("interop/_report_stix.html")
def report_stix(report: Report) -> dict[str, Any]:
    imported = import_of(report)
    kept = list(imported_objects_of(report).filter(mapped=False)[:50]) if imported else []
    return {"report": report, "imported": imported, "kept": kept}


@register.inclusion_tag("interop/_case_stix.html")
def case_stix(case: Case) -> dict[str, Any]:
    return {"case": case}
