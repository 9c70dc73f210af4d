"""A TCP proxy in front of the test's Redis that a test can cut: one worker sees a Redis restart
(every open connection reset, new ones refused for a while) and the Redis other tests share
keeps running."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a restarted server's kernel answers."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    closed: bool = False

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while not self.closed:
                readable, _, _ = select.select([source], [], [], 0.2)
                if not readable:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True
        _reset(self.client)
        _reset(self.upstream)


@dataclass
class BrokerProxy:
    target_host: str
    target_port: int
    refusing: bool = False
    pairs: list[_Pair] = field(default_factory=list)
    listener: socket.socket = field(init=False)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        threading.Thread(target=self._accept, name="broker-proxy", daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.refusing:
                _reset(client)
                continue
            client.setblocking(True)
            pair = _Pair(client, socket.create_connection((self.target_host, self.target_port)))
            self.pairs.append(pair)
            for source, target in ((pair.client, pair.upstream), (pair.upstream, pair.client)):
                threading.Thread(target=pair.pump, args=(source, target), daemon=True).start()

    def cut(self, seconds: float) -> None:
        """Reset every open connection and refuse new ones for `seconds`."""
        self.refusing = True
        for pair in list(self.pairs):
            pair.close()
        self.pairs.clear()
        time.sleep(seconds)
        self.refusing = False

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for pair in list(self.pairs):
            pair.close()
