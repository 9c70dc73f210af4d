"""A partner in a thread: a real HTTP server answering as a fake partner would, for tests in
which the node under test calls out (delivery, catch-up, manifest fetches and pushes)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from federation.models import Partner
from federation.protocol.canonical import canonical_bytes, strict_loads

from .partners import FakePartner

Answer = Callable[[str, str, Any], tuple[int, Any]]
"""``answer(method, path, parsed body)`` -> (HTTP status, JSON reply)."""


@dataclass
class PartnerServer:
    answer: Answer
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    """The headers of each request, in the order of `requests`."""
    url: str = ""


def partner_servers() -> Iterator[Callable[[Answer], PartnerServer]]:
    """Generator behind the `partner_server` fixture: start servers, shut them all down."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> PartnerServer:
        state = PartnerServer(answer)

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = strict_loads(raw) if raw else None
                state.headers.append(dict(self.headers.items()))
                state.requests.append((self.command, self.path, body))
                status, reply = state.answer(self.command, self.path, body)
                data = canonical_bytes(reply)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _reply

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def point_at(partner: FakePartner, url: str) -> None:
    Partner.objects.filter(code=partner.code).update(base_url=url)
