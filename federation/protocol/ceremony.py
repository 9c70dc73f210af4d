"""The offline root-key ceremony: sign a node's key manifests ahead of time.

The node's root key never lives on an online host. It sits in a passphrase-encrypted PKCS#8
file (`cryptography`'s BestAvailableEncryption) on the custodian's offline media. The online
node exports a *ceremony request* (the public halves of its online keys and their states, the
next manifest version: nothing secret); the custodian signs, with the root, a *series* of
manifests, one per validity window (window ``i`` is issued at ``start + i * step`` and valid
for 7 days), and the node imports the series and serves, at any moment, the highest version
whose window has opened. No online process signs with the root.

A new ceremony (renewal before the series runs out, or after a rotation or a revocation)
starts at a version above every version signed before, so partners refuse the superseded
windows as rollbacks once they have seen the new series.

This module is plain Python (no Django): the signing step runs on a machine with only
`cryptography` installed, ``python -m federation.protocol.ceremony sign ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ._checks import as_int, as_object, exact_fields, fail
from .canonical import canonical_bytes, strict_loads
from .errors import ProtocolError
from .keys import ALG, NodeKey, check_node, format_fingerprint, generate
from .manifest import MANIFEST_TYP, MAX_VALIDITY, sign_manifest

REQUEST_TYP: Final = "fed.ceremony-request"
SERIES_TYP: Final = "fed.manifest-series"
DEFAULT_WINDOWS: Final = 28
DEFAULT_STEP_S: Final = 24 * 3600
MIN_PASSPHRASE_LEN: Final = 12
_BAD = "bad_ceremony"
_REQUEST_FIELDS: Final = frozenset(
    {"typ", "v", "node", "next_version", "keys", "old_keys", "revoked"}
)


# --------------------------------------------------------------------------------------------
# The root key file (encrypted at rest, written with its final mode)
# --------------------------------------------------------------------------------------------


def write_secret_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the start (never write-then-chmod); never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def new_root_key(node: str, path: Path, passphrase: bytes) -> NodeKey:
    """Generate a root key for `node` and store it at `path`, encrypted with `passphrase`."""
    if len(passphrase) < MIN_PASSPHRASE_LEN:
        fail(_BAD, f"the root passphrase must be at least {MIN_PASSPHRASE_LEN} characters")
    key = generate(check_node(node, code=_BAD), "root")
    write_secret_file(path, key.to_pem(passphrase))
    return key


def load_root_key(path: Path, passphrase: bytes, node: str) -> NodeKey:
    """The root key in `path` (encrypted PEM). An unencrypted file is refused."""
    pem = path.read_bytes()
    if b"ENCRYPTED PRIVATE KEY" not in pem:
        fail(_BAD, "the root key file must be encrypted with a passphrase")
    try:
        return NodeKey.from_pem(pem, node, "root", password=passphrase)
    except ProtocolError:
        fail(_BAD, "cannot open the root key file: wrong passphrase or not an Ed25519 key")


def read_passphrase(path: Path) -> bytes:
    return path.read_bytes().strip()


# --------------------------------------------------------------------------------------------
# Request (from the online node) and series (from the ceremony)
# --------------------------------------------------------------------------------------------


def parse_request(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    exact_fields(obj, _REQUEST_FIELDS, "ceremony request", _BAD)
    if obj["typ"] != REQUEST_TYP or obj["v"] != 1:
        fail(_BAD, "not a fed.ceremony-request v1")
    check_node(obj["node"], code=_BAD)
    as_int(obj["next_version"], "next_version", _BAD, minimum=1)
    for name in ("keys", "old_keys", "revoked"):
        as_object(obj[name], name, _BAD)
    if any(entry.get("use") == "root" for entry in obj["keys"].values()):
        fail(_BAD, "the request lists online keys only; the ceremony adds the root")
    return obj


def sign_series(
    request: Mapping[str, Any],
    root: NodeKey,
    *,
    start: int,
    windows: int = DEFAULT_WINDOWS,
    step: int = DEFAULT_STEP_S,
) -> list[dict[str, Any]]:
    """Sign `windows` manifests for the request's keys, window i issued at start + i*step."""
    parse_request(request)
    if request["node"] != root.node:
        fail(_BAD, f"the root key belongs to {root.node}, the request to {request['node']}")
    if not 1 <= windows <= 400:
        fail(_BAD, "between 1 and 400 windows")
    if not 3600 <= step < MAX_VALIDITY:
        fail(_BAD, "windows must overlap: a step of at least an hour and under 7 days")
    keys = {
        root.kid: {"alg": ALG, "key": root.public.b64, "use": "root", "not_before": 0},
        **request["keys"],
    }
    series = []
    for i in range(windows):
        issued_at = start + i * step
        body = {
            "typ": MANIFEST_TYP,
            "v": 1,
            "node": root.node,
            "version": request["next_version"] + i,
            "issued_at": issued_at,
            "valid_until": issued_at + MAX_VALIDITY,
            "keys": keys,
            "old_keys": request["old_keys"],
            "revoked": request["revoked"],
        }
        series.append(sign_manifest(body, root))
    return series


def series_document(series: Sequence[Mapping[str, Any]], root: NodeKey) -> dict[str, Any]:
    return {
        "typ": SERIES_TYP,
        "v": 1,
        "node": root.node,
        "root_fingerprint": root.public.fingerprint,
        "manifests": list(series),
    }


def describe(request: Mapping[str, Any]) -> list[str]:
    """What the custodian reads aloud before signing: every key the root will vouch for."""
    lines = [f"node {request['node']}, manifests from version {request['next_version']}"]
    for kid, entry in sorted(request["keys"].items()):
        lines.append(f"  vouch for {entry['use']:7} {kid}")
    for kid in sorted(request["old_keys"]):
        lines.append(f"  retired           {kid}")
    for kid, entry in sorted(request["revoked"].items()):
        lines.append(f"  REVOKED           {kid} ({entry['reason']})")
    return lines


# --------------------------------------------------------------------------------------------
# Offline command line: python -m federation.protocol.ceremony new-root|sign ...
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ceremony", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    new = sub.add_parser("new-root", help="generate an encrypted root key file")
    new.add_argument("--node", required=True)
    sign = sub.add_parser("sign", help="sign a manifest series for a ceremony request")
    sign.add_argument("--request", type=Path, required=True)
    sign.add_argument("--out", type=Path, required=True)
    sign.add_argument("--windows", type=int, default=DEFAULT_WINDOWS)
    sign.add_argument("--step", type=int, default=DEFAULT_STEP_S)
    for each in (new, sign):
        each.add_argument("--root-key", type=Path, required=True)
        each.add_argument("--passphrase-file", type=Path, required=True)
    args = parser.parse_args(argv)
    passphrase = read_passphrase(args.passphrase_file)
    if args.action == "new-root":
        key = new_root_key(args.node, args.root_key, passphrase)
        print(f"root {key.kid}\nfingerprint {format_fingerprint(key.public.fingerprint)}")
        return 0
    request = parse_request(as_object(strict_loads(args.request.read_bytes()), "request", _BAD))
    root = load_root_key(args.root_key, passphrase, request["node"])
    print("\n".join(describe(request)))
    series = sign_series(
        request, root, start=int(time.time()), windows=args.windows, step=args.step
    )
    args.out.write_bytes(canonical_bytes(series_document(series, root)))
    print(f"signed {len(series)} manifests into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
