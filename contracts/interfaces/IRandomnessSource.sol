// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRandomnessSource
/// @notice Supplies the seed from which a request's committee is drawn. A small interface on purpose: the default
///         `PrevrandaoRandomness` can be replaced by a VRF-backed source without touching the registries.
interface IRandomnessSource {
    /// @notice Returns the seed for `requestId` at the current block.
    /// @dev Must be unpredictable to the requester before its transaction is included. Called by the chat registry in
    ///      the same transaction that creates (or reassigns) the request; `attempt` separates reassignments.
    /// @param requestId The chat request the committee is drawn for.
    /// @param attempt   1 for the first committee, 2.. for reassignments after a timeout.
    function randomSeed(uint256 requestId, uint8 attempt) external view returns (bytes32 seed);
}
