// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStakeLock
/// @notice Tells the validator registry until when a validator's stake must stay slashable (the chat registry: a
///         seated member's stake is locked until its seat can no longer be settled).
interface IStakeLock {
    /// @notice Timestamp until which `validator` may not withdraw unbonded stake (0 = not locked).
    function stakeLockedUntil(address validator) external view returns (uint64);
}
