// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IValidatorRegistry} from "../interfaces/IValidatorRegistry.sol";

/// @notice Benchmark probe, not a product: the committee-of-one lifecycle (request + respond) reduced to the storage,
///         reads, calls and events the chat record needs, with no checks, no fee validation and no timeouts. Its gas
///         is a floor for `ChatRecordRegistry`'s request + respond (bench/gas.ts, `lifecycleFloor`).
/// @dev Same slots as the registry: a counter in a shared settings slot, the model's limits, the requester's id, the
///      header, the prompt hash, the response hash, the validator's id/lock/credit slot. Same events with the same
///      fields. `inlineSeed`: derive the seed from blockhash here instead of calling the randomness source (two
///      cold calls fewer).
contract GasFloorProbe {
    /// @notice `respond` came from someone other than the drawn member.
    error NotDrawn(uint256 requestId, address caller, address drawn);
    /// @notice The prompt is longer than the model's limit.
    error PromptTooLong(uint256 length, uint256 limit);

    IValidatorRegistry private immutable _validators;
    IRandomnessSource private immutable _randomness;
    bool private immutable _inlineSeed;

    uint256 private _settings = 1 << 255; // a non-zero slot holding the request counter in its low bits
    mapping(uint16 modelId => uint256) private _modelLimits;
    mapping(address requester => uint256) private _requesterIds;
    mapping(address validator => uint256) private _accounts;
    mapping(uint256 requestId => uint256) private _headers;
    mapping(uint256 requestId => bytes32) private _promptHashes;
    mapping(uint256 requestId => bytes32) private _responseHashes;

    constructor(IValidatorRegistry validators, IRandomnessSource randomness, bool inlineSeed) {
        _validators = validators;
        _randomness = randomness;
        _inlineSeed = inlineSeed;
        _modelLimits[1] = type(uint128).max;
    }

    /// @notice Gives the requester and the validators their ids and credits, as a steady registry has them.
    function warm(address requester, address[] calldata validators) external {
        _requesterIds[requester] = 1;
        for (uint256 i; i < validators.length; ++i) _accounts[validators[i]] = (1 << 64) | (i + 1);
    }

    function request(uint16 modelId, bytes calldata prompt, uint32 maxNewTokens) external payable {
        uint256 limit = uint128(_modelLimits[modelId]);
        if (prompt.length > limit) revert PromptTooLong(prompt.length, limit);
        uint256 settings = _settings + 1;
        _settings = settings;
        uint256 requestId = uint32(settings);
        uint256 requesterId = _requesterIds[msg.sender];
        uint64 seedBlock = _inlineSeed ? uint64(block.number) : _randomness.requestSeed(requestId, 1);
        _headers[requestId] = requesterId | msg.value << 24 | block.timestamp << 120 | uint256(seedBlock) << 152
            | uint256(modelId) << 184 | 1 << 200;
        bytes32 promptHash = keccak256(prompt);
        _promptHashes[requestId] = promptHash;
        emit IChatRecordRegistry.ChatRequested(
            requestId,
            msg.sender,
            modelId,
            prompt,
            promptHash,
            maxNewTokens,
            seedBlock,
            uint64(block.timestamp + 60),
            uint64(block.timestamp + 120)
        );
    }

    function respond(uint256 requestId, string calldata responseText) external {
        uint256 header = _headers[requestId];
        address[] memory committee = _draw(requestId, header);
        if (committee[0] != msg.sender) revert NotDrawn(requestId, msg.sender, committee[0]);
        uint256 account = _accounts[msg.sender];
        emit IChatRecordRegistry.CommitteeDrawn(requestId, 1, committee);
        bytes32 responseHash = keccak256(bytes(responseText));
        _responseHashes[requestId] = responseHash;
        _headers[requestId] = header | uint24(account) | 4 << 200;
        emit IChatRecordRegistry.ResponseRevealed(requestId, msg.sender, responseHash, responseText);
        uint256 fee = uint64(header >> 24);
        _accounts[msg.sender] = account + (fee << 64);
        emit IChatRecordRegistry.Credited(msg.sender, requestId, fee);
        emit IChatRecordRegistry.RecordFinalized(requestId, responseHash, uint16(header >> 184), committee);
    }

    /// @notice The member `respond` will accept for `requestId` (call it on the pending block).
    function previewCommittee(uint256 requestId) external view returns (address[] memory) {
        return _draw(requestId, _headers[requestId]);
    }

    /// @dev The same seed as `BlockhashRandomness`, computed here or asked of the source.
    function _draw(uint256 requestId, uint256 header) private view returns (address[] memory) {
        uint64 seedBlock = uint32(header >> 152);
        bytes32 seed;
        if (_inlineSeed) seed = keccak256(abi.encode(blockhash(seedBlock), requestId, uint8(1)));
        else (seed,) = _randomness.seedOf(requestId, 1, seedBlock);
        return _validators.drawCommittee(seed, 1);
    }
}
