"""Containers sharing one metrics directory (docker compose) must not overwrite each other's samples:
every container's processes start at pid 1, so files are named `<host>-<pid>` there."""

from __future__ import annotations

import os
import socket

from prometheus_client import CollectorRegistry, Counter, values
from prometheus_client.multiprocess import MultiProcessCollector

from core.metrics_process import process_identity


def _two_containers_count(tmp_path, monkeypatch, *, per_host: bool) -> tuple[float, list[str]]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_PER_HOST", "true" if per_host else "")
    monkeypatch.setattr(os, "getpid", lambda: 1)  # both containers' worker is pid 1
    hosts = ("web-3f2a", "worker-9c1b")
    counters = []
    for host in hosts:  # both processes start before either counts
        monkeypatch.setattr(socket, "gethostname", lambda h=host: h)
        monkeypatch.setattr(
            values, "ValueClass", values.MultiProcessValue(process_identifier=process_identity)
        )
        counters.append(Counter("lb_test_outbox_sent", "test", registry=None))
    for host, counter, amount in zip(hosts, counters, (2, 3), strict=True):  # web counts 2, the worker 3
        monkeypatch.setattr(socket, "gethostname", lambda h=host: h)
        counter.inc(amount)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    total = registry.get_sample_value("lb_test_outbox_sent_total")
    return total, sorted(p.name for p in tmp_path.iterdir())


def test_per_host_identity_keeps_every_containers_samples(tmp_path, monkeypatch):
    total, files = _two_containers_count(tmp_path, monkeypatch, per_host=True)
    assert files == ["counter_web-3f2a-1.db", "counter_worker-9c1b-1.db"]
    assert total == 5


def test_without_it_the_same_pid_in_two_containers_loses_samples(tmp_path, monkeypatch):
    total, files = _two_containers_count(tmp_path, monkeypatch, per_host=False)
    assert files == ["counter_1.db"]
    assert total == 3, "the worker's write replaced the web process's: why compose sets the flag"


def test_identity_is_the_pid_unless_the_directory_is_shared_between_hosts(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "worker_1")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_PER_HOST", raising=False)
    assert process_identity(42) == "42"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_PER_HOST", "true")
    assert process_identity(42) == "worker-1-42", "no '_' (prometheus_client splits file names on it)"


def test_compose_shares_one_metrics_volume_with_per_host_names_across_app_containers():
    import yaml

    from tests.platform.test_deploy_artifacts import ROOT

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("web", "worker", "beat", "poller"):
        service = compose["services"][name]
        assert "prommetrics:/srv/ledgerbridge/metrics" in service["volumes"], name
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/srv/ledgerbridge/metrics", name
        assert service["environment"]["PROMETHEUS_MULTIPROC_PER_HOST"] == "true", name
