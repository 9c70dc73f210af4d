"""One description per category (reports.categories) drives both the report editor and the
API's validation of details. Walked field by field for every category: the form renders every
field and gives back what it showed; a value typed as analysts type it is saved as the API
saves it; a bad value in any field is refused by the API and by the form alike, naming its
full path. And a field added to a description is offered, saved and refused by both with no
other edit."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from reports import details as details_module
from reports.categories import CATEGORIES, CategoryDetails, Detail, Kind
from reports.details import DETAILS_BY_CATEGORY, details_serializer, validate_details
from reports.models import Report, ReportVersion
from reports.services import create_report

from ..conftest import chip_report
from .conftest import content, html, signed_in
from .test_editor import base_form

# A value of each pattern-checked field (the test cannot make one up from a regex).
PATTERN_EXAMPLES = {"eccn": "3A090.a"}


def _one(detail: Detail) -> Any:
    """A valid stored value of a field that is no group."""
    if detail.pattern:
        value = PATTERN_EXAMPLES[detail.name]
        assert re.match(detail.pattern, value), detail.name
        return value
    if detail.many and detail.kind is Kind.TEXT:
        return "INV-0001"  # one of a list typed into one box: no spaces, no commas
    if detail.kind is Kind.CHOICE:
        # not the default, so a value that was lost would show
        return next(value for value in detail.values if value != detail.default)
    return {
        Kind.CHIP: "H100 SXM",
        Kind.COUNTRY: "SG",
        Kind.INTEGER: 12_000,
        Kind.DECIMAL: "3.2e25",
    }.get(detail.kind, f"Invented {detail.label.lower()}"[: detail.max_length])


def sample(detail: Detail) -> Any:
    """A valid stored value of any field: every field of a group filled, one row of a list."""
    if detail.group is not None:
        row = {leaf.name: sample(leaf) for leaf in detail.group.fields}
        return [row] if detail.many else row
    return [_one(detail)] if detail.many else _one(detail)


def full_details(spec: CategoryDetails) -> dict[str, Any]:
    return {detail.name: sample(detail) for detail in spec.fields}


def typed(detail: Detail) -> Any:
    """A field's sample as an analyst types it: countries by name, numbers with separators."""
    if detail.kind is Kind.CHOICE and detail.many:
        return [_one(detail)]
    one = {"SG": "Singapore", 12_000: "12,000"}.get(_one(detail), _one(detail))
    return str(one)


def leaves(spec: CategoryDetails) -> list[tuple[str, Detail]]:
    """Every field that holds a value, with its path (a list's rows by the first)."""
    return [(path, detail) for path, detail in spec.paths() if detail.group is None]


def typed_form(spec: CategoryDetails) -> dict[str, Any]:
    return base_form(spec.category, **{path: typed(detail) for path, detail in leaves(spec)})


def api_body(spec: CategoryDetails, details: dict[str, Any]) -> dict[str, Any]:
    return chip_report(category=spec.category, details=details)


EVERY_FIELD = [
    pytest.param(spec, path, detail, id=f"{spec.category}:{path}")
    for spec in CATEGORIES.values()
    for path, detail in leaves(spec)
]
EVERY_CATEGORY = [pytest.param(spec, id=spec.category) for spec in CATEGORIES.values()]


