"""`core.representation.Representation`: a context-free serializer's output with its fields built
once per process. The verification endpoint and the credential read answer with it; it must give
exactly the serializer's `.data` (same keys, order, formatting, None handling)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from core.representation import Representation
from credentials.serializers import VerificationSerializer, verification_representation
from credentials.verification import Verification, check

FOUND = Verification(
    exists=True,
    valid=True,
    revoked=False,
    expired=False,
    outcome="valid",
    fingerprint="0x" + "ab" * 32,
    institution="0x" + "12" * 20,
    institution_name="Trust Bank",
    institution_active=True,
    credential_id=7,
    onchain_id=2**200,
    credential_type="diploma",
    subject_wallet="0x" + "34" * 20,
    issued_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    revoked_at=None,
    expires_at=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=5),
    tx_hash="0x" + "cd" * 32,
    source="cache",
    block_number=123,
)

RESULTS = {
    "valid": FOUND,
    "revoked": dataclasses.replace(
        FOUND, valid=False, revoked=True, outcome="revoked", revoked_at=datetime(2026, 6, 1, tzinfo=UTC)
    ),
    "expired": dataclasses.replace(FOUND, valid=False, expired=True, outcome="expired"),
    "not found": Verification(
        False, False, False, False, "not_found", None, None, None, None, None, None, None, None, None,
        None, None, None, "chain",
    ),
    "bundle steps": dataclasses.replace(
        FOUND, source="chain", checks=[check("fingerprint", True, "ok"), check("anchored", None, "—")]
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", RESULTS)
def test_a_verification_is_shown_as_the_serializer_shows_it(name):
    result = RESULTS[name]
    expected = VerificationSerializer(result).data
    shown = verification_representation(result)
    assert shown == expected and list(shown) == list(expected)
    assert JSONRenderer().render(shown) == JSONRenderer().render(expected)


def test_the_fields_are_built_once():
    represent = Representation(VerificationSerializer)
    represent(FOUND)
    fields = represent.serializer._readable_fields_once
    represent(RESULTS["revoked"])
    assert represent.serializer._readable_fields_once is fields


def test_a_serializer_with_its_own_to_representation_is_refused():
    class Custom(serializers.Serializer):
        def to_representation(self, instance):
            return {"x": 1}

    with pytest.raises(TypeError):
        Representation(Custom)
