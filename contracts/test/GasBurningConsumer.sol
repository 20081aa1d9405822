// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatConsumer} from "../interfaces/IChatConsumer.sol";

/// @notice Attack harness: burns every unit of gas it is given. Test-only.
contract GasBurningConsumer is IChatConsumer {
    uint256 public counter;

    function onChatFulfilled(uint256, bytes32) external {
        while (true) {
            ++counter;
        }
    }
}
