"""The key ceremony, node side (runbook: infra/KEYS.md).

request: write what the root must vouch for (public keys and states; nothing secret).
sign: sign a request with the root key file (same as `python -m federation.protocol.ceremony
sign` on the offline machine). import: store a signed series and tell every partner (retried
until each acknowledges).
run: request + sign + import in one go, for a custodian who brings the root key to the node
(the local federation does this for its demo nodes). new-root: make an encrypted root key file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.services import command_line_actor, record
from core.selectors import this_node
from federation.protocol import ceremony
from federation.protocol.canonical import canonical_bytes, strict_loads
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import format_fingerprint
from federation.services import keys


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0] if __doc__ else ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["new-root", "request", "sign", "import", "run"])
        parser.add_argument("--root-key", type=Path, help="the encrypted root key file")
        parser.add_argument("--passphrase-file", type=Path, help="file holding its passphrase")
        parser.add_argument("--request", type=Path, help="request file (sign)")
        parser.add_argument("--series", type=Path, help="signed series file (import)")
        parser.add_argument("--out", type=Path, help="where request/sign write")
        parser.add_argument("--windows", type=int, default=ceremony.DEFAULT_WINDOWS)
        parser.add_argument("--step", type=int, default=ceremony.DEFAULT_STEP_S)

    def _root(self, options: dict[str, Any], node: str) -> Any:
        if not options["root_key"] or not options["passphrase_file"]:
            raise CommandError("--root-key and --passphrase-file are required")
        passphrase = ceremony.read_passphrase(options["passphrase_file"])
        if options["action"] == "new-root":
            return ceremony.new_root_key(node, options["root_key"], passphrase)
        return ceremony.load_root_key(options["root_key"], passphrase, node)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        node = this_node().code
        try:
            if action == "new-root":
                root = self._root(options, node)
                self.stdout.write(f"root {root.kid}")
                self.stdout.write(format_fingerprint(root.public.fingerprint))
                return
            if action == "request":
                self._write(options, canonical_bytes(keys.ceremony_request()))
                return
            if action == "sign":
                if not options["request"]:
                    raise CommandError("--request is required")
                request = strict_loads(options["request"].read_bytes())
                self._write(options, self._sign(options, request))
                return
            if action == "import":
                if not options["series"]:
                    raise CommandError("--series is required")
                self._import(strict_loads(options["series"].read_bytes()))
                return
            self._import(strict_loads(self._sign(options, keys.ceremony_request())))
        except (ProtocolError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None

    def _sign(self, options: dict[str, Any], request: Any) -> bytes:
        parsed = ceremony.parse_request(request)
        root = self._root(options, str(parsed["node"]))
        for line in ceremony.describe(parsed):
            self.stdout.write(line)
        series = ceremony.sign_series(
            parsed,
            root,
            start=int(time.time()),
            windows=options["windows"],
            step=options["step"],
        )
        return canonical_bytes(ceremony.series_document(series, root))

    def _write(self, options: dict[str, Any], data: bytes) -> None:
        if options["out"]:
            options["out"].write_bytes(data)
            self.stdout.write(f"written to {options['out']}")
        else:
            self.stdout.write(data.decode())

    def _import(self, document: Any) -> None:
        # import_series owes the new manifest to every partner; it goes out after the commit.
        with transaction.atomic():
            stored = keys.import_series(document)
            record(
                command_line_actor(),
                "manifest.import",
                f"v{stored[0].version}-v{stored[-1].version}",
                {"windows": len(stored), "root": keys.root_fingerprint()},
            )
        end = time.strftime("%Y-%m-%d %H:%M", time.gmtime(stored[-1].valid_until))
        self.stdout.write(
            json.dumps({"versions": [stored[0].version, stored[-1].version], "until": end})
        )
        self.stdout.write(keys.root_fingerprint())
