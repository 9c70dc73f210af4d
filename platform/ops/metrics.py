"""Prometheus text exposition. Node figures are read from durable state at scrape time (so every
web process answers alike); request latency is a histogram kept per process, merged across
gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set (infra/production/gunicorn.conf.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .selectors import NodeHealth, node_health

REQUEST_SECONDS = Histogram(
    "exchange_request_seconds",
    "Time to answer an HTTP request, by route and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"exchange_{name}", doc, labels=labels)


def _outbox_families(health: NodeHealth) -> Iterator[GaugeMetricFamily]:
    depth = _gauge("outbox_pending", "Deliveries waiting per partner.", ["partner"])
    age = _gauge("outbox_oldest_age_seconds", "Age of the oldest pending delivery.", ["partner"])
    late = _gauge(
        "outbox_due_late_seconds",
        "How long the most overdue delivery has been due (0 when workers keep up).",
        ["partner"],
    )
    dead = _gauge("dead_letters", "Dead-lettered deliveries per partner.", ["partner"])
    for code, row in sorted(health.outbox.items()):
        depth.add_metric([code], row.pending)
        age.add_metric([code], row.oldest_pending_age_s)
        late.add_metric([code], row.oldest_due_late_s)
        dead.add_metric([code], row.dead)
    yield from (depth, age, late, dead)


def _node_families(health: NodeHealth) -> Iterator[GaugeMetricFamily]:
    deliveries = _gauge("delivery_rows", "Outbox rows by state (kept until retention).", ["state"])
    for state, n in sorted(health.deliveries_by_state.items()):
        deliveries.add_metric([state], n)
    refusals = _gauge(
        "refusal_rows", "Refusals recorded, by code (kept until retention).", ["code"]
    )
    for code, n in sorted(health.refusals_by_code.items()):
        refusals.add_metric([code], n)
    anonymous = _gauge(
        "anonymous_refusals",
        "Refused requests no partner signed, by code (counted per hour, kept until retention).",
        ["code"],
    )
    for code, n in sorted(health.anonymous_refusals_by_code.items()):
        anonymous.add_metric([code], n)
    manifest = _gauge(
        "manifest_expires_in_seconds", "Seconds until a key manifest expires.", ["node"]
    )
    if health.own_manifest_expires_in_s is not None:
        manifest.add_metric(["self"], health.own_manifest_expires_in_s)
    for code, seconds in sorted(health.partner_manifest_expires_in_s.items()):
        manifest.add_metric([code], seconds)
    beats = _gauge("heartbeat_age_seconds", "Age of the latest heartbeat.", ["process"])
    for name, age in sorted(health.heartbeat_age_s.items()):
        beats.add_metric([name], age)
    queues = _gauge("queue_length", "Messages waiting in a Celery queue.", ["queue"])
    for queue, length in sorted(health.queue_lengths.items()):
        if length is not None:
            queues.add_metric([queue], length)
    unscored = _gauge("unscored_reports", "Published reports not yet in a case.")
    unscored.add_metric([], health.unscored_reports)
    lag = _gauge("scoring_lag_seconds", "How long the oldest unscored report has waited.")
    lag.add_metric([], health.oldest_unscored_age_s)
    yield from (deliveries, refusals, anonymous, manifest, beats, queues, unscored, lag)


class NodeCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        health = node_health()
        yield from _outbox_families(health)
        yield from _node_families(health)


def exposition() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(NodeCollector())
    return generate_latest(registry)
