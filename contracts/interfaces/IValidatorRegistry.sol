// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IValidatorRegistry
/// @notice Validators stake an ERC-20 to be drawn into chat committees with probability stake / totalStake().
/// @dev Stakes move in whole multiples of `STAKE_UNIT()` so that Σ active stakes = selection-tree root × STAKE_UNIT
///      = totalStake() holds exactly. A validator's tokens are either *active* (in the selection pool) or
///      *unbonding* (out of the pool, still slashable, withdrawable after `unbondingPeriod()`). Slashed tokens are
///      held until `sweepSlashed()` sends them to the treasury (pull, so a treasury that rejects tokens can never
///      block the slashing path). Invariant: token.balanceOf(this) = totalStake() + totalUnbonding() + slashedBalance().
///      Event naming rule: past tense, emitted right after the state change, account ids `indexed`.
interface IValidatorRegistry {
    /* TYPES */

    /// @notice A validator as returned by `validatorInfo`.
    /// @param stake     Active stake (in the selection pool), token base units.
    /// @param unbonding Stake that left the pool and waits for `unlockAt`; still slashable.
    /// @param unlockAt  Unix time from which `withdraw()` releases `unbonding` (0 when nothing is unbonding).
    /// @param endpoint  The validator's public oracle API base URL (where its records' texts are served).
    struct ValidatorInfo {
        uint256 stake;
        uint256 unbonding;
        uint64 unlockAt;
        string endpoint;
    }

    /* EVENTS */

    /// @notice `validator` added `amount` to its active stake, which is now `stake`.
    event ValidatorStaked(address indexed validator, uint256 amount, uint256 stake);
    /// @notice `validator` set its public endpoint URL.
    event EndpointUpdated(address indexed validator, string endpoint);
    /// @notice `validator` moved `amount` out of the pool; `stake` stays active; all unbonding unlocks at `unlockAt`.
    event UnstakeRequested(address indexed validator, uint256 amount, uint256 stake, uint64 unlockAt);
    /// @notice `validator` withdrew `amount` of unbonded stake.
    event StakeWithdrawn(address indexed validator, uint256 amount);
    /// @notice `slasher` took `amount` from `validator`, leaving `stake` active and `unbonding` unbonding.
    event ValidatorSlashed(
        address indexed validator, address indexed slasher, uint256 amount, uint256 stake, uint256 unbonding
    );
    /// @notice `amount` of slashed stake was transferred to `treasury`.
    event SlashedStakeSwept(address indexed treasury, uint256 amount);
    /// @notice The treasury receiving slashed stake changed.
    event TreasuryUpdated(address indexed treasury);
    /// @notice The admin named `stakeLock` as the contract that can hold seated stake past its unbonding.
    event StakeLockUpdated(address indexed stakeLock);
    /// @notice The minimum active stake changed (applies to new stakes, unstakes and anchoring).
    event MinimumStakeUpdated(uint256 minimumStake);
    /// @notice The unbonding period changed (applies to later `requestUnstake` calls).
    event UnbondingPeriodUpdated(uint64 unbondingPeriod);

    /* ERRORS */

    /// @notice An address argument was zero.
    error ValidatorRegistryZeroAddress();
    /// @notice An amount of zero was given where a positive amount is required.
    error ValidatorRegistryZeroAmount();
    /// @notice `amount` is not a whole multiple of `unit` (STAKE_UNIT).
    error ValidatorRegistryAmountNotWholeUnits(uint256 amount, uint256 unit);
    /// @notice The resulting active `stake` of `validator` would be positive but below `minimum`.
    error ValidatorRegistryInsufficientStake(address validator, uint256 stake, uint256 minimum);
    /// @notice `validator` asked to unstake `amount` but has only `stake` active.
    error ValidatorRegistryUnstakeExceedsStake(address validator, uint256 amount, uint256 stake);
    /// @notice `validator` has nothing unbonding.
    error ValidatorRegistryNothingToWithdraw(address validator);
    /// @notice `validator`'s unbonding stake unlocks at `unlockAt`; it is `currentTime` now.
    error ValidatorRegistryStillUnbonding(address validator, uint64 unlockAt, uint64 currentTime);
    /// @notice The endpoint URL is `length` bytes long; at most `maximum` are allowed.
    error ValidatorRegistryEndpointTooLong(uint256 length, uint256 maximum);
    /// @notice A committee of `size` distinct validators was asked for but only `available` are in the pool.
    error ValidatorRegistryNotEnoughValidators(uint256 size, uint256 available);
    /// @notice There is no slashed stake to sweep.
    error ValidatorRegistryNothingToSweep();
    /// @notice `validator` sits on a committee whose seat can be settled until `lockedUntil`; it is `currentTime`.
    error ValidatorRegistryStakeLocked(address validator, uint64 lockedUntil, uint64 currentTime);
    /// @notice The unbonding period `period` exceeds `maximum`.
    error ValidatorRegistryUnbondingPeriodTooLong(uint64 period, uint64 maximum);

