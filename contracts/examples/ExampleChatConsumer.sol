// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatConsumer} from "../interfaces/IChatConsumer.sol";
import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @title ExampleChatConsumer
/// @notice A minimal dApp: asks the oracle a question and keeps the agreed response hash. The response text is in the
///         registry's `ResponseRevealed` event; anyone can check it against `answers[requestId]` with keccak256.
contract ExampleChatConsumer is IChatConsumer {
    /// @notice Only the registry may deliver answers.
    error ExampleChatConsumerUnauthorizedCaller(address caller);

    /// @notice The registry delivered the answer hash for `requestId`.
    event AnswerReceived(uint256 indexed requestId, bytes32 responseHash);

    /// @notice Gas this consumer asks for its callback (one SSTORE and an event fit easily).
    uint32 public constant CALLBACK_GAS_LIMIT = 60_000;

    IChatRecordRegistry public immutable registry;
    mapping(uint256 requestId => bytes32 responseHash) public answers;

    constructor(IChatRecordRegistry registry_) {
        registry = registry_;
    }

    /// @notice Asks `prompt` of model `modelId`; forward the fee as msg.value.
    function ask(uint16 modelId, string calldata prompt, uint32 maxNewTokens) external payable returns (uint256) {
        return registry.requestChat{value: msg.value}(modelId, prompt, maxNewTokens, address(this), CALLBACK_GAS_LIMIT);
    }

    /// @inheritdoc IChatConsumer
    function onChatFulfilled(uint256 requestId, bytes32 responseHash) external {
        if (msg.sender != address(registry)) revert ExampleChatConsumerUnauthorizedCaller(msg.sender);
        answers[requestId] = responseHash;
        emit AnswerReceived(requestId, responseHash);
    }
}
