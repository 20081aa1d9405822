// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "./interfaces/IChatRecordRegistry.sol";
import {IChatThreads} from "./interfaces/IChatThreads.sol";

/// @title ChatThreads
/// @notice Thread membership and the checks and record hashes of the chat registry's conversations. The registry
///         deploys it (its own code is at the size limit) and takes `checkExtension`'s answer for every new turn;
///         everything it checks is read from the registry.
contract ChatThreads is IChatThreads {
    IChatRecordRegistry private immutable _registry;

    mapping(uint256 rootId => mapping(address member => bool allowed)) private _members;

    /// @param registry_ The chat registry (the deployer).
    constructor(IChatRecordRegistry registry_) {
        _registry = registry_;
    }

    /// @inheritdoc IChatThreads
    function setThreadMember(uint256 requestId, address member, bool allowed) external {
        if (member == address(0)) revert ChatThreadsZeroAddress();
        uint256 rootId = _registry.threadOfRequest(requestId).rootId;
        if (msg.sender != _registry.getRecord(rootId).requester) revert ChatThreadsNotThreadOwner(rootId, msg.sender);
        _members[rootId][member] = allowed;
        emit ThreadMemberSet(rootId, member, allowed);
    }

    /// @inheritdoc IChatThreads
    function checkExtension(uint256 parentId, address account)
        external
        view
        returns (uint256 rootId, bytes32 previousRecordHash, uint16 modelId)
    {
        IChatRecordRegistry.Record memory parent = _registry.getRecord(parentId);
        // A pending parent may still time out or be declined: only a final record can be built on.
        if (parent.status != IChatRecordRegistry.Status.Finalized) {
            revert IChatRecordRegistry.ChatRecordRegistryParentNotFinalized(parentId, parent.status);
        }
        IChatRecordRegistry.ThreadLink memory link = _registry.threadOfRequest(parentId);
        rootId = link.rootId;
        address owner = rootId == parentId ? parent.requester : _registry.getRecord(rootId).requester;
        if (account != owner && !_members[rootId][account]) {
            revert IChatRecordRegistry.ChatRecordRegistryNotThreadMember(rootId, account);
        }
        previousRecordHash = _recordHash(parentId, parent, link.previousRecordHash);
        modelId = parent.modelId;
    }

    /// @inheritdoc IChatThreads
    function isThreadMember(uint256 requestId, address account) external view returns (bool) {
        uint256 rootId = _registry.threadOfRequest(requestId).rootId;
        return account == _registry.getRecord(rootId).requester || _members[rootId][account];
    }

    /// @inheritdoc IChatThreads
    function threadRecordHash(uint256 requestId) external view returns (bytes32) {
        IChatRecordRegistry.Record memory record = _registry.getRecord(requestId);
        if (record.status != IChatRecordRegistry.Status.Finalized) {
            revert IChatRecordRegistry.ChatRecordRegistryInvalidStatus(requestId, record.status);
        }
        return _recordHash(requestId, record, _registry.threadOfRequest(requestId).previousRecordHash);
    }

    /// @inheritdoc IChatThreads
    function registry() external view returns (address) {
        return address(_registry);
    }

    function _recordHash(uint256 requestId, IChatRecordRegistry.Record memory record, bytes32 previousRecordHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(previousRecordHash, requestId, record.promptHash, record.responseHash, record.modelHash));
    }
}
