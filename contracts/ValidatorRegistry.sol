// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStakeLock} from "./interfaces/IStakeLock.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";
import {SortitionTree} from "./libraries/SortitionTree.sol";

/// @title ValidatorRegistry
/// @notice ERC-20 staking for chat-oracle validators and stake-weighted committee selection.
/// @dev The selection pool is a SortitionTree over active stakes in whole STAKE_UNITs, so every change keeps
///      Σ active stakes = tree root × STAKE_UNIT = totalStake(). Fee-on-transfer and rebasing tokens are not supported
///      (they would break token balance = totalStake + totalUnbonding + slashedBalance).
contract ValidatorRegistry is IValidatorRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SortitionTree for SortitionTree.Tree;

    /// @notice Role allowed to slash (granted to the chat registry).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Longest endpoint URL accepted, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Longest unbonding period the admin can set.
    uint64 public constant MAX_UNBONDING_PERIOD = 365 days;

    /// @dev Active and unbonding stake of one validator (slot 0) and its unbonding unlock time (slot 1).
    struct Validator {
        uint128 stake;
        uint128 unbonding;
        uint64 unlockAt;
        bool listed;
    }

    IERC20 private immutable _token;
    /// @inheritdoc IValidatorRegistry
    uint256 public immutable STAKE_UNIT;

    uint256 private _minimumStake;
    uint64 private _unbondingPeriod;
    address private _treasury;
    uint256 private _totalUnbonding;
    uint256 private _slashedBalance;
    IStakeLock private _stakeLock;

    SortitionTree.Tree private _pool;
    mapping(address validator => Validator) private _validators;
    mapping(address validator => string) private _endpoints;
    address[] private _validatorList;

    /// @param token_           The staked ERC-20.
    /// @param stakeUnit        Stakes are whole multiples of this (e.g. 1e18 = one whole token).
    /// @param minimumStake_    Least positive active stake (whole units).
    /// @param unbondingPeriod_ Seconds between requestUnstake and withdraw; must exceed a request's lifetime
    ///                         (maxAttempts × (commitWindow + revealWindow)) so leavers stay slashable.
    /// @param treasury_        Receives slashed stake.
    /// @param admin            Holds DEFAULT_ADMIN_ROLE (parameters, granting SLASHER_ROLE).
    constructor(
        IERC20 token_,
        uint256 stakeUnit,
        uint256 minimumStake_,
        uint64 unbondingPeriod_,
        address treasury_,
        address admin
    ) {
        if (address(token_) == address(0) || treasury_ == address(0) || admin == address(0)) {
            revert ValidatorRegistryZeroAddress();
        }
        if (stakeUnit == 0) revert ValidatorRegistryZeroAmount();
        _token = token_;
        STAKE_UNIT = stakeUnit;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMinimumStake(minimumStake_);
        _setUnbondingPeriod(unbondingPeriod_);
        _setTreasury(treasury_);
    }

    /* STAKING */

    /// @inheritdoc IValidatorRegistry
    function stake(uint256 amount, string calldata endpoint) external nonReentrant {
        _requireWholeUnits(amount);
        Validator storage v = _validators[msg.sender];
        uint256 newStake = v.stake + amount;
        if (newStake < _minimumStake) revert ValidatorRegistryInsufficientStake(msg.sender, newStake, _minimumStake);

        v.stake = uint128(newStake);
        if (!v.listed) {
            v.listed = true;
            _validatorList.push(msg.sender);
        }
        _pool.set(msg.sender, newStake / STAKE_UNIT);
        emit ValidatorStaked(msg.sender, amount, newStake);
        if (bytes(endpoint).length != 0) _setEndpoint(msg.sender, endpoint);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IValidatorRegistry
    function setEndpoint(string calldata endpoint) external {
        _setEndpoint(msg.sender, endpoint);
    }

    /// @inheritdoc IValidatorRegistry
    function requestUnstake(uint256 amount) external nonReentrant {
        _requireWholeUnits(amount);
        Validator storage v = _validators[msg.sender];
        uint256 active = v.stake;
        if (amount > active) revert ValidatorRegistryUnstakeExceedsStake(msg.sender, amount, active);
        uint256 remaining = active - amount;
        if (remaining != 0 && remaining < _minimumStake) {
            revert ValidatorRegistryInsufficientStake(msg.sender, remaining, _minimumStake);
        }

        uint64 unlockAt = uint64(block.timestamp) + _unbondingPeriod;
        v.stake = uint128(remaining);
        v.unbonding += uint128(amount);
        v.unlockAt = unlockAt;
        _totalUnbonding += amount;
        _pool.set(msg.sender, remaining / STAKE_UNIT);
        emit UnstakeRequested(msg.sender, amount, remaining, unlockAt);
    }

    /// @inheritdoc IValidatorRegistry
    function withdraw() external nonReentrant {
        Validator storage v = _validators[msg.sender];
        uint256 amount = v.unbonding;
        if (amount == 0) revert ValidatorRegistryNothingToWithdraw(msg.sender);
        if (block.timestamp < v.unlockAt) {
            revert ValidatorRegistryStillUnbonding(msg.sender, v.unlockAt, uint64(block.timestamp));
        }
        if (address(_stakeLock) != address(0)) {
            uint64 lockedUntil = _stakeLock.stakeLockedUntil(msg.sender);
            if (block.timestamp <= lockedUntil) {
                revert ValidatorRegistryStakeLocked(msg.sender, lockedUntil, uint64(block.timestamp));
            }
        }

        v.unbonding = 0;
        v.unlockAt = 0;
        _totalUnbonding -= amount;
        emit StakeWithdrawn(msg.sender, amount);

        _token.safeTransfer(msg.sender, amount);
    }

    /* SLASHING */

    /// @inheritdoc IValidatorRegistry
    function slash(address validator, uint256 amount) external onlyRole(SLASHER_ROLE) nonReentrant returns (uint256) {
        if (amount % STAKE_UNIT != 0) revert ValidatorRegistryAmountNotWholeUnits(amount, STAKE_UNIT);
        Validator storage v = _validators[validator];
        uint256 active = v.stake;
        uint256 unbonding = v.unbonding;
        uint256 fromActive = amount < active ? amount : active;
        uint256 fromUnbonding = amount - fromActive < unbonding ? amount - fromActive : unbonding;
        uint256 slashed = fromActive + fromUnbonding;
        if (slashed == 0) return 0;

        active -= fromActive;
        unbonding -= fromUnbonding;
        _totalUnbonding -= fromUnbonding;
        if (active != 0 && active < _minimumStake) {
            // An under-minimum remainder leaves the pool but stays slashable until it unbonds.
            unbonding += active;
            _totalUnbonding += active;
            active = 0;
            uint64 unlockAt = uint64(block.timestamp) + _unbondingPeriod;
            if (unlockAt > v.unlockAt) v.unlockAt = unlockAt;
        }
        v.stake = uint128(active);
        v.unbonding = uint128(unbonding);
        if (unbonding == 0) v.unlockAt = 0;
        _slashedBalance += slashed;
        _pool.set(validator, active / STAKE_UNIT);
        emit ValidatorSlashed(validator, msg.sender, slashed, active, unbonding);
        return slashed;
    }

    /// @inheritdoc IValidatorRegistry
    function sweepSlashed() external nonReentrant {
        uint256 amount = _slashedBalance;
        if (amount == 0) revert ValidatorRegistryNothingToSweep();
        _slashedBalance = 0;
        address to = _treasury;
        emit SlashedStakeSwept(to, amount);
        _token.safeTransfer(to, amount);
    }

    /* SELECTION */

    /// @inheritdoc IValidatorRegistry
    function drawCommittee(bytes32 seed, uint256 size) external view returns (address[] memory) {
        uint256 available = _pool.memberCount();
        if (size > available) revert ValidatorRegistryNotEnoughValidators(size, available);
        return _pool.drawDistinct(seed, size);
    }

    /* ADMIN */

    /// @notice Sets the minimum active stake (whole units, > 0). Existing stakes below it stay until they change.
    function setMinimumStake(uint256 minimumStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinimumStake(minimumStake_);
    }

    /// @notice Sets the unbonding period for later unstake requests.
    function setUnbondingPeriod(uint64 unbondingPeriod_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnbondingPeriod(unbondingPeriod_);
    }

    /// @notice Sets the treasury that receives swept slashed stake.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    /// @notice Names the contract whose `stakeLockedUntil` holds seated stake (the chat registry).
    function setStakeLock(IStakeLock stakeLock_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _stakeLock = stakeLock_;
        emit StakeLockUpdated(address(stakeLock_));
    }

    /* VIEWS */

    /// @inheritdoc IValidatorRegistry
    function stakeLock() external view returns (address) {
        return address(_stakeLock);
    }

    /// @inheritdoc IValidatorRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IValidatorRegistry
    function minimumStake() external view returns (uint256) {
        return _minimumStake;
    }

    /// @inheritdoc IValidatorRegistry
    function unbondingPeriod() external view returns (uint64) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IValidatorRegistry
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IValidatorRegistry
    function totalStake() external view returns (uint256) {
        return _pool.totalWeight() * STAKE_UNIT;
    }

    /// @inheritdoc IValidatorRegistry
    function totalUnbonding() external view returns (uint256) {
        return _totalUnbonding;
    }

    /// @inheritdoc IValidatorRegistry
    function slashedBalance() external view returns (uint256) {
        return _slashedBalance;
    }

    /// @inheritdoc IValidatorRegistry
    function totalWeight() external view returns (uint256) {
        return _pool.totalWeight();
    }

    /// @inheritdoc IValidatorRegistry
    function weightOf(address validator) external view returns (uint256) {
        return _pool.weightOf(validator);
    }

    /// @inheritdoc IValidatorRegistry
    function stakeOf(address validator) external view returns (uint256) {
        return _validators[validator].stake;
    }

    /// @inheritdoc IValidatorRegistry
    function isActive(address validator) external view returns (bool) {
        uint256 active = _validators[validator].stake;
        return active != 0 && active >= _minimumStake;
    }

    /// @inheritdoc IValidatorRegistry
    function activeValidatorCount() external view returns (uint256) {
        return _pool.memberCount();
    }

    /// @inheritdoc IValidatorRegistry
    function validatorInfo(address validator) external view returns (ValidatorInfo memory) {
        Validator storage v = _validators[validator];
        return ValidatorInfo({stake: v.stake, unbonding: v.unbonding, unlockAt: v.unlockAt, endpoint: _endpoints[validator]});
    }

    /// @inheritdoc IValidatorRegistry
    function validatorCount() external view returns (uint256) {
        return _validatorList.length;
    }

    /// @inheritdoc IValidatorRegistry
    function validatorAt(uint256 index) external view returns (address) {
        return _validatorList[index];
    }

    /* INTERNAL */

    function _requireWholeUnits(uint256 amount) private view {
        if (amount == 0) revert ValidatorRegistryZeroAmount();
        if (amount % STAKE_UNIT != 0) revert ValidatorRegistryAmountNotWholeUnits(amount, STAKE_UNIT);
    }

    function _setEndpoint(address validator, string calldata endpoint) private {
        uint256 length = bytes(endpoint).length;
        if (length > MAX_ENDPOINT_LENGTH) revert ValidatorRegistryEndpointTooLong(length, MAX_ENDPOINT_LENGTH);
        _endpoints[validator] = endpoint;
        emit EndpointUpdated(validator, endpoint);
    }

    function _setMinimumStake(uint256 minimumStake_) private {
        _requireWholeUnits(minimumStake_);
        _minimumStake = minimumStake_;
        emit MinimumStakeUpdated(minimumStake_);
    }

    function _setUnbondingPeriod(uint64 unbondingPeriod_) private {
        if (unbondingPeriod_ > MAX_UNBONDING_PERIOD) {
            revert ValidatorRegistryUnbondingPeriodTooLong(unbondingPeriod_, MAX_UNBONDING_PERIOD);
        }
        _unbondingPeriod = unbondingPeriod_;
        emit UnbondingPeriodUpdated(unbondingPeriod_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ValidatorRegistryZeroAddress();
        _treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }
}
