"""Operator commands say which node they use (redacted like every log line), say when development
falls back to the default node because `make run` is not running, confirm a passing
`--against-database` in one line, and keep the terminal to their summary at INFO."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command

from blockchain.management.commands.chain_status import default_node_notice
from core.commands import quiet_console
from core.log_format import secret_values

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_chain_status_names_the_node_it_used(contracts, settings):
    out = StringIO()
    call_command("chain_status", stdout=out)
    assert out.getvalue().splitlines()[0] == f"node         {settings.CHAIN_RPC_URL}"


def test_a_node_url_with_a_key_in_its_path_is_redacted(contracts, settings):
    settings.CHAIN_RPC_URL = "https://rpc.example.com/v3/s3cr3t-provider-key"  # (the client keeps its node)
    secret_values.cache_clear()
    try:
        out = StringIO()
        call_command("chain_status", stdout=out)
    finally:
        secret_values.cache_clear()
    assert "s3cr3t-provider-key" not in out.getvalue()
    assert out.getvalue().splitlines()[0] == "node         https://rpc.example.com[redacted]"


def test_against_the_database_a_pass_is_one_line(contracts, settings):
    out = StringIO()
    call_command("chain_status", "--against-database", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"node {settings.CHAIN_RPC_URL}: head ")
    assert "not older than the database" in lines[0]


def test_development_without_make_run_or_a_node_url_says_so(settings, tmp_path, monkeypatch):
    settings.DJANGO_ENV, settings.VAR_DIR = "development", tmp_path
    monkeypatch.delenv("CHAIN_RPC_URL", raising=False)
    monkeypatch.delenv("CHAIN_RPC_URLS", raising=False)
    notice = default_node_notice()
    assert notice and "`make run` is not running" in notice and "CHAIN_RPC_URL is not set" in notice
    (tmp_path / "run.env").write_text("CHAIN_RPC_URL=http://127.0.0.1:8645\n")
    assert default_node_notice() is None  # make run is up: its node is used
    monkeypatch.setenv("CHAIN_RPC_URL", "http://127.0.0.1:8645")
    (tmp_path / "run.env").unlink()
    assert default_node_notice() is None  # a node was named
    settings.DJANGO_ENV = "production"
    monkeypatch.delenv("CHAIN_RPC_URL")
    assert default_node_notice() is None


def test_audited_commands_keep_info_off_the_terminal_unless_verbose():
    console = logging.StreamHandler(StringIO())
    console.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(console)
    try:
        with quiet_console(verbosity=1):
            assert console.level == logging.WARNING
        assert console.level == logging.INFO
        with quiet_console(verbosity=2):
            assert console.level == logging.INFO
    finally:
        root.removeHandler(console)


def test_reconcile_prints_its_summary_and_no_info_lines(contracts, capfd):
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().strip().startswith("checked ")
    assert '"level": "INFO"' not in capfd.readouterr().err
