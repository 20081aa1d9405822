// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @notice Attack harness: a requester whose receive hook withdraws its credits again, and records the revert data it
///         got. Test-only.
contract ReentrantRequester {
    IChatRecordRegistry public immutable registry;
    uint256 public requestId;
    bytes public lastReentryError;
    uint256 public received;

    constructor(IChatRecordRegistry registry_) {
        registry = registry_;
    }

    function request(uint16 modelId, string calldata prompt) external payable {
        requestId = registry.requestChat{value: msg.value}(modelId, bytes(prompt), 16, address(0), 0, 0);
    }

    function claim() external {
        registry.withdraw(address(this));
    }

    receive() external payable {
        received += msg.value;
        try registry.withdraw(address(this)) {} catch (bytes memory reason) {
            lastReentryError = reason;
        }
    }
}
