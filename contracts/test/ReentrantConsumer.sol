// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatConsumer} from "../interfaces/IChatConsumer.sol";
import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @notice Attack harness: on fulfilment, tries to reenter the registry (withdraw, timeout, a second reveal, a
///         commit, respond and settle) and records the revert data it got. Test-only.
contract ReentrantConsumer is IChatConsumer {
    IChatRecordRegistry public immutable registry;
    bytes public lastWithdrawError;
    bytes public lastTimeoutError;
    bytes public lastRevealError;
    bytes public lastCommitError;
    bytes public lastRespondError;
    bytes public lastSettleError;
    uint256 public calls;

    constructor(IChatRecordRegistry registry_) {
        registry = registry_;
    }

    function onChatFulfilled(uint256 requestId, bytes32) external {
        ++calls;
        try registry.withdraw(address(this)) {} catch (bytes memory reason) {
            lastWithdrawError = reason;
        }
        try registry.timeout(requestId) {} catch (bytes memory reason) {
            lastTimeoutError = reason;
        }
        try registry.revealResponse(requestId, "forged", bytes32(0)) {} catch (bytes memory reason) {
            lastRevealError = reason;
        }
        try registry.commitResponse(requestId, keccak256("forged")) {} catch (bytes memory reason) {
            lastCommitError = reason;
        }
        try registry.respond(requestId, "forged") {} catch (bytes memory reason) {
            lastRespondError = reason;
        }
        try registry.settle(requestId) {} catch (bytes memory reason) {
            lastSettleError = reason;
        }
    }
}
