// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title BlockhashRandomness
/// @notice The default committee seed: keccak256 of the hash of the block that includes the request (or the
///         timeout that reassigns it), the request id and the attempt.
/// @dev The block's hash does not exist while any of its transactions execute, so a requester cannot preview its
///      committee and revert unwanted ones. Known bias (documented, accepted for the default source): whoever builds
///      the seed block can vary its contents (and so its hash) or withhold it, so a builder or proposer colluding
///      with the requester gets re-rolls — one per variant it is willing to build. Deployments that need stronger
///      guarantees plug a VRF-backed IRandomnessSource into the chat registry instead. `blockhash` reads only the
///      last 256 blocks: after that the seed is Lost and the registry fixes a new seed block.
contract BlockhashRandomness is IRandomnessSource {
    /// @inheritdoc IRandomnessSource
    function requestSeed(uint256, uint8) external view returns (uint64 seedBlock) {
        return uint64(block.number);
    }

    /// @inheritdoc IRandomnessSource
    function seedOf(uint256 requestId, uint8 attempt, uint64 seedBlock)
        external
        view
        returns (bytes32 seed, SeedStatus status)
    {
        if (block.number <= seedBlock) return (bytes32(0), SeedStatus.Pending);
        bytes32 hash = blockhash(seedBlock);
        if (hash == bytes32(0)) return (bytes32(0), SeedStatus.Lost);
        return (keccak256(abi.encode(hash, requestId, attempt)), SeedStatus.Ready);
    }
}
