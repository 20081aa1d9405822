// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatConsumer} from "../interfaces/IChatConsumer.sol";
import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @title ExampleChatConsumer
/// @notice A minimal dApp: asks the oracle a question and keeps the agreed response hash. The response text is in the
///         registry's `ResponseRevealed` event; anyone can check it against `answers[requestId]` with keccak256.
/// @dev The pattern every consumer needs: anyone can name any consumer in `requestChat`, so accept callbacks only
///      from the registry AND only for requests this contract made itself (`asked`). Refunds and unused callback
///      escrow are pull credits of the requester (this contract): `withdrawCredits` forwards them to the owner.
contract ExampleChatConsumer is IChatConsumer {
    /// @notice Only the registry may deliver answers.
    error ExampleChatConsumerUnauthorizedCaller(address caller);
    /// @notice The registry delivered an answer for `requestId`, which this contract never asked.
    error ExampleChatConsumerUnknownRequest(uint256 requestId);
    /// @notice Only the owner may withdraw the contract's credits.
    error ExampleChatConsumerNotOwner(address caller);

    /// @notice The registry delivered the answer hash for `requestId`.
    event AnswerReceived(uint256 indexed requestId, bytes32 responseHash);

    /// @notice Gas this consumer asks for its callback (one SSTORE and an event fit easily).
    uint32 public constant CALLBACK_GAS_LIMIT = 60_000;

    IChatRecordRegistry public immutable registry;
    address public immutable owner;
    mapping(uint256 requestId => bool) public asked;
    mapping(uint256 requestId => bytes32 responseHash) public answers;

    constructor(IChatRecordRegistry registry_) {
        registry = registry_;
        owner = msg.sender;
    }

    /// @notice Asks `prompt` of model `modelId`. msg.value = fee + CALLBACK_GAS_LIMIT × `maxCallbackGasPrice` (the
    ///         finalizer's gas for the callback, escrowed; what it does not use comes back as credit).
    function ask(uint16 modelId, string calldata prompt, uint32 maxNewTokens, uint64 maxCallbackGasPrice)
        external
        payable
        returns (uint256 requestId)
    {
        requestId = registry.requestChat{value: msg.value}(
            modelId, bytes(prompt), maxNewTokens, address(this), CALLBACK_GAS_LIMIT, maxCallbackGasPrice
        );
        asked[requestId] = true;
    }

    /// @inheritdoc IChatConsumer
    function onChatFulfilled(uint256 requestId, bytes32 responseHash) external {
        if (msg.sender != address(registry)) revert ExampleChatConsumerUnauthorizedCaller(msg.sender);
        if (!asked[requestId]) revert ExampleChatConsumerUnknownRequest(requestId);
        answers[requestId] = responseHash;
        emit AnswerReceived(requestId, responseHash);
    }

    /// @notice Sends this contract's refunds and unused escrow from the registry to the owner.
    function withdrawCredits() external {
        if (msg.sender != owner) revert ExampleChatConsumerNotOwner(msg.sender);
        registry.withdraw(owner);
    }
}
