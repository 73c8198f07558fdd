"""The second-node smoke suite: the same platform code against Hardhat Network (or anvil).

Every test here is marked `hardhat` (module pytestmark) and left out of the default run (addopts): the
settings read CHAIN_RPC_URL once at start, so the suite runs in a pytest process of its own whose
CHAIN_RPC_URL names the port this node is started on (`make test` does it; see the Makefile):

    CHAIN_RPC_URL=http://127.0.0.1:18546 SMOKE_NODE=hardhat python -m pytest -m hardhat tests/hardhat
    SMOKE_NODE=anvil python -m pytest -m hardhat tests/hardhat   # the same suite on anvil

The session's `anvil_node` fixture (tests/conftest.py) is overridden here, so `chain`, `contracts` and
every helper see this node through the same interface (devtools.devnode.DevNode).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from devtools.devnode import AnvilNode, HardhatNode

LOG_DIR = Path(settings.BASE_DIR) / "var" / "test-logs"
NODES = {"hardhat": HardhatNode, "anvil": AnvilNode}


def smoke_node_kind() -> str:
    kind = os.environ.get("SMOKE_NODE", "hardhat")
    if kind not in NODES:
        raise pytest.UsageError(f"SMOKE_NODE={kind!r}: choose one of {sorted(NODES)}")
    return kind


@pytest.hookimpl(trylast=True)  # after `-m` has deselected
def pytest_collection_modifyitems(config, items) -> None:
    """Refuse to run the smoke tests beside the rest of the suite, whose session node is the anvil on
    the same CHAIN_RPC_URL (e.g. `pytest -m chain` selects both). This folder's unit tests of the
    node differences (recorded payloads, no node) are not marked and run in the default run."""
    ours = [item for item in items if item.get_closest_marker("hardhat") is not None]
    if ours and len(ours) != len(items):
        reason = "the node smoke suite runs in its own pytest process: pytest -m hardhat tests/hardhat"
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def anvil_node():
    """This run's node (SMOKE_NODE: hardhat by default), on the port CHAIN_RPC_URL names."""
    kind = smoke_node_kind()
    port = urlparse(settings.CHAIN_RPC_URL).port
    node = NODES[kind](port=port, chain_id=settings.CHAIN_ID, log_path=LOG_DIR / f"smoke-{kind}.log")
    node.start()
    yield node
    node.stop()
