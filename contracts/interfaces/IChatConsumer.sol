// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChatConsumer
/// @notice Implemented by contracts that want to be told when their chat request is final.
/// @dev Called by `ChatRecordRegistry` inside the reveal that reaches quorum, with exactly the gas cap the requester
///      chose (`callbackGasLimit`), inside a low-level call: a revert, an out-of-gas or a huge return value is recorded
///      (`ConsumerCallbackFailed`) and never blocks finalization. Reentering the registry's state-changing
///      functions (other than `requestChat`) reverts. The response text itself is in the `ResponseRevealed` event;
///      on chain the consumer receives only its keccak256 hash.
interface IChatConsumer {
    /// @param requestId    The finalized request.
    /// @param responseHash keccak256(bytes(responseText)) agreed by a quorum of the committee.
    function onChatFulfilled(uint256 requestId, bytes32 responseHash) external;
}
