// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @notice Test helper: a requester contract that refuses ETH, to show refunds fail loudly and nothing is lost.
contract RejectingReceiver {
    function request(IChatRecordRegistry registry, uint16 modelId, string calldata prompt)
        external
        payable
        returns (uint256)
    {
        return registry.requestChat{value: msg.value}(modelId, prompt, 16, address(0), 0);
    }

    receive() external payable {
        revert("no ETH");
    }
}
