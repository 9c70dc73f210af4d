"""The fault schedule and the checker, shared by the bounded test and the soak benchmark.

Three nodes (us, uk, jp), each on its own namespaced host with its own PostgreSQL and Redis,
publish at a steady rate to each other while faults are injected on a schedule: a partner's web
down and back, a worker SIGKILLed, Redis restarted and flushed, PostgreSQL crashed and
restarted, a partition and its healing with a key rotation and a revocation during it, and a
relay (uk carries us's reports to jp while us cannot reach jp). jp's clock runs 20 s ahead.

The checker reads every node's database and compares it with an oracle written from the rules
(REL TO, TLP red, the demo ceilings), not from the code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.lab import LabFederation, NetLab, NodeServices, running_lab

ROOT = Path(__file__).resolve().parents[2]
CODES = ["us", "uk", "jp"]
SKEW = {"jp": "+20s"}
FVEY = {"us", "uk", "ca", "au", "nz"}
LEVEL_CEILING_FVEY = 4  # SECRET between Five Eyes partners (the demo trust)
LEVEL_CEILING_OTHER = 3  # CONFIDENTIAL otherwise
TRUST_ADMINS = ("lab-admin-1", "lab-admin-2")
REVOCATION_DEADLINE_S = 10.0
AWAY_AFTER_REVOCATION_S = 8.0
SLOW_CONVERGE_S = 20.0  # a convergence this slow has its federation state written down
LAB_ENV = {
    "FEDERATION_BACKOFF_BASE_S": "1",
    "FEDERATION_BACKOFF_CAP_S": "4",
    "FEDERATION_HELD_RETRY_S": "2",
    "FEDERATION_HELD_RETRY_CAP_S": "5",
    "FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S": "3",
    "CELERY_VISIBILITY_TIMEOUT": "20",
}


def entitled(receiver: str, origin: str, classification: int, rel_to: list[str], tlp: str) -> bool:
    """Whether `receiver` may hold a report of `origin` with these markings (the oracle)."""
    named = set(rel_to)
    expanded = named - {"fvey"} | (FVEY if "fvey" in named else set())
    if receiver == origin or receiver not in expanded:
        return False
    if tlp == "red" and receiver not in named:
        return False
    both_fvey = receiver in FVEY and origin in FVEY
    return classification <= (LEVEL_CEILING_FVEY if both_fvey else LEVEL_CEILING_OTHER)


@dataclass
class Tally:
    published: int = 0
    entitled_deliveries: int = 0
    lost: int = 0
    duplicated: int = 0
    leaked: int = 0
    false_leak_flags: int = 0
    details: list[str] = field(default_factory=list)


@dataclass
class Lab:
    lab: NetLab
    services: dict[str, NodeServices]
    net: LabFederation
    tokens: dict[str, str] = field(default_factory=dict)
    publishers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def db(self, code: str) -> Any:
        return self.services[code].connect(f"e2e_lab_{code}")

    def manage(self, code: str, *args: str) -> str:
        return self.net.manage(code, *args)

    def note(self, text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {text}"
        self.events.append(line)
        print(f"fault lab: {line}", flush=True)

    # --- set-up ---------------------------------------------------------------------------

    def set_policy(self, code: str, partner: str, *args: str) -> None:
        first, second = TRUST_ADMINS
        proposed = self.manage(
            code, "federation_partner", "policy", partner, *args, "--reason", "lab", "--by", first
        )
        change = proposed.strip().splitlines()[0].split()[2]
        self.manage(code, "federation_partner", "approve", change, "--by", second)

    def _users(self, code: str) -> None:
        out = self.manage(
            code, "create_node_user", "lab-releaser", "--role", "releaser",
            "--clearance", "SECRET", "--token",
        )  # fmt: skip
        self.tokens[code] = out.strip().splitlines()[-1].split()[-1]
        for admin in TRUST_ADMINS:
            self.manage(
                code, "create_node_user", admin, "--role", "trust_admin", "--clearance", "SECRET"
            )

    def introduce_users(self) -> None:
        with ThreadPoolExecutor(max_workers=len(CODES)) as pool:
            list(pool.map(self._users, CODES))
            # uk carries us's reports to jp, and jp accepts them from uk (both sides agree).
            relays = [("uk", "jp"), ("jp", "uk")]
            list(
                pool.map(
                    lambda pair: self.set_policy(
                        *pair, "--ceiling", "CONFIDENTIAL", "--relay-origins", "us"
                    ),
                    relays,
                )
            )

    # --- load -----------------------------------------------------------------------------

    def _publisher(
        self, code: str, rate: float, seconds: float, label: str, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        command = [
            *self.net.command(code, [sys.executable, str(ROOT / "tests/faults/publisher.py")]),
            self.net.nodes[code].url, self.tokens[code], str(rate), str(seconds), label,
        ]  # fmt: skip
        with open(self.net.log_dir / f"{code}-publisher.log", "ab") as log:
            return subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **env},
            )  # fmt: skip

    def start_publishing(self, rate: float, seconds: float, label: str) -> None:
        for code in CODES:
            self.publishers.append(self._publisher(code, rate, seconds, f"{label}{code}", {}))

    def stop_publishing(self) -> None:
        """The load stops where it is: what committed is the truth, whatever the publisher saw."""
        for process in self.publishers:
            process.terminate()
            process.wait(timeout=30)
        self.publishers.clear()

    def publish_probe(self, code: str, rel_to: list[str], label: str) -> None:
        """A few reports of one kind (OFFICIAL, green, this REL TO), so a fault is sure to meet
        one whatever the random load drew."""
        probe = self._publisher(code, 1, 3, label, {"PUBLISH_REL_TO": ",".join(rel_to)})
        probe.wait(timeout=120)

    def wait_publishers(self) -> None:
        for process in self.publishers:
            process.wait(timeout=600)
        self.publishers.clear()

    # --- truth ----------------------------------------------------------------------------

    def own_reports(self, code: str) -> list[tuple[str, int, list[str], str]]:
        with self.db(code) as conn:
            rows = conn.execute(
                "SELECT id::text, classification, rel_to, tlp FROM reports_report "
                "WHERE origin = %s AND status = 'published'",
                (code,),
            ).fetchall()
        return [(str(r[0]), int(r[1]), list(r[2]), str(r[3])) for r in rows]

    def held(self, code: str) -> dict[str, tuple[str, int]]:
        """Reports from partners at `code`: id → (origin, versions held); titles held twice
        (one report stored under two ids) come back as an extra key."""
        with self.db(code) as conn:
            rows = conn.execute(
                "SELECT r.id::text, r.origin, r.title, count(v.id) FROM reports_report r "
                "JOIN reports_reportversion v ON v.report_id = r.id "
                "WHERE r.origin <> %s GROUP BY r.id",
                (code,),
            ).fetchall()
        found: dict[str, tuple[str, int]] = {}
        titles: dict[str, int] = {}
        for rid, origin, title, versions in rows:
            found[str(rid)] = (str(origin), int(versions))
            titles[str(title)] = titles.get(str(title), 0) + 1
        for title, count in titles.items():
            if count > 1:
                found[f"title:{title}"] = ("?", count)
        return found

    def leak_flags(self) -> list[str]:
        flagged = []
        for code in CODES:
            with self.db(code) as conn:
                rows = conn.execute(
                    "SELECT code FROM federation_partner WHERE suspected_leak"
                ).fetchall()
            flagged += [f"{code} flags {row[0]}" for row in rows]
        return flagged

    def revoked_at(self, code: str, partner: str) -> set[str]:
        with self.db(code) as conn:
            row = conn.execute(
                "SELECT m.body -> 'revoked' FROM federation_partnermanifest m "
                "JOIN federation_partner p ON p.id = m.partner_id WHERE p.code = %s",
                (partner,),
            ).fetchone()
        return set(row[0] or {}) if row else set()

    def tally(self, only: set[str] | None = None) -> Tally:
        """Compare every node's holdings with the oracle; `only` limits the entitled reports
        counted as lost to those ids (reports published before a round ended)."""
        result = Tally()
        holdings = {code: self.held(code) for code in CODES}
        for origin in CODES:
            for rid, classification, rel_to, tlp in self.own_reports(origin):
                result.published += 1
                for receiver in CODES:
                    if receiver == origin:
                        continue
                    has = holdings[receiver].get(rid)
                    if entitled(receiver, origin, classification, rel_to, tlp):
                        result.entitled_deliveries += 1
                        if has is None and (only is None or rid in only):
                            result.lost += 1
                            result.details.append(f"lost {origin}/{rid} at {receiver}")
                    elif has is not None:
                        result.leaked += 1
                        result.details.append(f"leaked {origin}/{rid} to {receiver}")
                    if has is not None and has[1] > 1:
                        result.duplicated += 1
        for receiver, held in holdings.items():
            for key, (_origin, count) in held.items():
                if key.startswith("title:"):
                    result.duplicated += count - 1
                    result.details.append(f"duplicated {key} at {receiver}")
        flags = self.leak_flags()
        result.false_leak_flags = len(flags)
        result.details += flags
        return result

    def federation_state(self) -> list[str]:
        """Each node's view of its partners (cursors, backoff, outbox by state): what a slow
        convergence is diagnosed from."""
        lines = []
        for code in CODES:
            with self.db(code) as conn:
                partners = conn.execute(
                    "SELECT code, status, next_seq, received_seq, "
                    "coalesce(array_length(received_ahead, 1), 0), received_ahead[1], "
                    "backoff_until - now(), consecutive_failures, left(last_error, 80) "
                    "FROM federation_partner ORDER BY code"
                ).fetchall()
                outbox = conn.execute(
                    "SELECT p.code, d.state, count(*), min(d.seq), max(d.seq), "
                    "min(d.next_attempt_at) - now(), max(d.attempts), "
                    "left(max(d.last_error), 80) FROM federation_delivery d "
                    "JOIN federation_partner p ON p.id = d.partner_id "
                    "WHERE d.state <> 'delivered' GROUP BY 1, 2 ORDER BY 1, 2"
                ).fetchall()
                # Who holds a delivery slot (an advisory lock) and for how long.
                sessions = conn.execute(
                    "SELECT a.pid, a.state, a.wait_event, now() - a.xact_start, "
                    "count(l.*) FILTER (WHERE l.locktype = 'advisory'), left(a.query, 60) "
                    "FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid "
                    "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                    "AND a.xact_start IS NOT NULL "
                    "GROUP BY a.pid, a.state, a.wait_event, a.xact_start, a.query"
                ).fetchall()
            lines += [f"{code} partner {row}" for row in partners]
            lines += [f"{code} outbox {row}" for row in outbox]
            lines += [f"{code} session {row}" for row in sessions]
        return lines

    def published_ids(self) -> set[str]:
        return {rid for code in CODES for rid, *_ in self.own_reports(code)}

    def converge(self, timeout: float) -> tuple[float, Tally]:
        """Seconds until every entitled report published so far is everywhere it should be."""
        wanted = self.published_ids()
        started = time.monotonic()
        diagnosed = False
        while True:
            tally = self.tally(only=wanted)
            waited = time.monotonic() - started
            if tally.lost == 0 or waited > timeout:
                return waited, tally
            if waited > SLOW_CONVERGE_S and not diagnosed:
                diagnosed = True
                for line in tally.details[:10] + self.federation_state():
                    self.note(f"slow to converge: {line}")
            time.sleep(1.0)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


@contextmanager
def lab_running(folder: Path) -> Iterator[Lab]:
    with running_lab(CODES, folder, SKEW, LAB_ENV) as (lab, services, net):
        net.prepare(fresh=True)
        net.start()
        net.connect()
        running = Lab(lab, services, net)
        running.introduce_users()
        try:
            yield running
        finally:
            for process in running.publishers:
                process.kill()
            (folder / "events.log").write_text("\n".join(running.events) + "\n")


# --- the faults, in the order a round runs them --------------------------------------------


def web_down_and_back(lab: Lab, code: str = "uk", seconds: float = 8) -> None:
    lab.note(f"{code} web down for {seconds} s")
    lab.net.stop_web(code)
    time.sleep(seconds)
    lab.net.start_web(code)
    lab.net.wait_until_up(code)
    lab.note(f"{code} web back")


def worker_sigkill(lab: Lab, code: str = "us") -> None:
    """SIGKILL the worker (and the beat inside it) mid-work; the fault ends when the new
    worker says it is ready (its boot time is the machine's, not the protocol's)."""
    log = lab.net.log_dir / f"{code}-worker.log"

    def readies() -> int:
        return log.read_text(errors="replace").count(" ready.")

    before = readies()
    lab.note(f"{code} worker SIGKILL")
    lab.net.kill_worker(code)
    time.sleep(2)
    lab.net.start_worker(code)
    booted = wait_for(lambda: readies() > before, 180, f"{code}'s new worker")
    lab.note(f"{code} worker back ({booted:.1f} s to boot)")


def redis_restart_and_flush(lab: Lab, restart: str = "jp", flush: str = "uk") -> None:
    lab.note(f"{restart} Redis restart; {flush} Redis FLUSHALL")
    lab.services[restart].stop_redis()
    time.sleep(2)
    lab.services[restart].start_redis()
    lab.services[flush].flush_redis()


def postgres_crash_and_restart(lab: Lab, code: str = "us", seconds: float = 4) -> None:
    lab.note(f"{code} PostgreSQL immediate shutdown for {seconds} s")
    lab.services[code].crash_postgres()
    time.sleep(seconds)
    lab.services[code].start_postgres()
    lab.note(f"{code} PostgreSQL back")


def current_kid(lab: Lab, code: str, use: str) -> str:
    listing = lab.manage(code, "federation_keys", "show")
    return next(
        line.split()[-1] for line in listing.splitlines() if line.split()[:2] == [use, "current"]
    )


def partition_with_key_change(
    lab: Lab, cut: str = "jp", keys: str = "us", seconds: float = 15
) -> float:
    """Cut `cut` off; meanwhile `keys` rotates its report key and revokes its request key.
    Returns the seconds after healing until every partner lists the revoked key."""
    revoked = current_kid(lab, keys, "request")
    lab.note(f"partition: {cut} cut off")
    lab.lab.partition(cut)
    started = time.monotonic()
    lab.manage(keys, "federation_keys", "rotate", "--use", "report")
    lab.manage(keys, "federation_keys", "revoke", "--kid", revoked, "--reason", "fault lab")
    lab.net.ceremony(keys)
    lab.note(f"{keys} rotated its report key and revoked request key {revoked[:12]}")
    # The partner stays away a while after the revocation (its pushes fail and back off), so
    # what is measured is a partner returning, not a push caught in flight at the heal.
    time.sleep(max(AWAY_AFTER_REVOCATION_S, seconds - (time.monotonic() - started)))
    lab.lab.heal(cut)
    lab.note(f"partition healed: {cut} back")
    partners = [code for code in CODES if code != keys]
    took = wait_for(
        lambda: all(revoked in lab.revoked_at(code, keys) for code in partners),
        60,
        f"every partner to list {keys}'s revoked key",
    )
    lab.note(f"revoked key listed everywhere {took:.1f} s after healing")
    return took


def relay_while_direct_path_suspended(lab: Lab, seconds: float = 10) -> None:
    lab.note("us suspends jp: us's reports reach jp only through uk's relay")
    lab.manage("us", "federation_partner", "suspend", "jp", "--by", TRUST_ADMINS[0])
    # Reports for jp that uk may not carry (REL TO us, jp): owed to jp when us resumes it.
    lab.publish_probe("us", ["us", "jp"], f"probe{int(time.time())}")
    time.sleep(seconds)
    lab.manage("us", "federation_partner", "resume", "jp", "--by", TRUST_ADMINS[0])
    lab.note("us resumes jp: the direct copies meet the relayed ones")


@dataclass
class RoundResult:
    converge_s: dict[str, float]
    """Per fault: seconds from its end until every entitled report published so far is held
    everywhere it should be."""
    revocation_s: float
    tally: Tally

    @property
    def max_converge_s(self) -> float:
        return max(self.converge_s.values())


def run_round(lab: Lab, converge_timeout: float) -> RoundResult:
    """Every fault once; after each, the wait for convergence (publishing goes on)."""
    faults: list[tuple[str, Callable[[Lab], object]]] = [
        ("web_down", web_down_and_back),
        ("worker_sigkill", worker_sigkill),
        ("redis_restart_flush", redis_restart_and_flush),
        ("postgres_crash", postgres_crash_and_restart),
        ("partition_keys", partition_with_key_change),
        ("relay", relay_while_direct_path_suspended),
    ]
    converge: dict[str, float] = {}
    revocation_s = float("nan")
    tally = Tally()
    for name, fault in faults:
        outcome = fault(lab)
        if name == "partition_keys":
            revocation_s = float(outcome)  # type: ignore[arg-type]
        converge[name], tally = lab.converge(converge_timeout)
        lab.note(f"after {name}: converged in {converge[name]:.1f} s, lost={tally.lost}")
    lab.note(f"round: {json.dumps(tally.__dict__ | {'details': tally.details[:5]})}")
    return RoundResult(converge, revocation_s, tally)
