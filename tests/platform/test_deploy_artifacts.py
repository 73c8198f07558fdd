"""The monitoring, backup and CI artefacts in deploy/ and .github/ are consistent with the platform:
every Grafana query reads series the platform exposes, every alert has a firing and a quiet unit
test, the Alertmanager routes reach receivers that exist without committed secrets, and the units
and services point at files that exist. No network and no Docker: files are read and parsed."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess  # nosec B404 - promtool with a fixed argv
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.support.promql import platform_series, unknown_series

ROOT = Path(settings.BASE_DIR)
DEPLOY = ROOT / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"


def _panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row keeps its panels inside


def _alert_rules() -> dict[str, dict]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}


# ----------------------------------------------------------------------------------------- Grafana


def test_the_dashboards_the_issue_lists_are_provisioned():
    uids = {json.loads(path.read_text())["uid"] for path in DASHBOARDS}
    for topic in ("outbox", "indexer", "api", "celery", "signers", "rpc", "webhooks"):
        assert f"ledgerbridge-{topic}" in uids
    assert len(uids) == len(DASHBOARDS), "dashboard uids must be unique"

    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "ledgerbridge.yml").read_text()
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_query_reads_only_series_the_platform_exposes(path: Path):
    dashboard = json.loads(path.read_text())
    datasources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    uid = datasources[0]["uid"]
    known = platform_series()
    queries = 0
    for panel in _panels(dashboard["panels"]):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], f"{panel['title']}: a panel without a query"
        for target in panel["targets"]:
            unknown = unknown_series(target["expr"], known)
            assert not unknown, (path.name, panel["title"], unknown)
            queries += 1
    assert queries >= 4


# ------------------------------------------------------------------------------- alert rule tests


def _promtool_cases() -> list[dict]:
    cases = []
    for path in sorted((DEPLOY / "prometheus" / "tests").glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        assert "../alerts.yml" in spec["rule_files"]
        for test in spec["tests"]:
            cases.extend(test.get("alert_rule_test", []))
    return cases


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = _promtool_cases()
    for name in _alert_rules():
        outcomes = {bool(case["exp_alerts"]) for case in cases if case["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: needs a case where it fires and one where it does not"


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)"
)
def test_promtool_checks_and_unit_tests_pass():
    tests = sorted(str(p) for p in (DEPLOY / "prometheus" / "tests").glob("*.yml"))
    for argv in (
        ["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        ["promtool", "test", "rules", *tests],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # nosec B603
        assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------------- Alertmanager


def _routes(route: dict):
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


def test_alertmanager_routes_reach_existing_receivers_by_severity():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    referenced = {route["receiver"] for route in _routes(config["route"]) if "receiver" in route}
    assert referenced <= receivers.keys(), referenced - receivers.keys()
    assert set(receivers) <= referenced, "a receiver no route uses"

    # Every severity the rules use is routed explicitly; critical pages by e-mail and webhook.
    severities = {rule["labels"]["severity"] for rule in _alert_rules().values()}
    by_severity = {}
    for route in config["route"].get("routes", []):
        for matcher in route.get("matchers", []):
            key, _, value = matcher.partition("=")
            if key.strip() == "severity":
                by_severity[value.strip().strip('"')] = route["receiver"]
    assert severities <= by_severity.keys()
    critical = receivers[by_severity["critical"]]
    assert critical.get("email_configs") and critical.get("webhook_configs")
    assert receivers[by_severity["warning"]].get("email_configs")

    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert "alertmanager:9093" in targets


def _keys(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            yield from _keys(value, (*path, key))
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item, path)


def test_alertmanager_config_commits_no_secret():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    for path, value in _keys(config):
        key = path[-1]
        if key in {
            "smtp_auth_password",
            "auth_password",
            "password",
            "bearer_token",
            "credentials",
            "api_key",
        }:
            pytest.fail(f"{'.'.join(path)} holds a secret in the file; use the *_file variant")
        if key == "url":
            assert "@" not in value and "token" not in value.lower(), path
    assert config["global"]["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")


@pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool is not installed (apt-get install prometheus-alertmanager)"
)
def test_amtool_accepts_the_alertmanager_config():
    done = subprocess.run(  # nosec B603
        ["amtool", "check-config", str(ALERTMANAGER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------- compose, units, CI


def test_compose_runs_prometheus_alertmanager_and_grafana_from_the_deploy_files():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "alertmanager", "grafana"):
        for volume in services[name].get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    assert "ledgerbridge-web" in services["web"]["networks"]["default"]["aliases"]


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string((DEPLOY / "systemd" / name).read_text())
    return unit


def test_the_backup_timer_runs_the_backup_service_and_its_script_exists():
    timer = _unit("ledgerbridge-backup.timer")
    assert timer["Timer"]["Unit"] == "ledgerbridge-backup.service"
    assert timer["Timer"]["Persistent"] == "true"
    service = _unit("ledgerbridge-backup.service")
    assert service["Service"]["Type"] == "oneshot"
    script = service["Service"]["ExecStart"].replace("/srv/ledgerbridge/app/", "")
    assert (ROOT / script).is_file() and os.access(ROOT / script, os.X_OK)
    text = (ROOT / script).read_text()
    assert "--format=custom" in text and "BACKUP_RETENTION_DAYS" in text


def test_the_ci_workflow_runs_make_test_and_make_lint_with_postgres_and_redis():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert {"postgres", "redis"} <= job["services"].keys()
    commands = [step.get("run", "") for step in job["steps"]]
    assert "make test" in commands and "make lint" in commands
