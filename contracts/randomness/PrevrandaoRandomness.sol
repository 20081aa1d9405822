// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title PrevrandaoRandomness
/// @notice The default committee seed: keccak256 of block.prevrandao, the previous block's hash, the caller, the
///         request id and the attempt.
/// @dev Known bias (documented, accepted for the default source): the block proposer knows prevrandao before it
///      publishes its block and may WITHHOLD the block (forfeiting its reward) when it dislikes the committee, so a
///      proposer gets one extra "re-roll" per slot it controls; it cannot choose the value, only veto it. A requester
///      cannot predict the seed before inclusion (prevrandao of the including block is unknown to it). Deployments that
///      need stronger guarantees plug a VRF-backed IRandomnessSource into the chat registry instead.
contract PrevrandaoRandomness is IRandomnessSource {
    /// @inheritdoc IRandomnessSource
    function randomSeed(uint256 requestId, uint8 attempt) external view returns (bytes32 seed) {
        return keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), msg.sender, requestId, attempt));
    }
}
