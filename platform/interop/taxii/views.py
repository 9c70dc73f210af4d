"""TAXII 2.1 endpoints (discovery, API root, collections, objects, manifest, versions, status).
Thin: reads go through interop.selectors, the one write through interop.services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.selectors import this_node

from .. import services
from ..models import StixObject, TaxiiCollection
from ..selectors import (
    BadRequest,
    ObjectQuery,
    decode_next,
    describe_filter,
    encode_next,
    get_collection,
    page_objects,
    readable_collections,
    status_of,
)
from .http import (
    MAX_CONTENT_LENGTH,
    TAXII_MEDIA,
    not_found,
    read_json_body,
    taxii_response,
    taxii_view,
)

MAX_PAGE = 1000
DEFAULT_PAGE = 100
STIX_MEDIA = "application/stix+json;version=2.1"


def taxii_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _absolute(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


@taxii_view()
def discovery(request: HttpRequest) -> HttpResponse:
    node = this_node()
    root = _absolute(request, "taxii:api-root")
    return taxii_response(
        {
            "title": f"{node.name} TAXII 2.1 server",
            "description": "Reports this account may see under its clearance and this node's "
            "entitlement.",
            "default": root,
            "api_roots": [root],
        }
    )


@taxii_view()
def api_root(request: HttpRequest) -> HttpResponse:
    return taxii_response(
        {
            "title": f"{this_node().name} reports",
            "versions": [TAXII_MEDIA],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


def _collection_resource(collection: TaxiiCollection) -> dict[str, Any]:
    description = collection.description.strip()
    rules = f"Filter: {describe_filter(collection)}."
    body: dict[str, Any] = {
        "id": str(collection.pk),
        "title": collection.title,
        "description": f"{description} {rules}".strip(),
        "can_read": collection.can_read,
        "can_write": collection.can_write,
        "media_types": [STIX_MEDIA],
    }
    if collection.alias:
        body["alias"] = collection.alias
    return body


@taxii_view()
def collections(request: HttpRequest) -> HttpResponse:
    rows = [_collection_resource(c) for c in readable_collections(request.user)]
    return taxii_response({"collections": rows} if rows else {})


@taxii_view()
def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = get_collection(request.user, collection_id)
    if found is None:
        return not_found("no such collection")
    return taxii_response(_collection_resource(found))


def _split(request: HttpRequest, name: str) -> tuple[str, ...]:
    values = [v.strip() for raw in request.GET.getlist(name) for v in raw.split(",")]
    if any(len(v) > 120 for v in values) or len(values) > 100:
        raise BadRequest(f"{name}: at most 100 values of 120 characters")
    return tuple(v for v in values if v)


def _query(request: HttpRequest, *, versions_default: tuple[str, ...] = ("last",)) -> ObjectQuery:
    limit = DEFAULT_PAGE
    if "limit" in request.GET:
        try:
            limit = int(request.GET["limit"])
        except ValueError:
            raise BadRequest("limit: expected a positive integer") from None
        if limit < 1:
            raise BadRequest("limit: expected a positive integer")
    added_after = None
    if request.GET.get("added_after"):
        try:
            added_after = datetime.fromisoformat(request.GET["added_after"])
        except ValueError:
            raise BadRequest(
                "added_after: expected a timestamp such as 2026-09-01T00:00:00Z"
            ) from None
        if added_after.tzinfo is None:
            raise BadRequest("added_after: the timestamp needs a time zone (Z)")
    token = request.GET.get("next")
    return ObjectQuery(
        types=_split(request, "match[type]"),
        ids=_split(request, "match[id]"),
        versions=_split(request, "match[version]") or versions_default,
        spec_versions=_split(request, "match[spec_version]"),
        added_after=added_after,
        limit=min(limit, MAX_PAGE),
        next=decode_next(token) if token else None,
    )


def _readable(request: HttpRequest, collection_id: str) -> TaxiiCollection | HttpResponse:
    found = get_collection(request.user, collection_id)
    if found is None:
        return not_found("no such collection")
    if not found.can_read:
        return taxii_response(
            {
                "title": "Forbidden",
                "http_status": "403",
                "description": "this collection is write-only",
            },
            403,
        )
    return found


def _page(
    request: HttpRequest,
    found: TaxiiCollection,
    query: ObjectQuery,
    object_id: str | None = None,
    with_body: bool = False,
) -> tuple[list[StixObject], bool, dict[str, str]]:
    rows, more = page_objects(request.user, found, query, object_id=object_id, with_body=with_body)
    headers = {}
    if rows:
        headers = {
            "X-TAXII-Date-Added-First": taxii_time(rows[0].date_added),
            "X-TAXII-Date-Added-Last": taxii_time(rows[-1].date_added),
        }
    return rows, more, headers


def _envelope(rows: list[StixObject], more: bool) -> str:
    """The envelope as text: object bodies go out as PostgreSQL rendered them (no re-encoding)."""
    head = '{"more":' + ("true" if more else "false")
    if more:
        head += ',"next":"' + encode_next(rows[-1]) + '"'
    if not rows:
        return head + "}"
    texts = [str(getattr(r, "body_text")) for r in rows]  # noqa: B009 (annotated by the selector)
    return head + ',"objects":[' + ",".join(texts) + "]}"


@taxii_view(methods=("GET", "POST"))
def objects(request: HttpRequest, collection_id: str) -> HttpResponse:
    if request.method == "POST":
        return _add_objects(request, collection_id)
    found = _readable(request, collection_id)
    if isinstance(found, HttpResponse):
        return found
    rows, more, headers = _page(request, found, _query(request), with_body=True)
    return taxii_response(_envelope(rows, more), headers=headers)


def _add_objects(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = get_collection(request.user, collection_id)
    if found is None:
        return not_found("no such collection")
    if not found.can_write:
        return taxii_response(
            {
                "title": "Forbidden",
                "http_status": "403",
                "description": "this collection is read-only",
            },
            403,
        )
    data = read_json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise BadRequest("expected a TAXII envelope with a list of objects")
    status = services.add_objects(user=request.user, collection=found, data=data)  # type: ignore[arg-type]
    return taxii_response(_status_resource(status), status=202)


@taxii_view()
def object_detail(request: HttpRequest, collection_id: str, object_id: str) -> HttpResponse:
    found = _readable(request, collection_id)
    if isinstance(found, HttpResponse):
        return found
    rows, more, headers = _page(
        request, found, _query(request), object_id=object_id, with_body=True
    )
    if not rows and "next" not in request.GET:
        return not_found("no such object in this collection")
    return taxii_response(_envelope(rows, more), headers=headers)


@taxii_view()
def object_versions(request: HttpRequest, collection_id: str, object_id: str) -> HttpResponse:
    found = _readable(request, collection_id)
    if isinstance(found, HttpResponse):
        return found
    rows, more, headers = _page(
        request, found, _query(request, versions_default=("all",)), object_id=object_id
    )
    if not rows and "next" not in request.GET:
        return not_found("no such object in this collection")
    body: dict[str, Any] = {"more": more, "versions": [taxii_time(r.version) for r in rows]}
    if more:
        body["next"] = encode_next(rows[-1])
    return taxii_response(body, headers=headers)


@taxii_view()
def manifest(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = _readable(request, collection_id)
    if isinstance(found, HttpResponse):
        return found
    rows, more, headers = _page(request, found, _query(request))
    body: dict[str, Any] = {"more": more}
    if more:
        body["next"] = encode_next(rows[-1])
    if rows:
        body["objects"] = [
            {
                "id": r.stix_id,
                "date_added": taxii_time(r.date_added),
                "version": taxii_time(r.version),
                "media_type": f"application/stix+json;version={r.spec_version}",
            }
            for r in rows
        ]
    return taxii_response(body, headers=headers)


def _status_resource(status: Any) -> dict[str, Any]:
    return {
        "id": str(status.pk),
        "status": status.status,
        "request_timestamp": taxii_time(status.request_timestamp),
        "total_count": status.total_count,
        "success_count": len(status.successes),
        "successes": status.successes,
        "failure_count": len(status.failures),
        "failures": status.failures,
        "pending_count": len(status.pendings),
        "pendings": status.pendings,
    }


@taxii_view()
def status(request: HttpRequest, status_id: str) -> HttpResponse:
    found = status_of(request.user, status_id)
    if found is None:
        return not_found("no such status")
    return taxii_response(_status_resource(found))
