// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {ShareCertificate} from "../ShareCertificate.sol";

/// @title SafeMintShareCertificate
/// @notice TEST ONLY, never deployed by the platform: ShareCertificate as it was when it minted with
///         `_safeMint`, so a test can make a real mintBatch revert with ERC721InvalidReceiver(receiver)
///         and check that the platform isolates that receiver's certificate.
/// @dev `_safeMint` is `_mint` followed by ERC721Utils.checkOnERC721Received; ShareCertificate's mint
///      path is private, so the check is added after every mint here instead.
contract SafeMintShareCertificate is ShareCertificate {
    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE.
    constructor(address admin, address operator) ShareCertificate(admin, operator, "") {}

    /// @dev After a mint (from the zero address), ask `to` to accept the token, as `_safeMint` does.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from == address(0) && to != address(0)) {
            ERC721Utils.checkOnERC721Received(_msgSender(), address(0), to, tokenId, "");
        }
    }
}