class _Form(HTMLParser):
    """What a browser submits from the report form as shown: text inputs and selects with
    their values, checked boxes, textareas' text."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._selected: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.append((a["name"], a.get("value") or "on"))
            elif a.get("type") != "submit":
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._selected, self._first = a.get("name"), None, None
        elif tag == "option" and self._select is not None:
            self._first = a.get("value", "") if self._first is None else self._first
            if "selected" in a:
                self._selected = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values.append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            value = self._selected if self._selected is not None else self._first
            self.values.append((self._select, value or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)


def submitted(page: str) -> dict[str, Any]:
    """The report form of `page` as a browser submits it: each name with its values."""
    form = page.split('id="report-form"', 1)[1].split("</form>", 1)[0]
    parser = _Form()
    parser.feed(form)
    data: dict[str, Any] = {}
    for name, value in parser.values:
        data.setdefault(name, []).append(value)
    return data


@pytest.mark.parametrize("spec", EVERY_CATEGORY)
def test_the_form_shows_every_field_and_gives_back_what_it_showed(
    spec: CategoryDetails, make_web_user: Any
) -> None:
    stored = validate_details(spec.category, full_details(spec))
    author = make_web_user(Role.ANALYST)
    version = create_report(
        author=author, content=content(category=spec.category, details=stored), status="draft"
    )
    client = signed_in(author)
    page = html(client.get(f"/reports/{version.report_id}/edit/"))
    data = submitted(page)
    for path, _detail in leaves(spec):
        assert path in data, f"the form has no input {path}"
        assert any(data[path]), f"{path} is not filled in from the stored version"
    data["_action"] = "draft"
    response = client.post(f"/reports/{version.report_id}/edit/", data)
    assert response.status_code == 302, html(response)[:3000]
    assert ReportVersion.objects.get(report_id=version.report_id, version=2).details == stored


@pytest.mark.parametrize("spec", EVERY_CATEGORY)
def test_every_field_typed_in_the_form_is_saved_as_the_api_saves_it(
    spec: CategoryDetails, client_as: Any, releaser: APIClient
) -> None:
    response = client_as(Role.ANALYST).post("/reports/new/", typed_form(spec))
    assert response.status_code == 302, html(response)[:3000]
    by_form = Report.objects.get().versions.get().details
    answer = releaser.post("/api/v1/reports/", api_body(spec, full_details(spec)), format="json")
    assert answer.status_code == 201, answer.json()
    by_api = ReportVersion.objects.get(report_id=answer.json()["id"]).details
    assert by_form == by_api == validate_details(spec.category, full_details(spec))
    for path, _detail in leaves(spec):
        assert _at(by_form, path) not in (None, "", []), f"{path} was not saved"


def _at(details: dict[str, Any], path: str) -> Any:
    value: Any = details
    for part in path.split(".")[1:]:
        value = value[int(part)] if part.isdigit() else value.get(part)
    return value


def _bad(detail: Detail) -> Any:
    """A value of the right JSON type that the field refuses."""
    if detail.kind is Kind.INTEGER:
        assert detail.min_value is not None, detail.name
        return detail.min_value - 1
    if detail.kind is Kind.COUNTRY:
        return "XX"
    if detail.kind is Kind.CHOICE:
        return "nonsense"
    if detail.kind is Kind.DECIMAL:
        return "lots"
    assert detail.max_length is not None, f"{detail.name}: a text with no limit"
    return "x" * (detail.max_length + 1)


def _bad_typed(detail: Detail) -> Any:
    """What an analyst might type that the field refuses."""
    if detail.kind is Kind.CHOICE and detail.many:
        return ["nonsense"]
    return {Kind.INTEGER: "many", Kind.COUNTRY: "Atlantis"}.get(detail.kind, _bad(detail))


def _put(details: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")[1:]
    target: Any = details
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value


def _error_path(path: str, detail: Detail) -> str:
    """Where the error is: a list's first value for a list of values."""
    return f"{path}.0" if detail.many else path


@pytest.mark.parametrize(("spec", "path", "detail"), EVERY_FIELD)
def test_the_api_refuses_a_bad_value_naming_its_full_path(
    spec: CategoryDetails, path: str, detail: Detail, releaser: APIClient
) -> None:
    details = full_details(spec)
    _put(details, path, [_bad(detail)] if detail.many else _bad(detail))
    answer = releaser.post("/api/v1/reports/", api_body(spec, details), format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {_error_path(path, detail)}
    assert Report.objects.count() == 0


@pytest.mark.parametrize(("spec", "path", "detail"), EVERY_FIELD)
def test_the_form_refuses_a_bad_value_beside_its_field(
    spec: CategoryDetails, path: str, detail: Detail, client_as: Any
) -> None:
    data = typed_form(spec)
    data[path] = _bad_typed(detail)
    response = client_as(Role.ANALYST).post("/reports/new/", data)
    assert response.status_code == 400
    page = html(response)
    field_id = "f-" + path.replace(".", "-").replace("_", "-")
    assert f'id="{field_id}-error"' in page, f"no error beside {path}"
    if detail.many:
        assert "item 1:" in page.split(f'id="{field_id}-error"', 1)[1][:200]
    assert f'href="#{field_id}"' in page  # the error summary links to it
    assert Report.objects.count() == 0


def test_a_field_added_to_a_description_is_in_the_form_and_the_api(
    monkeypatch: pytest.MonkeyPatch, client_as: Any, releaser: APIClient
) -> None:
    spec = CATEGORIES["chip_diversion"]
    vessel = Detail("vessel", "Vessel", max_length=40, section="Shipment", help="Ship or flight")
    added = replace(spec, fields=(*spec.fields, vessel))
    # the one edit, and the API's schema built from it as at start-up
    monkeypatch.setitem(CATEGORIES, "chip_diversion", added)
    monkeypatch.setitem(DETAILS_BY_CATEGORY, "chip_diversion", details_serializer(added))
    monkeypatch.setattr(details_module, "_VALIDATORS", {})
    client = client_as(Role.ANALYST)

    page = html(client.get("/reports/new/"))
    shipment = page.split("<legend>Shipment</legend>", 1)[1].split("</fieldset>", 1)[0]
    assert 'name="details.vessel"' in shipment
    assert "Ship or flight" in shipment

    saved = client.post("/reports/new/", typed_form(added) | {"details.vessel": "MV Invented"})
    assert saved.status_code == 302, html(saved)[:3000]
    assert ReportVersion.objects.get().details["vessel"] == "MV Invented"

    refused = "Ensure this field has no more than 40 characters."
    too_long = client.post("/reports/new/", typed_form(added) | {"details.vessel": "x" * 41})
    assert too_long.status_code == 400
    summary = html(too_long).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f"Shipment › Vessel: {refused}" in summary

    body = api_body(added, full_details(added) | {"vessel": "x" * 41})
    answer = releaser.post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 400
    assert answer.json() == {
        "details.vessel": ["Ensure this field has no more than 40 characters."]
    }
    stored = releaser.post("/api/v1/reports/", api_body(added, full_details(added)), format="json")
    assert stored.status_code == 201, stored.json()
