// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {OperatorRoles} from "./OperatorRoles.sol";
import {ZeroAddress, EmptyBatch} from "./Errors.sol";

/// @title CredentialVault
/// @notice Anchors credentials issued by institutions (banks, KYC providers, ...): single credentials
///         by fingerprint, and Merkle batches by root; both can be revoked and verified on chain.
///         Only fingerprints (hashes of the credential documents) are stored, never personal data.
/// @dev Writes on behalf of an institution may be sent by OPERATOR_ROLE or by the institution's own
///      address. An institution acting for itself must be active; the operator can still revoke the
///      credentials of an inactive institution.
///
///      Merkle batch leaf scheme (OpenZeppelin StandardMerkleTree, leaf encoding
///      ["bytes32", "address", "bytes32", "uint64"] = [fingerprint, subject, credentialType, expiresAt]):
///        leaf = keccak256(bytes.concat(keccak256(abi.encode(fingerprint, subject, credentialType, expiresAt))))
///      Proofs use sorted-pair hashing (MerkleProof.verifyCalldata). expiresAt = 0 means "never expires".
contract CredentialVault is OperatorRoles {
    /// @notice Input of issueCredential.
    /// @param institution The issuing institution (must be known and active).
    /// @param subject The credential holder's address.
    /// @param credentialType The credential's type (e.g. keccak256("KYC")).
    /// @param fingerprint Hash of the credential document; anchored once across the vault.
    /// @param credentialRef The platform's write-once reference.
    /// @param expiresAt Expiry (unix seconds), 0 for none.
    struct IssueRequest {
        address institution;
        address subject;
        bytes32 credentialType;
        bytes32 fingerprint;
        bytes32 credentialRef;
        uint64 expiresAt;
    }

    struct Institution {
        bool known;
        bool active;
        bool kycProvider;
        string name;
        string metadataUri;
    }

    /// @dev Three slots written at issuance; revokedAt (0 = not revoked) only on revocation.
    struct Credential {
        address institution;
        uint64 issuedAt; // 0 = no such credential
        address subject;
        uint64 expiresAt;
        bytes32 fingerprint;
        uint64 revokedAt;
    }

    struct Batch {
        address institution;
        uint32 count;
        uint64 anchoredAt; // 0 = not anchored
        uint256 batchId;
    }

    mapping(address institution => Institution) private _institutions;
    mapping(uint256 id => Credential) private _credentials;
    mapping(bytes32 fingerprint => uint256 id) private _idOfFingerprint;
    mapping(bytes32 credentialRef => uint256 id) private _idOfRef;
    mapping(bytes32 root => Batch) private _batches;
    mapping(bytes32 root => mapping(bytes32 leaf => bool)) private _revokedLeaves;
    uint256 private _credentialCount;
    uint256 private _batchCount;

    /// @notice `account` is neither an operator nor the institution concerned.
    /// @param account The caller.
    error NotAuthorized(address account);
    /// @notice `institution` was never upserted.
    /// @param institution The address.
    error UnknownInstitution(address institution);
    /// @notice `institution` is known but inactive.
    /// @param institution The address.
    error InstitutionInactive(address institution);
    /// @notice A zero fingerprint.
    error ZeroFingerprint();
    /// @notice `fingerprint` is already anchored (by another credential).
    /// @param fingerprint The fingerprint.
    error FingerprintUsed(bytes32 fingerprint);
    /// @notice `credentialRef` was already used (refs are write-once).
    /// @param credentialRef The reference.
    error CredentialRefUsed(bytes32 credentialRef);
    /// @notice The expiry is not in the future.
    /// @param expiresAt The rejected expiry.
    error ExpiryInPast(uint64 expiresAt);
    /// @notice No credential has id `id`.
    /// @param id The credential id.
    error UnknownCredential(uint256 id);
    /// @notice Credential `id` is already revoked.
    /// @param id The credential id.
    error CredentialAlreadyRevoked(uint256 id);
    /// @notice `root` is already anchored (roots are write-once).
    /// @param root The Merkle root.
    error BatchAlreadyAnchored(bytes32 root);
    /// @notice A zero Merkle root.
    error ZeroRoot();
    /// @notice `root` was never anchored.
    /// @param root The Merkle root.
    error UnknownBatch(bytes32 root);
    /// @notice `leaf` of batch `root` is already revoked.
    /// @param root The batch's Merkle root.
    /// @param leaf The leaf.
    error LeafAlreadyRevoked(bytes32 root, bytes32 leaf);

    /// @notice An institution was created or updated (the event carries its complete new state).
    /// @param institution The institution's address.
    /// @param name Display name.
    /// @param metadataUri URI of the institution's metadata document.
    /// @param kycProvider Whether it issues KYC credentials.
    /// @param active Whether it may issue and anchor.
    event InstitutionUpserted(
        address indexed institution, string name, string metadataUri, bool kycProvider, bool active
    );

    /// @notice A single credential was anchored.
    /// @param id The credential id (sequential from 1).
    /// @param institution The issuing institution.
    /// @param subject The holder.
    /// @param credentialType The credential's type.
    /// @param fingerprint Hash of the credential document.
    /// @param credentialRef The platform's reference.
    /// @param expiresAt Expiry (unix seconds), 0 for none.
    event CredentialIssued(
        uint256 indexed id,
        address indexed institution,
        address indexed subject,
        bytes32 credentialType,
        bytes32 fingerprint,
        bytes32 credentialRef,
        uint64 expiresAt
    );

    /// @notice A single credential was revoked.
    /// @param id The credential id.
    /// @param institution The issuing institution.
    /// @param reasonHash Hash of the revocation reason document.
    event CredentialRevoked(uint256 indexed id, address indexed institution, bytes32 reasonHash);

    /// @notice A Merkle batch of credentials was anchored.
    /// @param root The Merkle root.
    /// @param institution The issuing institution.
    /// @param count Number of leaves in the batch.
    /// @param batchId The batch id (sequential from 1).
    event BatchAnchored(bytes32 indexed root, address indexed institution, uint32 count, uint256 indexed batchId);

    /// @notice One leaf of a Merkle batch was revoked.
    /// @param root The batch's Merkle root.
    /// @param leaf The revoked leaf (see batchLeaf).
    /// @param institution The batch's institution.
    /// @param reasonHash Hash of the revocation reason document.
    event BatchLeafRevoked(bytes32 indexed root, bytes32 indexed leaf, address indexed institution, bytes32 reasonHash);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE.
    constructor(address admin, address operator) OperatorRoles(admin, operator) {}

    // ------------------------------------------------------------------ institutions

    /// @notice Creates or replaces the record of `institution`.
    /// @param institution The institution's address (also the address it may sign its own writes with).
    /// @param name Display name.
    /// @param metadataUri URI of the institution's metadata document.
    /// @param kycProvider Whether it issues KYC credentials.
    /// @param active Whether it may issue and anchor.
    function upsertInstitution(
        address institution,
        string calldata name,
        string calldata metadataUri,
        bool kycProvider,
        bool active
    ) external onlyRole(OPERATOR_ROLE) {
        if (institution == address(0)) revert ZeroAddress();
        Institution storage record = _institutions[institution];
        record.known = true;
        record.active = active;
        record.kycProvider = kycProvider;
        record.name = name;
        record.metadataUri = metadataUri;
        emit InstitutionUpserted(institution, name, metadataUri, kycProvider, active);
    }

    /// @notice The record of `institution` (all zero when unknown).
    /// @param institution The institution's address.
    /// @return known Whether it was ever upserted.
    /// @return active Whether it may issue and anchor.
    /// @return kycProvider Whether it issues KYC credentials.
    /// @return name Display name.
    /// @return metadataUri URI of its metadata document.
    function institutionOf(address institution)
        external
        view
        returns (bool known, bool active, bool kycProvider, string memory name, string memory metadataUri)
    {
        Institution storage record = _institutions[institution];
        return (record.known, record.active, record.kycProvider, record.name, record.metadataUri);
    }

    // ------------------------------------------------------------------ single credentials

    /// @notice Anchors one credential; callable by OPERATOR_ROLE or by `request.institution` itself.
    /// @param request The credential (see IssueRequest).
    /// @return id The new credential id (sequential from 1).
    function issueCredential(IssueRequest calldata request) external returns (uint256 id) {
        address institution = request.institution;
        _checkCaller(institution);
        _checkActive(institution);
        address subject = request.subject;
        bytes32 fingerprint = request.fingerprint;
        bytes32 credentialRef = request.credentialRef;
        uint64 expiresAt = request.expiresAt;
        if (subject == address(0)) revert ZeroAddress();
        if (fingerprint == bytes32(0)) revert ZeroFingerprint();
        if (_idOfFingerprint[fingerprint] != 0) revert FingerprintUsed(fingerprint);
        if (_idOfRef[credentialRef] != 0) revert CredentialRefUsed(credentialRef);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt);
        unchecked {
            id = ++_credentialCount;
        }
        Credential storage credential = _credentials[id];
        credential.institution = institution;
        credential.issuedAt = uint64(block.timestamp);
        credential.subject = subject;
        credential.expiresAt = expiresAt;
        credential.fingerprint = fingerprint;
        _idOfFingerprint[fingerprint] = id;
        _idOfRef[credentialRef] = id;
        emit CredentialIssued(id, institution, subject, request.credentialType, fingerprint, credentialRef, expiresAt);
    }

    /// @notice Revokes credential `id`; callable by OPERATOR_ROLE or by its (active) issuing institution.
    /// @param id The credential id.
    /// @param reasonHash Hash of the revocation reason document.
    function revokeCredential(uint256 id, bytes32 reasonHash) external {
        Credential storage credential = _credentials[id];
        if (credential.issuedAt == 0) revert UnknownCredential(id);
        address institution = credential.institution;
        _checkCallerOrActiveInstitution(institution);
        if (credential.revokedAt != 0) revert CredentialAlreadyRevoked(id);
        credential.revokedAt = uint64(block.timestamp);
        emit CredentialRevoked(id, institution, reasonHash);
    }

    /// @notice The state of credential `id` (all zero when it does not exist).
    /// @param id The credential id.
    /// @return exists Whether the credential exists.
    /// @return revoked Whether it was revoked.
    /// @return expired Whether its expiry has passed (expiresAt != 0 && expiresAt <= now).
    /// @return issuedAt Block time of issuance.
    /// @return revokedAt Block time of revocation, 0 when not revoked.
    /// @return expiresAt Expiry, 0 for none.
    /// @return fingerprint The anchored fingerprint.
    /// @return institution The issuing institution.
    /// @return subject The holder.
    function credentialStatus(uint256 id)
        external
        view
        returns (
            bool exists,
            bool revoked,
            bool expired,
            uint64 issuedAt,
            uint64 revokedAt,
            uint64 expiresAt,
            bytes32 fingerprint,
            address institution,
            address subject
        )
    {
        Credential storage credential = _credentials[id];
        issuedAt = credential.issuedAt;
        revokedAt = credential.revokedAt;
        expiresAt = credential.expiresAt;
        exists = issuedAt != 0;
        revoked = revokedAt != 0;
        expired = _isExpired(expiresAt);
        fingerprint = credential.fingerprint;
        institution = credential.institution;
        subject = credential.subject;
    }

    /// @notice Whether credential `id` exists, carries `fingerprint`, and is neither revoked nor expired.
    /// @param id The credential id.
    /// @param fingerprint The fingerprint to check.
    /// @return True when the credential is valid with that fingerprint.
    function verifyFingerprint(uint256 id, bytes32 fingerprint) external view returns (bool) {
        Credential storage credential = _credentials[id];
        return credential.issuedAt != 0 && credential.fingerprint == fingerprint && credential.revokedAt == 0
            && !_isExpired(credential.expiresAt);
    }

    /// @notice The credential that anchored `fingerprint`.
    /// @param fingerprint The fingerprint.
    /// @return The credential id, 0 when none.
    function credentialIdOfFingerprint(bytes32 fingerprint) external view returns (uint256) {
        return _idOfFingerprint[fingerprint];
    }

    /// @notice The credential issued under `credentialRef`.
    /// @param credentialRef The platform's reference.
    /// @return The credential id, 0 when none.
    function credentialIdOfRef(bytes32 credentialRef) external view returns (uint256) {
        return _idOfRef[credentialRef];
    }

    /// @notice Number of single credentials issued (also the highest id).
    /// @return The count.
    function credentialCount() external view returns (uint256) {
        return _credentialCount;
    }

    // ------------------------------------------------------------------ Merkle batches

    /// @notice Anchors the Merkle root of a batch of `count` credentials issued by `institution`;
    ///         callable by OPERATOR_ROLE or by `institution` itself. See the contract doc for the leaf scheme.
    /// @param root The Merkle root (write-once).
    /// @param count Number of leaves (> 0).
    /// @param institution The issuing institution (must be known and active).
    function anchorBatch(bytes32 root, uint32 count, address institution) external {
        _checkCaller(institution);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        _checkActive(institution);
        Batch storage batch = _batches[root];
        if (batch.anchoredAt != 0) revert BatchAlreadyAnchored(root);
        uint256 batchId;
        unchecked {
            batchId = ++_batchCount;
        }
        batch.institution = institution;
        batch.count = count;
        batch.anchoredAt = uint64(block.timestamp);
        batch.batchId = batchId;
        emit BatchAnchored(root, institution, count, batchId);
    }

    /// @notice Revokes `leaf` of batch `root`; callable by OPERATOR_ROLE or by the batch's (active)
    ///         institution. Membership of the leaf is not checked (that needs a proof); revoking a leaf
    ///         that is not in the tree has no effect on any valid credential.
    /// @param root The batch's Merkle root.
    /// @param leaf The leaf to revoke (see batchLeaf).
    /// @param reasonHash Hash of the revocation reason document.
    function revokeBatchLeaf(bytes32 root, bytes32 leaf, bytes32 reasonHash) external {
        Batch storage batch = _batches[root];
        if (batch.anchoredAt == 0) revert UnknownBatch(root);
        address institution = batch.institution;
        _checkCallerOrActiveInstitution(institution);
        mapping(bytes32 => bool) storage revoked = _revokedLeaves[root];
        if (revoked[leaf]) revert LeafAlreadyRevoked(root, leaf);
        revoked[leaf] = true;
        emit BatchLeafRevoked(root, leaf, institution, reasonHash);
    }

    /// @notice The leaf of a batch credential:
    ///         keccak256(bytes.concat(keccak256(abi.encode(fingerprint, subject, credentialType, expiresAt)))).
    /// @param fingerprint Hash of the credential document.
    /// @param subject The holder.
    /// @param credentialType The credential's type.
    /// @param expiresAt Expiry (unix seconds), 0 for none.
    /// @return The leaf hash.
    function batchLeaf(bytes32 fingerprint, address subject, bytes32 credentialType, uint64 expiresAt)
        external
        pure
        returns (bytes32)
    {
        return _leaf(fingerprint, subject, credentialType, expiresAt);
    }

    /// @notice Verifies a batch credential against the anchored `root`.
    /// @param root The batch's Merkle root.
    /// @param fingerprint Hash of the credential document.
    /// @param subject The holder.
    /// @param credentialType The credential's type.
    /// @param expiresAt Expiry (unix seconds), 0 for none.
    /// @param proof The Merkle proof of the leaf (sorted-pair hashing).
    /// @return valid True only when the root is anchored, the proof checks, and the leaf is neither
    ///         revoked nor expired.
    /// @return revoked Whether the leaf is revoked in this batch.
    /// @return expired Whether expiresAt has passed.
    function verifyBatchCredential(
        bytes32 root,
        bytes32 fingerprint,
        address subject,
        bytes32 credentialType,
        uint64 expiresAt,
        bytes32[] calldata proof
    ) external view returns (bool valid, bool revoked, bool expired) {
        bytes32 leaf = _leaf(fingerprint, subject, credentialType, expiresAt);
        revoked = _revokedLeaves[root][leaf];
        expired = _isExpired(expiresAt);
        valid = !revoked && !expired && _batches[root].anchoredAt != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice The batch anchored under `root` (all zero when not anchored).
    /// @param root The Merkle root.
    /// @return anchored Whether the root is anchored.
    /// @return batchId The batch id.
    /// @return institution The issuing institution.
    /// @return count Number of leaves.
    /// @return anchoredAt Block time of anchoring.
    function batchOf(bytes32 root)
        external
        view
        returns (bool anchored, uint256 batchId, address institution, uint32 count, uint64 anchoredAt)
    {
        Batch storage batch = _batches[root];
        anchoredAt = batch.anchoredAt;
        return (anchoredAt != 0, batch.batchId, batch.institution, batch.count, anchoredAt);
    }

    /// @notice Whether `leaf` of batch `root` was revoked.
    /// @param root The batch's Merkle root.
    /// @param leaf The leaf.
    /// @return True when revoked.
    function isLeafRevoked(bytes32 root, bytes32 leaf) external view returns (bool) {
        return _revokedLeaves[root][leaf];
    }

    /// @notice Number of batches anchored (also the highest batch id).
    /// @return The count.
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    // ------------------------------------------------------------------ internals

    /// @dev The caller is the institution itself or an operator.
    function _checkCaller(address institution) private view {
        if (msg.sender != institution && !hasRole(OPERATOR_ROLE, msg.sender)) revert NotAuthorized(msg.sender);
    }

    /// @dev The caller is an operator, or the institution itself while it is active.
    function _checkCallerOrActiveInstitution(address institution) private view {
        if (hasRole(OPERATOR_ROLE, msg.sender)) return;
        if (msg.sender != institution) revert NotAuthorized(msg.sender);
        _checkActive(institution);
    }

    function _checkActive(address institution) private view {
        Institution storage record = _institutions[institution];
        if (!record.known) revert UnknownInstitution(institution);
        if (!record.active) revert InstitutionInactive(institution);
    }

    function _isExpired(uint64 expiresAt) private view returns (bool) {
        return expiresAt != 0 && expiresAt <= block.timestamp;
    }

    function _leaf(bytes32 fingerprint, address subject, bytes32 credentialType, uint64 expiresAt)
        private
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(fingerprint, subject, credentialType, expiresAt))));
    }
}
