"""LoanRegistry: write-once loans keyed by keccak256(loanId), repayment marks, reverts and events."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from tests.contracts.helpers import OPERATOR_ROLE, ZERO32, ZERO_ADDRESS, addr, h, hx

pytestmark = [pytest.mark.chain]


@pytest.fixture
def loans(c):
    return c.contract("LoanRegistry")


def key(loan_id: str) -> bytes:
    return keccak(loan_id.encode())


def test_store_loan_records_it_and_emits_loan_stored(c, loans):
    borrower, lender = c.account(1), c.account(2)
    assert loans.call("getLoan", "LN-1") == (False, ZERO32, ZERO_ADDRESS, ZERO_ADDRESS, 0, False, ZERO32, 0)
    receipt = c.send(loans, "storeLoan", "LN-1", h("doc"), borrower, lender)

    assert c.events(receipt, loans) == [
        (
            "LoanStored",
            {
                "loanKey": hx(key("LN-1")),
                "loanId": "LN-1",
                "loanHash": hx(h("doc")),
                "borrower": borrower,
                "lender": lender,
            },
        )
    ]
    exists, loan_hash, got_borrower, got_lender, stored_at, repaid, repaid_hash, repaid_at = loans.call(
        "getLoan", "LN-1"
    )
    assert (exists, loan_hash, addr(got_borrower), addr(got_lender)) == (True, h("doc"), borrower, lender)
    assert (stored_at, repaid, repaid_hash, repaid_at) == (c.block_time(receipt), False, ZERO32, 0)
    assert loans.call("loanCount") == 1
    assert loans.call("loanKeyOf", "LN-1") == key("LN-1")
    assert loans.call("MAX_LOAN_ID_LENGTH") == 100


def test_loan_id_length_limits_are_in_bytes(c, loans):
    a, b = c.account(1), c.account(2)
    c.send(loans, "storeLoan", "x", h("1"), a, b)
    c.send(loans, "storeLoan", "L" * 100, h("2"), a, b)
    c.send(loans, "storeLoan", "é" * 50, h("3"), a, b)  # 100 bytes of UTF-8
    err = c.revert_of(loans, "storeLoan", "é" * 50 + "x", h("4"), a, b)  # 101 bytes, 51 characters
    assert (err.name, err.args) == ("LoanIdTooLong", {})
    err = c.revert_of(loans, "storeLoan", "L" * 101, h("4"), a, b)
    assert (err.name, err.args) == ("LoanIdTooLong", {})
    assert loans.call("getLoan", "é" * 50)[0] is True
    assert loans.call("loanCount") == 3


def test_store_loan_reverts(c, loans):
    a, b, outsider = c.account(1), c.account(2), c.account(3)
    err = c.revert_of(loans, "storeLoan", "LN", h("d"), a, b, sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}
    err = c.revert_of(loans, "storeLoan", "", h("d"), a, b)
    assert (err.name, err.args) == ("EmptyLoanId", {})
    err = c.revert_of(loans, "storeLoan", "LN", ZERO32, a, b)
    assert (err.name, err.args) == ("ZeroHash", {})
    for borrower, lender in ((ZERO_ADDRESS, b), (a, ZERO_ADDRESS)):
        err = c.revert_of(loans, "storeLoan", "LN", h("d"), borrower, lender)
        assert (err.name, err.args) == ("ZeroAddress", {})


def test_a_second_store_of_the_same_id_reverts_loan_already_stored(c, loans):
    a, b = c.account(1), c.account(2)
    c.send(loans, "storeLoan", "LN-7", h("first"), a, b)
    err = c.revert_of(loans, "storeLoan", "LN-7", h("second"), b, a)
    assert (err.name, err.args) == ("LoanAlreadyStored", {"loanKey": hx(key("LN-7"))})
    receipt, err = c.send_failing(loans, "storeLoan", "LN-7", h("second"), b, a)
    assert (err.name, err.args) == ("LoanAlreadyStored", {"loanKey": hx(key("LN-7"))})
    assert receipt["logs"] == []
    assert loans.call("getLoan", "LN-7")[1] == h("first")
    assert loans.call("loanCount") == 1
    # ids are exact byte strings: case and whitespace make other loans
    c.send(loans, "storeLoan", "ln-7", h("x"), a, b)
    c.send(loans, "storeLoan", "LN-7 ", h("y"), a, b)
    assert loans.call("loanCount") == 3


def test_mark_repaid_records_it_once_and_emits_loan_repaid(c, loans):
    a, b = c.account(1), c.account(2)
    stored = c.send(loans, "storeLoan", "LN-9", h("doc"), a, b)
    c.increase_time(30)
    receipt = c.send(loans, "markRepaid", "LN-9", h("paid"))
    assert c.events(receipt, loans) == [
        ("LoanRepaid", {"loanKey": hx(key("LN-9")), "loanId": "LN-9", "repaidHash": hx(h("paid"))})
    ]
    loan = loans.call("getLoan", "LN-9")
    assert loan[0:2] == (True, h("doc"))
    assert loan[4:] == (c.block_time(stored), True, h("paid"), c.block_time(receipt))
    err = c.revert_of(loans, "markRepaid", "LN-9", h("again"))
    assert (err.name, err.args) == ("LoanAlreadyRepaid", {"loanKey": hx(key("LN-9"))})
    # a repaid loan is still stored: it cannot be stored again
    err = c.revert_of(loans, "storeLoan", "LN-9", h("doc"), a, b)
    assert err.name == "LoanAlreadyStored"


def test_mark_repaid_reverts(c, loans):
    outsider = c.account(3)
    err = c.revert_of(loans, "markRepaid", "nope", h("paid"))
    assert (err.name, err.args) == ("LoanNotFound", {"loanKey": hx(key("nope"))})
    err = c.revert_of(loans, "markRepaid", "", h("paid"))
    assert (err.name, err.args) == ("LoanNotFound", {"loanKey": hx(key(""))})
    c.send(loans, "storeLoan", "LN", h("d"), c.account(1), c.account(2))
    err = c.revert_of(loans, "markRepaid", "LN", h("paid"), sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}
    err = c.revert_of(loans, "markRepaid", "LN", ZERO32)
    assert (err.name, err.args) == ("ZeroHash", {})
    assert loans.call("getLoan", "LN")[5] is False
