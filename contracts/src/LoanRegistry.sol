// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OperatorRoles} from "./OperatorRoles.sol";
import {ZeroAddress} from "./Errors.sol";

/// @title LoanRegistry
/// @notice Anchors loans (the hash of each loan's canonical document) and their repayment.
/// @dev A loan is keyed by loanKey = keccak256(bytes(loanId)); loan ids are 1..100 bytes.
contract LoanRegistry is OperatorRoles {
    /// @notice Longest accepted loan id, in bytes.
    uint256 public constant MAX_LOAN_ID_LENGTH = 100;

    /// @dev storedAt != 0 means the loan exists; repaidAt != 0 means it is repaid.
    struct Loan {
        address borrower;
        uint64 storedAt;
        address lender;
        uint64 repaidAt;
        bytes32 loanHash;
        bytes32 repaidHash;
    }

    mapping(bytes32 loanKey => Loan) private _loans;
    uint256 private _loanCount;

    /// @notice An empty loan id.
    error EmptyLoanId();
    /// @notice A loan id longer than MAX_LOAN_ID_LENGTH bytes.
    error LoanIdTooLong();
    /// @notice A zero hash.
    error ZeroHash();
    /// @notice The loan is already stored (loans are write-once).
    /// @param loanKey keccak256 of the loan id.
    error LoanAlreadyStored(bytes32 loanKey);
    /// @notice No loan is stored under the id.
    /// @param loanKey keccak256 of the loan id.
    error LoanNotFound(bytes32 loanKey);
    /// @notice The loan is already marked repaid.
    /// @param loanKey keccak256 of the loan id.
    error LoanAlreadyRepaid(bytes32 loanKey);

    /// @notice A loan was stored.
    /// @param loanKey keccak256(bytes(loanId)).
    /// @param loanId The platform's loan id.
    /// @param loanHash Hash of the loan's canonical document.
    /// @param borrower The borrower's address.
    /// @param lender The lender's address.
    event LoanStored(
        bytes32 indexed loanKey, string loanId, bytes32 loanHash, address indexed borrower, address indexed lender
    );

    /// @notice A loan was marked repaid.
    /// @param loanKey keccak256(bytes(loanId)).
    /// @param loanId The platform's loan id.
    /// @param repaidHash Hash of the repayment document.
    event LoanRepaid(bytes32 indexed loanKey, string loanId, bytes32 repaidHash);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE.
    constructor(address admin, address operator) OperatorRoles(admin, operator) {}

    /// @notice Stores loan `loanId` (write-once).
    /// @param loanId The platform's loan id (1..100 bytes).
    /// @param loanHash Hash of the loan's canonical document (non-zero).
    /// @param borrower The borrower's address.
    /// @param lender The lender's address.
    function storeLoan(string calldata loanId, bytes32 loanHash, address borrower, address lender)
        external
        onlyRole(OPERATOR_ROLE)
    {
        uint256 length = bytes(loanId).length;
        if (length == 0) revert EmptyLoanId();
        if (length > MAX_LOAN_ID_LENGTH) revert LoanIdTooLong();
        if (loanHash == bytes32(0)) revert ZeroHash();
        if (borrower == address(0) || lender == address(0)) revert ZeroAddress();
        bytes32 loanKey = keccak256(bytes(loanId));
        Loan storage loan = _loans[loanKey];
        if (loan.storedAt != 0) revert LoanAlreadyStored(loanKey);
        loan.borrower = borrower;
        loan.storedAt = uint64(block.timestamp);
        loan.lender = lender;
        loan.loanHash = loanHash;
        unchecked {
            ++_loanCount;
        }
        emit LoanStored(loanKey, loanId, loanHash, borrower, lender);
    }

    /// @notice Marks loan `loanId` repaid (once).
    /// @param loanId The platform's loan id.
    /// @param repaidHash Hash of the repayment document (non-zero).
    function markRepaid(string calldata loanId, bytes32 repaidHash) external onlyRole(OPERATOR_ROLE) {
        bytes32 loanKey = keccak256(bytes(loanId));
        Loan storage loan = _loans[loanKey];
        if (loan.storedAt == 0) revert LoanNotFound(loanKey);
        if (loan.repaidAt != 0) revert LoanAlreadyRepaid(loanKey);
        if (repaidHash == bytes32(0)) revert ZeroHash();
        loan.repaidAt = uint64(block.timestamp);
        loan.repaidHash = repaidHash;
        emit LoanRepaid(loanKey, loanId, repaidHash);
    }

    /// @notice The stored state of loan `loanId` (all zero when not stored).
    /// @param loanId The platform's loan id.
    /// @return exists Whether the loan is stored.
    /// @return loanHash Hash of the loan's canonical document.
    /// @return borrower The borrower's address.
    /// @return lender The lender's address.
    /// @return storedAt Block time of storing.
    /// @return repaid Whether the loan is marked repaid.
    /// @return repaidHash Hash of the repayment document.
    /// @return repaidAt Block time of the repayment mark, 0 when not repaid.
    function getLoan(string calldata loanId)
        external
        view
        returns (
            bool exists,
            bytes32 loanHash,
            address borrower,
            address lender,
            uint64 storedAt,
            bool repaid,
            bytes32 repaidHash,
            uint64 repaidAt
        )
    {
        Loan storage loan = _loans[keccak256(bytes(loanId))];
        storedAt = loan.storedAt;
        repaidAt = loan.repaidAt;
        return (storedAt != 0, loan.loanHash, loan.borrower, loan.lender, storedAt, repaidAt != 0, loan.repaidHash, repaidAt);
    }

    /// @notice The key a loan id is stored under.
    /// @param loanId The platform's loan id.
    /// @return keccak256(bytes(loanId)).
    function loanKeyOf(string calldata loanId) external pure returns (bytes32) {
        return keccak256(bytes(loanId));
    }

    /// @notice Number of loans stored.
    /// @return The count.
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }
}
