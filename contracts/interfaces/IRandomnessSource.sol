// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRandomnessSource
/// @notice Supplies the seed from which a request's committee is drawn. A small interface on purpose: the default
///         `BlockhashRandomness` can be replaced by a VRF-backed source without touching the registries.
/// @dev The chat registry calls `requestSeed` in the transaction that creates (or reassigns) a request and `seedOf`
///      later, when the committee is drawn. The seed must not exist while the `requestSeed` transaction executes: a
///      requester that could compute it there could pick its committee by reverting unwanted draws.
interface IRandomnessSource {
    /// @notice Availability of a seed.
    /// Pending: not yet available (the seed block is not in the past, or a VRF has not answered).
    /// Ready: `seedOf` returns it. Lost: it can no longer be read (blockhash window passed); ask again.
    enum SeedStatus {
        Pending,
        Ready,
        Lost
    }

    /// @notice Fixes the future randomness that will seed attempt `attempt` of `requestId`.
    /// @return seedBlock The block the seed is bound to (the registry stores it and passes it back to `seedOf`).
    function requestSeed(uint256 requestId, uint8 attempt) external returns (uint64 seedBlock);

    /// @notice The seed of attempt `attempt` of `requestId` bound to `seedBlock`, and whether it is available.
    function seedOf(uint256 requestId, uint8 attempt, uint64 seedBlock)
        external
        view
        returns (bytes32 seed, SeedStatus status);
}
