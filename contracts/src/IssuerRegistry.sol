// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OperatorRoles} from "./OperatorRoles.sol";
import {IIssuerRegistry} from "./IIssuerRegistry.sol";
import {ZeroAddress, IssuerNotRegistered} from "./Errors.sol";

/// @title IssuerRegistry
/// @notice On-chain list of the issuers (companies) the platform has verified (KYB), each anchored
///         to the hash of its verifiable credential and the IPFS location of that credential.
/// @dev An issuer can be revoked and later registered again; a new registration overwrites the
///      previous record (registeredAt is the latest registration, revokedAt is reset to 0).
contract IssuerRegistry is OperatorRoles, IIssuerRegistry {
    /// @dev One slot for the flags and times, one for the VC hash, then the IPFS string.
    struct Issuer {
        bool registered;
        uint64 registeredAt;
        uint64 revokedAt;
        bytes32 vcHash;
        string ipfsHash;
    }

    mapping(address issuer => Issuer) private _issuers;

    /// @notice `issuer` is already registered (and not revoked).
    /// @param issuer The issuer's address.
    error IssuerAlreadyRegistered(address issuer);

    /// @notice `issuer` was registered (or registered again after a revocation).
    /// @param issuer The issuer's address.
    /// @param vcHash Hash of the issuer's verifiable credential.
    /// @param ipfsHash IPFS location (CID) of the credential document.
    event IssuerRegistered(address indexed issuer, bytes32 vcHash, string ipfsHash);

    /// @notice `issuer`'s registration was revoked.
    /// @param issuer The issuer's address.
    event IssuerRevoked(address indexed issuer);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE.
    constructor(address admin, address operator) OperatorRoles(admin, operator) {}

    /// @notice Registers `issuer` (allowed again after a revocation: a new registration).
    /// @param issuer The issuer's address.
    /// @param vcHash Hash of the issuer's verifiable credential.
    /// @param ipfsHash IPFS location (CID) of the credential document.
    function registerIssuer(address issuer, bytes32 vcHash, string calldata ipfsHash)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (issuer == address(0)) revert ZeroAddress();
        Issuer storage record = _issuers[issuer];
        if (record.registered) revert IssuerAlreadyRegistered(issuer);
        record.registered = true;
        record.registeredAt = uint64(block.timestamp);
        record.revokedAt = 0;
        record.vcHash = vcHash;
        record.ipfsHash = ipfsHash;
        emit IssuerRegistered(issuer, vcHash, ipfsHash);
    }

    /// @notice Revokes `issuer`'s registration; the record is kept with its revocation time.
    /// @param issuer The issuer's address.
    function revokeIssuer(address issuer) external onlyRole(OPERATOR_ROLE) {
        Issuer storage record = _issuers[issuer];
        if (!record.registered) revert IssuerNotRegistered(issuer);
        record.registered = false;
        record.revokedAt = uint64(block.timestamp);
        emit IssuerRevoked(issuer);
    }

    /// @inheritdoc IIssuerRegistry
    function isRegisteredIssuer(address issuer) external view returns (bool) {
        return _issuers[issuer].registered;
    }

    /// @notice The stored record of `issuer` (all zero when never registered).
    /// @param issuer The issuer's address.
    /// @return registered Whether the issuer is currently registered.
    /// @return vcHash Hash of the verifiable credential of the latest registration.
    /// @return ipfsHash IPFS location of the credential of the latest registration.
    /// @return registeredAt Block time of the latest registration.
    /// @return revokedAt Block time of the revocation, 0 while registered.
    function issuerOf(address issuer)
        external
        view
        returns (bool registered, bytes32 vcHash, string memory ipfsHash, uint64 registeredAt, uint64 revokedAt)
    {
        Issuer storage record = _issuers[issuer];
        return (record.registered, record.vcHash, record.ipfsHash, record.registeredAt, record.revokedAt);
    }
}
