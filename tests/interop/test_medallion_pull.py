"""Pull a collection of a real medallion 3.0.0 server (its own sample data) into drafts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taxii2client.v21 import Collection

from accounts.models import Role
from interop.models import ImportedObject, ImportedReport, PullSource
from interop.services import pull_source, save_pull_source
from reports.models import Report, Status
from tests.support.medallion import medallion

__all__ = ["medallion"]  # a fixture


def test_pull_from_medallion_makes_drafts_and_keeps_the_rest(
    medallion: str, make_user: Callable[..., Any]
) -> None:
    analyst = make_user(role=Role.ANALYST, clearance="CONFIDENTIAL")
    source = save_pull_source(
        user=analyst,
        name="partner sandbox",
        collection_url=medallion,
        username="puller",
        secret="Invented-Password-1",
        interval_minutes=30,
    )
    served = Collection(medallion, user="puller", password="Invented-Password-1").get_objects(
        spec_version="2.1"
    )["objects"]
    subjects = {o["id"] for o in served if o["type"] in ("indicator", "malware")}
    assert subjects  # the sample data has indicators and malware

    result = pull_source(source)
    drafts = ImportedReport.objects.filter(run=result.run).select_related("report")
    assert {d.stix_id for d in drafts} == subjects
    assert all(
        d.report.status == Status.DRAFT
        and d.report.author == analyst
        and d.source == "pull:partner sandbox"
        for d in drafts
    )
    kept = set(ImportedObject.objects.filter(mapped=False).values_list("stix_type", flat=True))
    assert kept == {o["type"] for o in served if o["type"] not in ("indicator", "malware")}
    source.refresh_from_db()
    assert source.last_pulled_at is not None
    assert source.added_after
    assert "drafts" in source.last_result

    # The next pull asks only for what was added since; a full re-pull creates nothing new.
    assert pull_source(source).new_objects == []
    PullSource.objects.filter(pk=source.pk).update(added_after="")
    source.refresh_from_db()
    count = Report.objects.count()
    again = pull_source(source)
    assert again.run is None
    assert Report.objects.count() == count


def test_a_pull_source_must_not_reach_a_private_address(
    medallion: str, make_user: Callable[..., Any], settings: Any
) -> None:
    """As for partners: the node never calls an address outside FEDERATION_ALLOWED_NETWORKS,
    and the refusal says nothing about what, if anything, answers there."""
    import pytest
    from django.core.exceptions import ValidationError

    from interop.services import PullFailed

    analyst = make_user(role=Role.ANALYST, clearance="CONFIDENTIAL")
    with pytest.raises(ValidationError) as refused:
        save_pull_source(user=analyst, name="odd", collection_url="ftp://192.0.2.1/taxii/")
    assert "collection_url" in refused.value.message_dict
    source = save_pull_source(user=analyst, name="inside", collection_url=medallion)
    settings.FEDERATION_ALLOWED_NETWORKS = []  # as in production: loopback is not allowed
    with pytest.raises(PullFailed, match="may not be called"):
        pull_source(source)
    source.refresh_from_db()
    assert source.last_result.startswith("refused: ")
    assert "loopback, private or link-local" in source.last_result
    assert not ImportedReport.objects.exists(), "nothing was fetched"
