"""The node's TAXII 2.1 server driven over real HTTP by taxii2-client, with accounts of
different clearances: each sees exactly what its clearance and this node's entitlement allow."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from accounts.models import Role
from interop.models import ImportedReport, StixObject, TaxiiCollection
from interop.services import define_collection
from reports.models import Report, Status
from reports.services import content_of, revise_report

TAXII = "application/taxii+json;version=2.1"


@pytest.fixture
def world(
    transactional_db: Any,
    live_server: Any,
    make_user: Callable[..., Any],
    publish: Callable[..., Report],
) -> dict[str, Any]:
    admin = make_user(role=Role.TRUST_ADMIN, clearance="OFFICIAL")
    everything = define_collection(user=admin, title="Everything you may see")
    green = define_collection(
        user=admin, title="TLP green and clear", tlp=["green", "clear"], alias="green"
    )
    inbox = define_collection(user=admin, title="Partner drop box", can_read=True, can_write=True)
    reports = {
        "confidential": publish("chip_diversion"),
        "secret": publish("military_ai", classification="SECRET"),
        "official_green": publish(
            "other", classification="OFFICIAL", tlp="green", rel_to=["fvey", "eu", "jp"]
        ),
        "draft": publish("cloud_compute", status=Status.DRAFT),
    }
    users = {
        level: make_user(role=Role.ANALYST, clearance=level)
        for level in ("OFFICIAL", "CONFIDENTIAL", "SECRET")
    }
    return {
        "url": live_server.url + "/taxii2/",
        "collections": {"all": everything, "green": green, "inbox": inbox},
        "reports": reports,
        "users": users,
    }


def _client(world: dict[str, Any], level: str, collection: str = "all") -> Collection:
    user = world["users"][level]
    token = Token.objects.create(user=user).key
    key = world["collections"][collection].pk
    return Collection(f"{world['url']}api/collections/{key}/", user=user.username, password=token)


def _report_ids(objects: list[dict[str, Any]]) -> set[str]:
    return {o["id"].removeprefix("report--") for o in objects if o["type"] == "report"}


def _ids(world: dict[str, Any], *names: str) -> set[str]:
    return {str(world["reports"][n].pk) for n in names}


def test_discovery_and_collections_show_their_filters(world: dict[str, Any]) -> None:
    user = world["users"]["CONFIDENTIAL"]
    token = Token.objects.create(user=user).key
    server = Server(world["url"], user=user.username, password=token)
    assert server.title
    assert len(server.api_roots) == 1
    root: ApiRoot = server.api_roots[0]
    assert root.versions == [TAXII]
    by_title = {c.title: c for c in root.collections}
    assert set(by_title) == {"Everything you may see", "TLP green and clear", "Partner drop box"}
    assert "TLP GREEN, CLEAR" in by_title["TLP green and clear"].description
    assert by_title["Partner drop box"].can_write is True


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("OFFICIAL", ("official_green",)),
        ("CONFIDENTIAL", ("official_green", "confidential")),
        ("SECRET", ("official_green", "confidential", "secret")),
    ],
)
def test_each_clearance_sees_exactly_its_reports(
    world: dict[str, Any], level: str, expected: tuple[str, ...]
) -> None:
    objects = _client(world, level).get_objects().get("objects", [])
    assert _report_ids(objects) == _ids(world, *expected)
    # Every object served is either a shared definition or belongs to a report this reader may see.
    rows = StixObject.objects.filter(stix_id__in=[o["id"] for o in objects], is_latest=True)
    allowed = {world["reports"][n].pk for n in expected}
    assert all(r.report_id is None or r.report_id in allowed for r in rows)
    assert (
        max(r.classification for r in rows)
        <= {"OFFICIAL": 1, "CONFIDENTIAL": 3, "SECRET": 4}[level]
    )


def test_the_green_collection_serves_only_green(world: dict[str, Any]) -> None:
    objects = _client(world, "SECRET", "green").get_objects()["objects"]
    assert _report_ids(objects) == _ids(world, "official_green")
    assert {o["type"] for o in objects} >= {"extension-definition", "intelligence-subject"}


def test_filters_versions_and_paging(world: dict[str, Any], make_user: Callable[..., Any]) -> None:
    collection = _client(world, "CONFIDENTIAL")
    everything = collection.get_objects()["objects"]
    report_id = f"report--{world['reports']['confidential'].pk}"
    assert [o["id"] for o in collection.get_objects(type="report")["objects"]] == [
        o["id"] for o in everything if o["type"] == "report"
    ]
    assert {
        o["type"] for o in collection.get_objects(type=["incident", "location"])["objects"]
    } == {"incident", "location"}
    assert [o["id"] for o in collection.get_objects(id=report_id)["objects"]] == [report_id]
    assert len(collection.get_objects(spec_version="2.1")["objects"]) == len(everything)
    assert collection.get_objects(spec_version="2.0") == {"more": False}

    # A new version: `last` shows it, `first` the original, `all` both; added_after only the new.
    between = datetime.now(UTC)
    report = world["reports"]["confidential"]
    base = content_of(report.versions.get(version=1))
    revise_report(
        author=make_user(role=Role.RELEASER),
        report_id=report.pk,
        base_version=1,
        content=base.__class__(**{**base.__dict__, "title": "Revised title"}),
    )
    latest = collection.get_objects(id=report_id)["objects"]
    assert [o["name"] for o in latest] == ["Revised title"]
    assert [
        o["name"] for o in collection.get_objects(id=report_id, version="first")["objects"]
    ] == ["Invented chip_diversion report"]
    assert len(collection.get_objects(id=report_id, version="all")["objects"]) == 2
    newer = collection.get_objects(added_after=between)["objects"]
    assert newer
    assert all(
        o["modified"] > between.strftime("%Y-%m-%dT%H:%M:%S")
        for o in newer
        if o["type"] == "report"
    )
    assert len(collection.object_versions(report_id)["versions"]) == 2
    assert collection.get_object(report_id)["objects"][0]["name"] == "Revised title"

    # Paging: pages of 4 from first to last give the whole collection once, in order.
    full = collection.get_objects()["objects"]
    paged = [
        o["id"]
        for page in as_pages(collection.get_objects, per_request=4)
        for o in page.get("objects", [])
    ]
    assert paged == [o["id"] for o in full]
    assert len(paged) > 8
    manifest = [
        e["id"]
        for page in as_pages(collection.get_manifest, per_request=5)
        for e in page.get("objects", [])
    ]
    assert manifest == paged


def test_add_objects_imports_drafts_and_reports_status(world: dict[str, Any]) -> None:
    collection = _client(world, "CONFIDENTIAL", "inbox")
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--6b6ef9f6-2e3f-4c7e-9d0a-5d1f3f7b2a11",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": "Invented beacon domain",
        "pattern": "[domain-name:value = 'example.invalid']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }
    status = collection.add_objects({"objects": [indicator]})
    assert (status.status, status.total_count, status.success_count, status.failure_count) == (
        "complete",
        1,
        1,
        0,
    )
    status.refresh()
    assert status.success_count == 1
    imported = ImportedReport.objects.get(stix_id=indicator["id"])
    assert imported.report.status == Status.DRAFT
    assert imported.report.author == world["users"]["CONFIDENTIAL"]
    assert [o["id"] for o in collection.get_objects(type="indicator")["objects"]] == [
        indicator["id"]
    ]
    again = collection.add_objects({"objects": [indicator]})
    assert again.success_count == 1
    assert ImportedReport.objects.count() == 1


def _raw(world: dict[str, Any], method: str, path: str, **kwargs: Any) -> requests.Response:
    user = world["users"]["SECRET"]
    token = Token.objects.get_or_create(user=user)[0].key
    headers = {"Accept": TAXII, "Authorization": f"Token {token}", **kwargs.pop("headers", {})}
    return requests.request(method, world["url"] + path, headers=headers, timeout=30, **kwargs)


def test_content_negotiation_and_hostile_input(world: dict[str, Any]) -> None:
    inbox = world["collections"]["inbox"].pk
    objects = f"api/collections/{inbox}/objects/"
    assert _raw(world, "GET", "", headers={"Accept": "application/taxii+json"}).status_code == 200
    refused = _raw(world, "GET", "", headers={"Accept": "application/json"})
    assert refused.status_code == 406
    assert refused.headers["Content-Type"] == TAXII
    anonymous = requests.get(world["url"], headers={"Accept": TAXII}, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.json()["http_status"] == "401"
    before = (Report.objects.count(), StixObject.objects.count())
    post = {"Content-Type": TAXII}
    cases = [
        ("[" * 100_000 + "]" * 100_000, 400),
        ('{"objects": [], "objects": []}', 400),
        (b"\xff\xfe{}", 400),
        ('{"objects": [{"type": "indicator", "id": "indicator--nope"}]}', 400),
        ('{"objects": "many"}', 400),
        ("not json", 400),
    ]
    for body, expected in cases:
        reply = _raw(world, "POST", objects, data=body, headers=post)
        assert reply.status_code == expected, (body[:20], reply.text[:200])
        assert reply.headers["Content-Type"] == TAXII
        assert "title" in reply.json()
    assert (
        _raw(
            world, "POST", objects, data="{}", headers={"Content-Type": "application/json"}
        ).status_code
        == 415
    )
    big = _raw(world, "POST", objects, data=b"{" + b" " * (11 * 1024 * 1024) + b"}", headers=post)
    assert big.status_code == 413
    bad_field = _raw(
        world,
        "POST",
        objects,
        data=json.dumps(
            {
                "objects": [
                    {
                        "type": "indicator",
                        "spec_version": "2.1",
                        "id": "indicator--6b6ef9f6-2e3f-4c7e-9d0a-5d1f3f7b2a12",
                        "created": "yesterday",
                        "modified": "2026-03-01T00:00:00.000Z",
                    }
                ]
            }
        ),
        headers=post,
    )
    assert bad_field.status_code == 400
    assert bad_field.json()["details"]["field"] == "created"
    for query in ("limit=0", "limit=x", "next=%%%", "added_after=never", "match[version]=sometime"):
        assert _raw(world, "GET", f"api/collections/{inbox}/objects/?{query}").status_code == 400, (
            query
        )
    assert _raw(world, "GET", "api/collections/nope/objects/").status_code == 404
    assert _raw(world, "GET", "api/status/not-a-uuid/").status_code == 404
    assert (Report.objects.count(), StixObject.objects.count()) == before
    assert TaxiiCollection.objects.count() == 3
