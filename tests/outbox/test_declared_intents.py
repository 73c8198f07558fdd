"""One declaration per intent: what each app asks of the chain is registered in one place."""

from __future__ import annotations

import pytest

from blockchain.outbox import hooks
from blockchain.outbox.declared import ChainIntent, _intents, intent_of, register_intents
from campaigns.onchain.intents import MINT_KIND


def test_every_intent_a_service_can_declare_has_a_failure_hook():
    # A failed intent with no hook would leave its domain row waiting for a chain effect forever.
    assert len(_intents) >= 12
    missing = [kind for kind, intent in _intents.items() if intent.on_failure is None]
    assert missing == []
    for kind, intent in _intents.items():
        assert intent.on_failure in hooks._failure_hooks[kind], kind


def test_the_balances_an_intent_moves_come_from_its_declaration():
    assert hooks._balance_effects[MINT_KIND] is intent_of(MINT_KIND).balance_effects


def test_a_kind_declared_twice_differently_is_refused():
    same_kind = ChainIntent(
        kind=MINT_KIND, contract="ShareCertificate", function="mintBatch", args=list, attempt=len
    )
    with pytest.raises(ValueError, match="declared twice"):
        register_intents(same_kind)
    assert intent_of(MINT_KIND).function == "mintBatch" and intent_of(MINT_KIND) is not same_kind
