// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ZeroAddress} from "./Errors.sol";

/// @title Campaign
/// @notice One fundraising campaign of an issuer: records investments (capped at the hard cap),
///         cancellations, and the final outcome. Amounts are integer base units of the settlement asset;
///         no funds move through this contract, it is the on-chain ledger of the campaign.
/// @dev Deployed by CampaignFactory as EIP-1167 clones of a single implementation. Write access is
///      delegated to the factory: a caller may write when it holds OPERATOR_ROLE *at the factory*, so
///      rotating the operator at the factory applies to every campaign at once.
///      Amount fields are stored as uint128 (the factory rejects a hard cap above type(uint128).max).
contract Campaign is Initializable {
    /// @notice Role (checked at the factory) allowed to write to campaigns.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @dev Storage is packed so recordInvestment touches three campaign slots (plus its own records).
    address private _factory; // slot 0
    uint96 private _investmentCount; // slot 0
    address private _issuer; // slot 1
    uint64 private _deadline; // slot 1
    bool private _finalized; // slot 1
    bool private _successful; // slot 1
    uint128 private _hardCap; // slot 2
    uint128 private _raised; // slot 2
    uint128 private _goal; // slot 3
    bytes32 private _campaignRef; // slot 4

    /// @dev `investor == address(0)` means the ref is unknown (a recorded investor is never zero).
    struct Investment {
        address investor;
        bool cancelled;
        uint128 amount;
    }

    mapping(bytes32 investmentRef => Investment) private _investments;
    mapping(address investor => uint256) private _investedBy;

    /// @notice `account` does not hold OPERATOR_ROLE at the factory.
    /// @param account The caller.
    error NotOperator(address account);
    /// @notice An investment amount of zero.
    error ZeroAmount();
    /// @notice The campaign is finalized: no more writes.
    error CampaignClosed();
    /// @notice The campaign's deadline has passed.
    /// @param deadline The campaign's deadline (unix seconds).
    error DeadlinePassed(uint64 deadline);
    /// @notice `investmentRef` was already used (refs are write-once, cancelled ones included).
    /// @param investmentRef The reference.
    error InvestmentRefUsed(bytes32 investmentRef);
    /// @notice Recording the investment would raise more than the hard cap.
    /// @param hardCap The campaign's hard cap.
    /// @param raisedAfter What would have been raised (saturated at type(uint256).max).
    error HardCapExceeded(uint256 hardCap, uint256 raisedAfter);
    /// @notice No investment was recorded under `investmentRef`.
    /// @param investmentRef The reference.
    error UnknownInvestment(bytes32 investmentRef);
    /// @notice The investment under `investmentRef` is already cancelled.
    /// @param investmentRef The reference.
    error InvestmentAlreadyCancelled(bytes32 investmentRef);

    /// @notice An investment was recorded.
    /// @param investmentRef The platform's write-once reference of the investment.
    /// @param investor The investor's address.
    /// @param amount The amount invested (base units).
    /// @param raised The campaign's total raised after this investment.
    event InvestmentRecorded(bytes32 indexed investmentRef, address indexed investor, uint256 amount, uint256 raised);

    /// @notice A recorded investment was cancelled and no longer counts towards `raised`.
    /// @param investmentRef The investment's reference.
    /// @param investor The investor's address.
    /// @param amount The amount that was invested.
    /// @param raised The campaign's total raised after the cancellation.
    event InvestmentCancelled(bytes32 indexed investmentRef, address indexed investor, uint256 amount, uint256 raised);

    /// @notice The campaign was closed.
    /// @param successful Whether `raised` reached the goal.
    /// @param raised The final total raised.
    event CampaignFinalized(bool successful, uint256 raised);

    /// @dev The implementation itself can never be initialized; only its clones can.
    constructor() {
        _disableInitializers();
    }

    modifier onlyOperator() {
        _checkOperator();
        _;
    }

    /// @notice Sets the campaign up; called once by the factory in the clone's creation transaction.
    /// @dev Terms are validated by CampaignFactory.createCampaign (goal > 0, goal <= hardCap <= uint128 max,
    ///      deadline in the future) before the clone is created.
    /// @param factory_ The CampaignFactory whose OPERATOR_ROLE holders may write.
    /// @param campaignRef_ The platform's write-once reference of the campaign.
    /// @param issuer_ The issuer raising funds.
    /// @param goal_ Minimum raised for the campaign to succeed.
    /// @param hardCap_ Maximum that may be raised.
    /// @param deadline_ Last second (unix time) at which investments may be recorded.
    function initialize(
        address factory_,
        bytes32 campaignRef_,
        address issuer_,
        uint256 goal_,
        uint256 hardCap_,
        uint64 deadline_
    ) external initializer {
        _factory = factory_;
        _campaignRef = campaignRef_;
        _issuer = issuer_;
        _goal = uint128(goal_);
        _hardCap = uint128(hardCap_);
        _deadline = deadline_;
    }

    /// @notice Records an investment of `amount` by `investor` under the write-once `investmentRef`.
    /// @param investor The investor's address.
    /// @param amount The amount invested (base units, > 0).
    /// @param investmentRef The platform's reference of the investment.
    function recordInvestment(address investor, uint256 amount, bytes32 investmentRef) external onlyOperator {
        if (investor == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (_finalized) revert CampaignClosed();
        uint64 deadline_ = _deadline;
        if (block.timestamp > deadline_) revert DeadlinePassed(deadline_);
        Investment storage investment = _investments[investmentRef];
        if (investment.investor != address(0)) revert InvestmentRefUsed(investmentRef);
        uint256 cap = _hardCap;
        uint256 raisedBefore = _raised;
        uint256 room;
        unchecked {
            room = cap - raisedBefore; // raised never exceeds the hard cap
        }
        if (amount > room) revert HardCapExceeded(cap, Math.saturatingAdd(raisedBefore, amount));
        uint256 raisedAfter;
        unchecked {
            raisedAfter = raisedBefore + amount; // <= cap <= type(uint128).max
            ++_investmentCount;
        }
        _raised = uint128(raisedAfter);
        investment.investor = investor;
        investment.amount = uint128(amount);
        _investedBy[investor] += amount;
        emit InvestmentRecorded(investmentRef, investor, amount, raisedAfter);
    }

    /// @notice Cancels the investment recorded under `investmentRef`; its amount stops counting.
    /// @dev The ref stays used: it can never be recorded again.
    /// @param investmentRef The investment's reference.
    function cancelInvestment(bytes32 investmentRef) external onlyOperator {
        Investment storage investment = _investments[investmentRef];
        address investor = investment.investor;
        if (investor == address(0)) revert UnknownInvestment(investmentRef);
        if (investment.cancelled) revert InvestmentAlreadyCancelled(investmentRef);
        if (_finalized) revert CampaignClosed();
        uint256 amount = investment.amount;
        investment.cancelled = true;
        uint256 raisedAfter;
        unchecked {
            // the amount was counted in both totals when it was recorded
            raisedAfter = _raised - amount;
            _investedBy[investor] -= amount;
        }
        _raised = uint128(raisedAfter);
        emit InvestmentCancelled(investmentRef, investor, amount, raisedAfter);
    }

    /// @notice Closes the campaign (possibly before the deadline); successful when raised >= goal.
    function finalize() external onlyOperator {
        if (_finalized) revert CampaignClosed();
        uint256 raised_ = _raised;
        bool successful_ = raised_ >= _goal;
        _finalized = true;
        _successful = successful_;
        emit CampaignFinalized(successful_, raised_);
    }

    /// @notice The factory that created this campaign (holds the OPERATOR_ROLE list).
    /// @return The factory's address.
    function factory() external view returns (address) {
        return _factory;
    }

    /// @notice The platform's reference of the campaign.
    /// @return The reference.
    function campaignRef() external view returns (bytes32) {
        return _campaignRef;
    }

    /// @notice The issuer raising funds.
    /// @return The issuer's address.
    function issuer() external view returns (address) {
        return _issuer;
    }

    /// @notice Minimum raised for success.
    /// @return The goal (base units).
    function goal() external view returns (uint256) {
        return _goal;
    }

    /// @notice Maximum that may be raised.
    /// @return The hard cap (base units).
    function hardCap() external view returns (uint256) {
        return _hardCap;
    }

    /// @notice Last second at which investments may be recorded.
    /// @return The deadline (unix seconds).
    function deadline() external view returns (uint64) {
        return _deadline;
    }

    /// @notice Sum of the recorded, not cancelled investments.
    /// @return The total raised (base units).
    function raised() external view returns (uint256) {
        return _raised;
    }

    /// @notice Whether the campaign is closed.
    /// @return True once finalize() ran.
    function finalized() external view returns (bool) {
        return _finalized;
    }

    /// @notice Whether the campaign closed with raised >= goal (false while open).
    /// @return True when finalized successfully.
    function successful() external view returns (bool) {
        return _successful;
    }

    /// @notice The investment recorded under `investmentRef` (zero investor when unknown).
    /// @param investmentRef The investment's reference.
    /// @return investor The investor's address.
    /// @return amount The amount invested.
    /// @return cancelled Whether it was cancelled.
    function investmentOf(bytes32 investmentRef)
        external
        view
        returns (address investor, uint256 amount, bool cancelled)
    {
        Investment storage investment = _investments[investmentRef];
        return (investment.investor, investment.amount, investment.cancelled);
    }

    /// @notice Sum of `investor`'s recorded, not cancelled investments in this campaign.
    /// @param investor The investor's address.
    /// @return The amount (base units).
    function investedBy(address investor) external view returns (uint256) {
        return _investedBy[investor];
    }

    /// @notice Number of investments ever recorded (cancelled ones included).
    /// @return The count.
    function investmentCount() external view returns (uint256) {
        return _investmentCount;
    }

    function _checkOperator() private view {
        if (!IAccessControl(_factory).hasRole(OPERATOR_ROLE, msg.sender)) revert NotOperator(msg.sender);
    }
}
