// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatConsumer} from "../interfaces/IChatConsumer.sol";

/// @notice Attack harness: reverts with a large reason (a return-data bomb). Test-only.
contract RevertingConsumer is IChatConsumer {
    function onChatFulfilled(uint256, bytes32) external pure {
        assembly {
            revert(0, 100000)
        }
    }
}
