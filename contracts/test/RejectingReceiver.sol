// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @notice Test helper: a requester contract that refuses ETH (like many dApps: no `receive`), to show its refunds
///         are credits it can send to another recipient.
contract RejectingReceiver {
    function request(IChatRecordRegistry registry, uint16 modelId, string calldata prompt)
        external
        payable
        returns (uint256)
    {
        return registry.requestChat{value: msg.value}(modelId, bytes(prompt), 16, address(0), 0, 0);
    }

    function withdrawTo(IChatRecordRegistry registry, address recipient) external {
        registry.withdraw(recipient);
    }

    receive() external payable {
        revert("no ETH");
    }
}
