// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {OperatorRoles} from "./OperatorRoles.sol";
import {ZeroAddress, EmptyBatch} from "./Errors.sol";

/// @title ShareCertificate
/// @notice ERC-721 share certificates: each token certifies `shares` shares of a campaign's issuer,
///         minted by the operator under a write-once certificateRef. Holders may transfer them freely.
/// @dev Token ids are sequential from 1. A mint emits, in order: MetadataUpdate (ERC-4906),
///      CertificateMinted, then the ERC-721 Transfer from the zero address, so an indexer sees the
///      certificate before any transfer of it. Shares are stored as uint96 (SafeCast reverts above).
///      Mints never call the receiver (`_mint`, not `_safeMint`): a holder whose address has code
///      without onERC721Received (a contract wallet, an EOA delegated by EIP-7702) would otherwise
///      revert the whole mintBatch and keep every other investor of it without a certificate.
///      Holders' own safeTransferFrom still checks the receiver.
///      tokenURI is the URI given at mint when there is one, else `metadataBase` + tokenId +
///      "/metadata.json" (the platform's ERC-721 metadata document), so wallets show every
///      certificate without a per-token string in storage; the admin may move the base (ERC-4906).
contract ShareCertificate is ERC721URIStorage, OperatorRoles {
    /// @dev campaign and shares share one slot.
    struct Certificate {
        address campaign;
        uint96 shares;
        bytes32 certificateRef;
    }

    mapping(uint256 tokenId => Certificate) private _certificates;
    mapping(bytes32 certificateRef => uint256 tokenId) private _tokenIdOfRef;
    uint256 private _totalMinted;
    string private _metadataBase;

    /// @notice `certificateRef` was already minted (refs are write-once).
    /// @param certificateRef The reference.
    error CertificateRefUsed(bytes32 certificateRef);
    /// @notice A certificate for zero shares.
    error ZeroShares();
    /// @notice The batch arrays differ in length.
    error LengthMismatch();

    /// @notice Token URIs without one of their own now start with `base`.
    /// @param base The new metadata base URI.
    event MetadataBaseChanged(string base);

    /// @notice A certificate was minted.
    /// @param tokenId The new token id.
    /// @param certificateRef The platform's write-once reference of the certificate.
    /// @param campaign The campaign whose shares it certifies.
    /// @param owner The first holder.
    /// @param shares Number of shares certified.
    /// @param uri The token URI (metadata document).
    event CertificateMinted(
        uint256 indexed tokenId,
        bytes32 indexed certificateRef,
        address indexed campaign,
        address owner,
        uint256 shares,
        string uri
    );

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE.
    /// @param metadataBase_ Where the metadata documents live, e.g. "https://host/api/certificates/".
    constructor(address admin, address operator, string memory metadataBase_)
        ERC721("LedgerBridge Share Certificate", "LBSC")
        OperatorRoles(admin, operator)
    {
        _metadataBase = metadataBase_;
        emit MetadataBaseChanged(metadataBase_);
    }

    /// @notice Moves the metadata documents (a new public host): every token's URI follows.
    /// @param base The new base URI ("" leaves tokens without a URI of their own with none).
    function setMetadataBase(string calldata base) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _metadataBase = base;
        emit MetadataBaseChanged(base);
        if (_totalMinted > 0) emit BatchMetadataUpdate(1, _totalMinted);
    }

    /// @notice The current metadata base URI.
    /// @return The base.
    function metadataBase() external view returns (string memory) {
        return _metadataBase;
    }

    /// @notice The metadata URI of `tokenId`: its own URI if minted with one, else the base's document.
    /// @dev Reverts for a token that does not exist (ERC721NonexistentToken), as ERC-721 requires.
    /// @param tokenId The token id.
    /// @return The URI.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        string memory own = super.tokenURI(tokenId);
        if (bytes(own).length > 0 || bytes(_metadataBase).length == 0) return own;
        return string.concat(_metadataBase, Strings.toString(tokenId), "/metadata.json");
    }

    /// @notice Mints the certificate `certificateRef` of `shares` shares of `campaign` to `to`.
    /// @dev No receiver callback: `to` gets the token whatever code it has (see the contract's @dev).
    /// @param certificateRef The platform's write-once reference.
    /// @param to The first holder.
    /// @param campaign The campaign whose shares are certified.
    /// @param shares Number of shares (> 0, <= type(uint96).max).
    /// @param uri The token URI.
    /// @return tokenId The new token id.
    function mint(bytes32 certificateRef, address to, address campaign, uint256 shares, string calldata uri)
        external
        onlyRole(OPERATOR_ROLE)
        returns (uint256 tokenId)
    {
        if (campaign == address(0)) revert ZeroAddress();
        return _mintCertificate(certificateRef, to, campaign, shares, uri);
    }

    /// @notice Mints several certificates of one campaign; every item follows the rules of mint().
    /// @dev No receiver is called back, so no holder's code can revert the batch.
    /// @param refs The write-once references, one per certificate.
    /// @param to The first holders.
    /// @param campaign The campaign whose shares are certified.
    /// @param shares The share counts.
    /// @param uris The token URIs.
    function mintBatch(
        bytes32[] calldata refs,
        address[] calldata to,
        address campaign,
        uint256[] calldata shares,
        string[] calldata uris
    ) external onlyRole(OPERATOR_ROLE) {
        uint256 n = refs.length;
        if (to.length != n || shares.length != n || uris.length != n) revert LengthMismatch();
        if (n == 0) revert EmptyBatch();
        if (campaign == address(0)) revert ZeroAddress();
        for (uint256 i; i < n; ++i) {
            _mintCertificate(refs[i], to[i], campaign, shares[i], uris[i]);
        }
    }

    /// @notice The certificate data of `tokenId` (all zero when it was never minted).
    /// @param tokenId The token id.
    /// @return campaign The campaign whose shares it certifies.
    /// @return shares Number of shares.
    /// @return certificateRef The platform's reference.
    function certificateOf(uint256 tokenId)
        external
        view
        returns (address campaign, uint256 shares, bytes32 certificateRef)
    {
        Certificate storage certificate = _certificates[tokenId];
        return (certificate.campaign, certificate.shares, certificate.certificateRef);
    }

    /// @notice The token minted for `certificateRef`.
    /// @param certificateRef The platform's reference.
    /// @return The token id, 0 when none.
    function tokenIdOfRef(bytes32 certificateRef) external view returns (uint256) {
        return _tokenIdOfRef[certificateRef];
    }

    /// @notice Number of certificates minted (also the highest token id).
    /// @return The count.
    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    /// @inheritdoc ERC721URIStorage
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721URIStorage, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    function _mintCertificate(
        bytes32 certificateRef,
        address to,
        address campaign,
        uint256 shares,
        string calldata uri
    ) private returns (uint256 tokenId) {
        if (to == address(0)) revert ZeroAddress();
        if (shares == 0) revert ZeroShares();
        if (_tokenIdOfRef[certificateRef] != 0) revert CertificateRefUsed(certificateRef);
        unchecked {
            tokenId = ++_totalMinted;
        }
        _tokenIdOfRef[certificateRef] = tokenId;
        _certificates[tokenId] = Certificate(campaign, SafeCast.toUint96(shares), certificateRef);
        _setTokenURI(tokenId, uri);
        emit CertificateMinted(tokenId, certificateRef, campaign, to, shares, uri);
        _mint(to, tokenId);
    }
}