    /* STAKING */

    /// @notice Adds `amount` (whole STAKE_UNITs, pulled with transferFrom) to the caller's active stake.
    /// @param endpoint New public endpoint URL, or "" to keep the current one.
    function stake(uint256 amount, string calldata endpoint) external;

    /// @notice Sets the caller's public endpoint URL (may be called without stake, e.g. before staking).
    function setEndpoint(string calldata endpoint) external;

    /// @notice Moves `amount` (whole units) of the caller's active stake out of the pool at once. The remaining active
    ///         stake must be zero or at least the minimum. All unbonding stake unlocks `unbondingPeriod()` from now.
    function requestUnstake(uint256 amount) external;

    /// @notice Transfers all of the caller's unbonded stake to the caller once `unlockAt` has passed and the stake
    ///         lock (`stakeLock().stakeLockedUntil`) no longer holds it: a seated member stays slashable until its
    ///         seat is settled, whatever the unbonding period.
    function withdraw() external;

    /* SLASHING */

    /// @notice Takes up to `amount` (whole units) from `validator`: from active stake first, then unbonding. If the
    ///         active remainder falls below the minimum it is moved to unbonding (the validator leaves the pool).
    /// @dev Only accounts holding SLASHER_ROLE (the chat registry). Never reverts for a validator with less stake
    ///      than `amount`: it takes what there is.
    /// @return slashed The amount actually taken.
    function slash(address validator, uint256 amount) external returns (uint256 slashed);

    /// @notice Transfers all slashed stake to the treasury. Anyone may call.
    function sweepSlashed() external;

    /* SELECTION */

    /// @notice Draws `size` distinct validators, each next one with probability proportional to its stake among those
    ///         not yet drawn, from `seed`. Reverts with ValidatorRegistryNotEnoughValidators if the pool is smaller.
    function drawCommittee(bytes32 seed, uint256 size) external view returns (address[] memory committee);

    /* VIEWS */

    /// @notice The staked ERC-20.
    function token() external view returns (address);
    /// @notice Stakes are whole multiples of this many token base units; selection weight = stake / STAKE_UNIT.
    function STAKE_UNIT() external view returns (uint256);
    /// @notice Minimum positive active stake.
    function minimumStake() external view returns (uint256);
    /// @notice Seconds between `requestUnstake` and `withdraw`.
    function unbondingPeriod() external view returns (uint64);
    /// @notice The contract consulted by `withdraw` for seated stake (address(0) = none).
    function stakeLock() external view returns (address);
    /// @notice Receives swept slashed stake.
    function treasury() external view returns (address);
    /// @notice Σ active stakes = selection-tree root × STAKE_UNIT.
    function totalStake() external view returns (uint256);
    /// @notice Σ unbonding stakes.
    function totalUnbonding() external view returns (uint256);
    /// @notice Slashed stake not yet swept to the treasury.
    function slashedBalance() external view returns (uint256);
    /// @notice The selection tree's root (total weight in units); equals totalStake() / STAKE_UNIT.
    function totalWeight() external view returns (uint256);
    /// @notice `validator`'s selection weight in the tree (its active stake / STAKE_UNIT).
    function weightOf(address validator) external view returns (uint256);
    /// @notice Active stake of `validator`.
    function stakeOf(address validator) external view returns (uint256);
    /// @notice Whether `validator` is in the pool with at least the minimum stake.
    function isActive(address validator) external view returns (bool);
    /// @notice Number of validators in the selection pool.
    function activeValidatorCount() external view returns (uint256);
    /// @notice Full state of `validator`.
    function validatorInfo(address validator) external view returns (ValidatorInfo memory);
    /// @notice Number of addresses that ever staked (for enumeration with `validatorAt`).
    function validatorCount() external view returns (uint256);
    /// @notice The `index`-th address that ever staked (in first-stake order).
    function validatorAt(uint256 index) external view returns (address);
}
