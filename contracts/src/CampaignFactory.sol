// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {OperatorRoles} from "./OperatorRoles.sol";
import {IIssuerRegistry} from "./IIssuerRegistry.sol";
import {Campaign} from "./Campaign.sol";
import {ZeroAddress, IssuerNotRegistered} from "./Errors.sol";

/// @title CampaignFactory
/// @notice Creates one Campaign per platform campaign as an EIP-1167 clone at an address derived from
///         its campaignRef (CREATE2, salt = campaignRef), so the address is known before creation.
/// @dev The factory's OPERATOR_ROLE is also the write role of every campaign it creates.
contract CampaignFactory is OperatorRoles {
    /// @notice The Campaign implementation every clone delegates to (deployed by this constructor).
    address public immutable implementation;
    /// @notice The IssuerRegistry consulted before creating a campaign.
    address public immutable issuerRegistry;

    /// @notice The campaign created for a reference (zero address when none).
    mapping(bytes32 campaignRef => address) public campaignOf;
    /// @notice Number of campaigns created.
    uint256 public campaignCount;

    /// @notice `campaignRef` already has a campaign (refs are write-once).
    /// @param campaignRef The reference.
    error CampaignRefUsed(bytes32 campaignRef);
    /// @notice goal is zero, or above the hard cap, or the hard cap exceeds type(uint128).max.
    error InvalidCampaignTerms();
    /// @notice The deadline is not in the future.
    /// @param deadline The rejected deadline (unix seconds).
    error DeadlineInPast(uint64 deadline);

    /// @notice A campaign was created.
    /// @param campaignRef The platform's reference of the campaign.
    /// @param campaignAddress The new Campaign clone.
    /// @param issuer The issuer raising funds.
    /// @param goal Minimum raised for success (base units).
    /// @param hardCap Maximum that may be raised (base units).
    /// @param deadline Last second (unix time) at which investments may be recorded.
    event CampaignCreated(
        bytes32 indexed campaignRef,
        address indexed campaignAddress,
        address indexed issuer,
        uint256 goal,
        uint256 hardCap,
        uint64 deadline
    );

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param operator Receives OPERATOR_ROLE (here and, through the factory, on every campaign).
    /// @param issuerRegistry_ The IssuerRegistry to consult.
    constructor(address admin, address operator, address issuerRegistry_) OperatorRoles(admin, operator) {
        if (issuerRegistry_ == address(0)) revert ZeroAddress();
        issuerRegistry = issuerRegistry_;
        implementation = address(new Campaign());
    }

    /// @notice Creates the campaign `campaignRef` for a registered `issuer`.
    /// @param campaignRef The platform's write-once reference (also the CREATE2 salt).
    /// @param issuer The issuer raising funds; must be registered in the IssuerRegistry.
    /// @param goal Minimum raised for success (base units, > 0).
    /// @param hardCap Maximum that may be raised (base units, >= goal, <= type(uint128).max).
    /// @param deadline Last second (unix time) at which investments may be recorded; must be in the future.
    /// @return campaign The new campaign's address (equal to predictCampaignAddress(campaignRef)).
    function createCampaign(bytes32 campaignRef, address issuer, uint256 goal, uint256 hardCap, uint64 deadline)
        external
        onlyRole(OPERATOR_ROLE)
        returns (address campaign)
    {
        if (issuer == address(0)) revert ZeroAddress();
        if (!IIssuerRegistry(issuerRegistry).isRegisteredIssuer(issuer)) revert IssuerNotRegistered(issuer);
        if (campaignOf[campaignRef] != address(0)) revert CampaignRefUsed(campaignRef);
        if (goal == 0 || goal > hardCap || hardCap > type(uint128).max) revert InvalidCampaignTerms();
        if (deadline <= block.timestamp) revert DeadlineInPast(deadline);
        campaign = Clones.cloneDeterministic(implementation, campaignRef);
        campaignOf[campaignRef] = campaign;
        unchecked {
            ++campaignCount;
        }
        Campaign(campaign).initialize(address(this), campaignRef, issuer, goal, hardCap, deadline);
        emit CampaignCreated(campaignRef, campaign, issuer, goal, hardCap, deadline);
    }

    /// @notice The address the campaign for `campaignRef` has (or will have once created).
    /// @param campaignRef The platform's reference of the campaign.
    /// @return The clone's CREATE2 address.
    function predictCampaignAddress(bytes32 campaignRef) external view returns (address) {
        return Clones.predictDeterministicAddress(implementation, campaignRef);
    }
}
