// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IIssuerRegistry
/// @notice The part of the IssuerRegistry that other contracts consult.
interface IIssuerRegistry {
    /// @notice Whether `issuer` is currently registered (registered and not revoked since).
    /// @param issuer The issuer's address.
    /// @return True when the issuer is registered.
    function isRegisteredIssuer(address issuer) external view returns (bool);
}
