"""RFC 8785 numbers as the RFC writes them (core.canonical_json). JSON numbers are IEEE-754 doubles:
an integer literal beyond 2**53 is an ordinary number when its canonical text still denotes it
exactly (the Appendix B values), and a clear 400 when canonicalising would silently change it."""

from __future__ import annotations

import json
import math
import struct

import pytest
from eth_utils import keccak

from core.canonical_json import NotCanonicalizable, canonical_json
from credentials.fingerprints import fingerprint_of
from tests.credentials.test_credentials import issue, verify
from tests.support.outbox import settle_outbox

# RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_numbers_canonicalise_as_the_rfc_writes_them(bits, expected):
    double = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical_json(double) == expected.encode()
    # The same number as a client's JSON text spells it (an integer literal parses to a Python int).
    assert canonical_json(json.loads(expected)) == expected.encode()
    assert (
        canonical_json(json.loads(json.dumps({"n": json.loads(expected)}))) == f'{{"n":{expected}}}'.encode()
    )


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_have_no_canonical_form(bits):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert math.isnan(value) or math.isinf(value)
    with pytest.raises(NotCanonicalizable):
        canonical_json({"n": value})


@pytest.mark.parametrize(
    ("literal", "why"),
    [
        ("9007199254740993", "would canonicalise as 9007199254740992"),
        ("-9007199254740993", "would canonicalise as -9007199254740992"),
        ("123456789012345678901234567", "would canonicalise as 1.2345678901234568e+26"),
        ("1" + "0" * 400, "beyond the range of a JSON number"),
    ],
)
def test_an_integer_no_double_represents_exactly_is_refused_with_the_reason(literal, why):
    with pytest.raises(NotCanonicalizable) as refused:
        canonical_json(json.loads(f'{{"n": {literal}}}'))
    assert why in str(refused.value)


def test_booleans_and_safe_integers_are_untouched():
    assert canonical_json({"t": True, "f": False, "z": None, "i": 2**53 - 1, "j": -(2**53 - 1)}) == (
        b'{"f":false,"i":9007199254740991,"j":-9007199254740991,"t":true,"z":null}'
    )


def test_the_fingerprint_hashes_the_rfc_text():
    document = json.loads('{"n": 9007199254740992, "m": -9007199254740992, "big": 295147905179352830000}')
    expected = (
        b'{"document":{"big":295147905179352830000,"m":-9007199254740992,"n":9007199254740992},'
        b'"scheme":"ledgerbridge.credential.v1"}'
    )
    assert fingerprint_of(document) == "0x" + keccak(expected).hex()


@pytest.mark.chain
@pytest.mark.django_db
def test_a_credential_with_appendix_b_integers_is_issued_and_verified(institution, api_client):
    row, member = institution
    literal = (
        '{"holder": "A. Lovelace", "n": 9007199254740992, "m": -9007199254740992, "x": 999999999999999700000}'
    )
    issued = issue(member, row, doc=json.loads(literal))
    settle_outbox()
    answer = api_client.post(
        "/api/blockchain/verify/", data=f'{{"document": {literal}}}', content_type="application/json"
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["valid"] is True
    assert answer.json()["fingerprint"] == issued["fingerprint"] == fingerprint_of(json.loads(literal))
    assert verify(api_client, fingerprint=issued["fingerprint"])["valid"] is True


@pytest.mark.chain
@pytest.mark.django_db
def test_an_inexact_integer_is_a_clear_400_and_nothing_is_issued(institution, api_client):
    row, member = institution
    body = (
        f'{{"institution": "{row.address}", "subject_wallet": "0x000000000000000000000000000000000000dEaD", '
        '"credential_type": "diploma", "document": {"n": 9007199254740993}}'
    )
    refused = member.post("/api/credentials/issue/", data=body, content_type="application/json")
    assert refused.status_code == 400
    assert "9007199254740993" in json.dumps(refused.json()) and "send it as a string" in json.dumps(
        refused.json()
    )
    answer = api_client.post(
        "/api/blockchain/verify/",
        data='{"document": {"n": 9007199254740993}}',
        content_type="application/json",
    )
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"s": "\ud800"}, "a string contains a code point UTF-8 cannot encode"),
        ({1: "x"}, "an object key is not a string"),
        ({"v": {1, 2}}, "a value is not JSON"),
        ({"f": float("nan")}, "NaN or infinite"),
    ],
)
def test_refusals_are_in_our_words_never_the_librarys(document, why):
    from credentials.fingerprints import InvalidDocument

    with pytest.raises(InvalidDocument) as refused:
        fingerprint_of(document)
    message = str(refused.value)
    assert why in message
    for library_text in ("unsupported type", "<class", "codepoints", "must be strings"):
        assert library_text not in message


def test_a_document_nested_too_deeply_is_refused_in_our_words():
    from credentials.fingerprints import InvalidDocument

    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InvalidDocument, match="nested too deeply"):
        fingerprint_of(deep)
