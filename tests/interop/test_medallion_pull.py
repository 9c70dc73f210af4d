"""Pull a collection of a real medallion 3.0.0 server (its own sample data) into drafts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from taxii2client.v21 import Collection

from accounts.models import Role
from interop.models import ImportedObject, ImportedReport, PullSource
from interop.services import pull_source, save_pull_source
from reports.models import Report, Status

DATA = Path(__file__).parent / "data" / "medallion_default_data.json"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    work = tmp_path_factory.mktemp("medallion")
    data = work / "data.json"
    data.write_text(DATA.read_text().replace("http://localhost:5000", base))
    config = work / "config.json"
    config.write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(data),
                },
                "users": {"puller": "Invented-Password-1"},
                "taxii": {"max_page_size": 100},
            }
        )
    )
    medallion_bin = Path(sys.executable).with_name("medallion")
    process = subprocess.Popen(
        [str(medallion_bin), "--host", "127.0.0.1", "--port", str(port), str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("medallion did not start")
        yield f"{base}/trustgroup1/collections/{COLLECTION}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


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
