// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChatThreads
/// @notice Who may extend a conversation thread of the chat registry, and the hash that links its turns. A thread is
///         the chain of turns started by one request (its root); the root's requester owns it and may allow other
///         accounts to add turns (`IChatRecordRegistry.requestChatFollowUp` checks this). Deployed by the registry.
interface IChatThreads {
    /// @notice The owner of thread `rootId` allowed (or stopped allowing) `member` to extend it.
    event ThreadMemberSet(uint256 indexed rootId, address indexed member, bool allowed);

    /// @notice The member address was zero.
    error ChatThreadsZeroAddress();
    /// @notice Only the owner of thread `rootId` (its first turn's requester) may allow members; `account` is not.
    error ChatThreadsNotThreadOwner(uint256 rootId, address account);

    /// @notice Allows (or stops allowing) `member` to extend the thread of `requestId` (any of its turns); the caller
    ///         must own the thread. Reverts for an unknown request (the registry's error).
    function setThreadMember(uint256 requestId, address member, bool allowed) external;

    /// @notice The checks of `IChatRecordRegistry.requestChatFollowUp`: `parentId` is Finalized (else
    ///         `ChatRecordRegistryParentNotFinalized`; an unknown id reverts `ChatRecordRegistryUnknownRequest`) and
    ///         `account` owns its thread or was allowed into it (else `ChatRecordRegistryNotThreadMember`).
    /// @return rootId             The thread's first request.
    /// @return previousRecordHash `threadRecordHash(parentId)`, which the new turn links to.
    /// @return modelId            The parent's model, which answers the new turn.
    function checkExtension(uint256 parentId, address account)
        external
        view
        returns (uint256 rootId, bytes32 previousRecordHash, uint16 modelId);

    /// @notice Whether `account` may extend the thread of `requestId`: its owner, or allowed by it.
    function isThreadMember(uint256 requestId, address account) external view returns (bool);

    /// @notice The hash a child turn links to (its `previousRecordHash`): keccak256(abi.encode(previousRecordHash,
    ///         requestId, promptHash, responseHash, modelHash)) of Finalized `requestId`; reverts otherwise.
    function threadRecordHash(uint256 requestId) external view returns (bytes32);

    /// @notice The chat registry whose threads these are.
    function registry() external view returns (address);
}
