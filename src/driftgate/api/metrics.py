"""``GET /metrics`` in Prometheus' text format.

Job states, job durations and runs by outcome come from the store, so they
are right whichever process did the work; forge calls and HTTP requests are
counted in this process.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request

from driftgate.services.workspace import Workspace
from driftgate.store import proposals as proposals_db
from driftgate.store import runs as runs_db

HTTP_REQUESTS: Counter[tuple[str, str, str]] = Counter()
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_labels(request: Request, status: int) -> tuple[str, str, str]:
    """(method, route template, status), each from a fixed set: clients cannot mint new series."""
    method = request.method if request.method in _METHODS else "other"
    route = request.scope.get("route")
    template = getattr(route, "path", None) if route is not None else None
    return (
        method,
        template if isinstance(template, str) else "other",
        str(status) if 100 <= status < 600 else "other",
    )


class _StoreCollector(Collector):
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def collect(self):  # type: ignore[no-untyped-def]
        from driftgate.forge.base import FORGE_CALLS

        with self.ws.transaction() as conn:
            jobs = proposals_db.job_counts(conn)
            total, count = proposals_db.job_durations(conn)
            runs = runs_db.run_counts(conn)
        states = GaugeMetricFamily("driftgate_jobs", "open-PR jobs by state", labels=["state"])
        for state in ("queued", "running", "done", "failed"):
            states.add_metric([state], jobs.get(state, 0))
        yield states
        yield SummaryMetricFamily(
            "driftgate_job_duration_seconds", "open-PR job durations", count_value=count, sum_value=total
        )
        outcome = GaugeMetricFamily("driftgate_runs", "runs by kind and outcome", labels=["kind", "status"])
        for (kind, status), n in sorted(runs.items()):
            outcome.add_metric([kind, status], n)
        yield outcome
        forge = CounterMetricFamily(
            "driftgate_forge_api_calls", "forge API calls by status", labels=["status"]
        )
        for status, n in sorted(FORGE_CALLS.items()):
            forge.add_metric([status], n)
        yield forge
        http = CounterMetricFamily(
            "driftgate_http_requests", "API requests", labels=["method", "route", "status"]
        )
        for labels, n in sorted(HTTP_REQUESTS.items()):
            http.add_metric(list(labels), n)
        yield http


def render(ws: Workspace) -> bytes:
    registry = CollectorRegistry()
    registry.register(_StoreCollector(ws))
    Gauge("driftgate_up", "1 while the API answers", registry=registry).set(1)
    return generate_latest(registry)
