"""The restore drill: a node is backed up, keeps receiving, is destroyed (database dropped, data
directory with its keys wiped), restored from the backup into fresh services, and catches up
from its partner with nothing lost or duplicated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import chip_report
from tests.e2e.conftest import Federation, wait_until

pytestmark = pytest.mark.e2e


def _publish(fed: Federation, n: int, label: str) -> list[str]:
    body: dict[str, Any] = chip_report()
    body["markings"] = {**body["markings"], "classification": "OFFICIAL", "rel_to": ["fvey"]}
    return [fed.publish("us", {**body, "title": f"Restore drill {label} {i}"}) for i in range(n)]


def _held(fed: Federation, ids: list[str]) -> dict[str, int]:
    out = fed.manage("uk", "federation_status", "--reports", ",".join(ids))
    return json.loads(out.strip().splitlines()[-1]).get("versions", {})


def _all_held(fed: Federation, ids: list[str]) -> bool:
    return set(_held(fed, ids)) == set(ids)


def test_a_node_restored_from_backup_catches_up_with_nothing_lost_or_duplicated(
    federation: Federation, tmp_path: Path
) -> None:
    fed = federation
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("invented drill passphrase 7f3a")
    passphrase.chmod(0o600)
    before = _publish(fed, 5, "before")
    wait_until(lambda: _all_held(fed, before), 60, "uk to hold the first reports")
    backup = tmp_path / "uk.backup"
    fed.manage("uk", "backup_node", str(backup), "--passphrase-file", str(passphrase))
    assert backup.stat().st_mode & 0o077 == 0
    after = _publish(fed, 4, "after the backup")
    wait_until(lambda: _all_held(fed, after), 60, "uk to hold the later reports")

    # uk is lost: processes, database and data directory (keys included)
    fed.net.stop_worker("uk")
    fed.net.stop_web("uk")
    data_dir = Path(fed.net.nodes["uk"].env["NODE_DATA_DIR"])
    shutil.rmtree(data_dir)
    fed.manage("uk", "ensure_database", "--recreate")
    fed.manage("uk", "restore_node", str(backup), "--passphrase-file", str(passphrase))
    assert (data_dir / "keys").is_dir()
    fed.net.start_web("uk")
    fed.net.start_worker("uk")
    fed.net.wait_until_up("uk")

    # the restored uk has the first five; the next push shows it the hole and it pulls the rest
    last = _publish(fed, 1, "after the restore")
    everything = before + after + last
    wait_until(lambda: _all_held(fed, everything), 120, "the restored uk to catch up")
    held = _held(fed, everything)
    lost = [rid for rid in everything if rid not in held]
    duplicated = [rid for rid, n in held.items() if n != 1]
    print(
        f"restore drill: sent {len(everything)}, held {len(held)}, lost {len(lost)}, "
        f"duplicated {len(duplicated)}"
    )
    assert not lost
    assert not duplicated
