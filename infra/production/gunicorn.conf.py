"""gunicorn for a production node (systemd: exchange-web.service). Read by `gunicorn -c`.

Behind nginx on the same host: bind a local socket, believe X-Forwarded-* only from nginx,
recycle workers now and then (max_requests + jitter: a slow leak never becomes an outage) and let
a request in flight finish on shutdown or reload (graceful_timeout)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"
# A partner batch of 100 reports is verified and stored in well under a second; 30 s is a hang.
timeout = int(os.environ.get("WEB_TIMEOUT_S", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("WEB_MAX_REQUESTS_JITTER", "200"))
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
pythonpath = "platform,."
wsgi_app = "config.wsgi"
# Django writes one JSON access line per request (LOG_FORMAT=json); gunicorn's would repeat it.
accesslog = None
errorlog = "-"
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), so a second
# node on the host logged "Address already in use"; nothing here drives gunicorn through it.
control_socket_disable = True
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Request-latency histograms are per process: prometheus-client merges them from this folder.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: Any) -> None:
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
        Path(_metrics_dir).mkdir(parents=True, mode=0o700, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
