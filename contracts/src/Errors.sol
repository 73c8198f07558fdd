// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice An address argument that must be set was the zero address.
error ZeroAddress();

/// @notice `issuer` is not (or no longer) registered in the IssuerRegistry.
/// @param issuer The address that was looked up.
error IssuerNotRegistered(address issuer);

/// @notice A batch call carried no items.
error EmptyBatch();
