"""`layerscope serve` with two workers: /metrics adds up both workers' counts (prometheus_client's
multiprocess mode), whichever worker answers the scrape, and the metrics folder goes with the
server."""

import re
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import running, service_server

HEALTHZ = (("method", "GET"), ("route", "/healthz"), ("status", "200"))


def _healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "layerscope_requests_total" and tuple(sorted(s.labels.items())) == HEALTHZ:
                return s.value
    return 0.0


def _healthz_by_worker(folder: Path) -> dict[str, float]:
    """Each worker's own count of /healthz requests, read from its own counter file."""
    counts: dict[str, float] = {}
    for path in folder.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):
            for s in metric.samples:
                if s.name == "layerscope_requests_total" and (
                    tuple(sorted(s.labels.items())) == HEALTHZ
                ):
                    counts[path.stem.removeprefix("counter_")] = s.value
    return counts


def test_metrics_add_up_every_worker() -> None:
    server = service_server("cpu", workers=2, env={"LAYERSCOPE_TORCH_THREADS": "1"})
    with running(server, "/readyz", timeout=180):  # not /healthz: counted below
        said = re.search(r"metrics of 2 workers are added up in (\S+)", server.log_tail())
        assert said is not None, server.log_tail()
        folder = Path(said.group(1))
        sent = 0
        # A fresh connection per request, until both workers have answered some (bounded).
        while sent < 400:
            for _ in range(10):
                assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
            sent += 10
            if len([n for n in _healthz_by_worker(folder).values() if n > 0]) == 2:
                break
        by_worker = _healthz_by_worker(folder)
        assert len(by_worker) == 2 and all(by_worker.values()), by_worker
        assert sum(by_worker.values()) == sent
        # Every scrape, whichever worker answers it, counts all of them.
        for _ in range(6):
            scrape = httpx.get(f"{server.url}/metrics", timeout=30)
            assert _healthz_count(scrape.text) == sent
    assert not folder.exists()
