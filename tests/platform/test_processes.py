"""The child-process helpers the tests, bench and `make run` share."""

from __future__ import annotations

import sys

import pytest

from devtools.processes import ManagedProcess, _ephemeral_range, free_port, wait_until


def test_free_port_is_below_the_kernels_ephemeral_range():
    # A stopped node's port must not be handed to an outgoing connection before it restarts.
    low, _ = _ephemeral_range()
    ports = {free_port() for _ in range(20)}
    assert all(port < low for port in ports), ports


def test_wait_until_gives_up_at_once_when_the_process_has_exited(tmp_path):
    log = tmp_path / "child.log"
    child = ManagedProcess(
        "child", [sys.executable, "-c", "print('address already in use'); raise SystemExit(3)"], log_path=log
    ).start()
    with pytest.raises(RuntimeError) as caught:
        wait_until(
            lambda: False,
            timeout=3600,  # pytest-timeout fails the test long before
            what="the child to listen",
            process=child,
        )
    child.stop()
    assert "child exited (code 3)" in str(caught.value)
    assert "address already in use" in str(caught.value)
