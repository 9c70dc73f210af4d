"""The editor keeps what is typed: countries by name, numbers with separators, errors that name
where they are, unknown chips classified from entered specs, Publish only for releasers."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from reports.models import ReportVersion
from web.countries import UnknownCountry, parse_country

from .conftest import html
from .test_editor import form


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Singapore", "SG"),
        ("singapore", "SG"),
        ("SG", "SG"),
        ("sgp", "SG"),
        ("Singapore (SG)", "SG"),
        ("Hong Kong", "HK"),
        ("UK", "GB"),
        ("Russia", "RU"),
        ("Viet Nam", "VN"),
    ],
)
def test_countries_are_read_from_names_and_codes(typed: str, code: str) -> None:
    assert parse_country(typed) == code


def test_a_text_that_names_no_country_is_refused_not_truncated() -> None:
    with pytest.raises(UnknownCountry, match="Singapur"):
        parse_country("Singapur")


def test_singapore_typed_in_full_is_saved_as_sg(client_as: Any) -> None:
    response = client_as(Role.ANALYST).post(
        "/reports/new/",
        form(
            **{
                "details.consignee.country": "Singapore",
                "details.intermediaries.0.country": "Hong Kong",
                "details.route": "United States > Singapore > Malaysia > China",
                "details.items.0.quantity": "12,000",
                "details.value_usd": "12,000,000",
            }
        ),
    )
    assert response.status_code == 302, html(response)
    details = ReportVersion.objects.get().details
    assert details["consignee"]["country"] == "SG"
    assert details["intermediaries"][0]["country"] == "HK"
    assert details["route"] == ["US", "SG", "MY", "CN"]
    assert details["items"][0]["quantity"] == 12_000
    assert details["value_usd"] == 12_000_000


def test_the_country_box_does_not_cut_what_is_typed(client_as: Any) -> None:
    page = html(client_as(Role.ANALYST).get("/reports/new/"))
    box = page.split('name="details.consignee.country"', 1)[1].split(">", 1)[0]
    assert 'maxlength="2"' not in box
    assert 'list="countries"' in box
    assert '<option value="Singapore">SG</option>' in page


def test_an_unknown_country_is_an_error_at_its_field_with_the_text_kept(client_as: Any) -> None:
    response = client_as(Role.ANALYST).post(
        "/reports/new/", form(**{"details.intermediaries.0.country": "Atlantis"})
    )
    assert response.status_code == 400
    page = html(response)
    assert "“Atlantis” is not a country we know" in page
    assert 'value="Atlantis"' in page
    assert ReportVersion.objects.count() == 0


def test_every_error_names_its_full_place(client_as: Any) -> None:
    response = client_as(Role.ANALYST).post(
        "/reports/new/",
        form(
            **{
                "details.intermediaries.0.name": "",
                "details.intermediaries.0.role": "reseller",
                "details.items.0.quantity": "many",
            }
        ),
    )
    summary = html(response).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Intermediary 1 › Name" in summary
    assert "Item 1 › Quantity" in summary


def test_publish_is_offered_only_to_releasers(client_as: Any) -> None:
    analyst = html(client_as(Role.ANALYST).get("/reports/new/"))
    releaser = html(client_as(Role.RELEASER).get("/reports/new/"))
    assert 'value="publish"' not in analyst
    assert "Publishing needs the releaser role" in analyst
    assert 'value="publish"' in releaser


def test_an_unknown_chip_is_classified_from_specs_entered_in_the_form(client_as: Any) -> None:
    client = client_as(Role.ANALYST)
    row = "details.items.0"
    unknown = html(client.get("/reports/chip-verdict/", {"row": row, f"{row}.model": "Zeta X9"}))
    assert "not in the chip catalogue" in unknown
    assert f'name="{row}.spec_tops8"' in unknown
    assert "API" not in unknown
    verdict = html(
        client.get(
            "/reports/chip-verdict/",
            {
                "row": row,
                f"{row}.model": "Zeta X9",
                f"{row}.quantity": "100",
                f"{row}.spec_tops8": "1,979",
                f"{row}.spec_die": "814",
                f"{row}.spec_dc": "on",
            },
        )
    )
    assert "3A090.a" in verdict
    assert "From the specs entered" in verdict
