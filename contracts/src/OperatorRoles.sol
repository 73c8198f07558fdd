// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ZeroAddress} from "./Errors.sol";

/// @title OperatorRoles
/// @notice Shared role setup of the LedgerBridge contracts: DEFAULT_ADMIN_ROLE manages roles,
///         OPERATOR_ROLE (the platform's signer) performs the writes.
/// @dev Role changes emit OpenZeppelin's RoleGranted / RoleRevoked / RoleAdminChanged events.
abstract contract OperatorRoles is AccessControl {
    /// @notice Role allowed to perform the contract's writes.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @param admin Receives DEFAULT_ADMIN_ROLE (grants and revokes roles).
    /// @param operator Receives OPERATOR_ROLE.
    constructor(address admin, address operator) {
        if (admin == address(0) || operator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
    }
}
