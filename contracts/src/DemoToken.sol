// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {OperatorRoles} from "./OperatorRoles.sol";

/// @title DemoToken
/// @notice A plain ERC-20 for development chains and tests (a stand-in for a stablecoin the platform
///         is configured to track); operators mint it. Production configures a real token instead.
contract DemoToken is ERC20, OperatorRoles {
    uint8 private immutable _decimals;

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param decimals_ Decimal places of the token's amounts.
    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE (may mint).
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address admin, address operator)
        ERC20(name_, symbol_)
        OperatorRoles(admin, operator)
    {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` to `to`.
    /// @param to Recipient.
    /// @param amount Base units.
    function mint(address to, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
