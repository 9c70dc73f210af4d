"""A real medallion 3.0.0 TAXII 2.1 server with its own sample data, for pull tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "interop" / "data" / "medallion_default_data.json"
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
