// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IChatConsumer} from "./interfaces/IChatConsumer.sol";
import {IChatRecordRegistry} from "./interfaces/IChatRecordRegistry.sol";
import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";

/// @title ChatRecordRegistry
/// @notice Chat requests answered by stake-weighted committees with commit–reveal; see IChatRecordRegistry for the
///         lifecycle. Texts live only in events; storage keeps hashes, packed so that one request costs two new
///         slots (three with a committee larger than one) plus one per commitment.
/// @dev Storage per request: `_headers` (one slot: seat 0's validator id, whether a consumer is set, requester id,
///      fee, the requester's previous request, assignment time, model, status, attempt, size, quorum, commit/reveal
///      bit masks — all that a commit, a reveal, a finalization or a refund reads), `_promptHashes`, `_otherSeatIds`
///      (validator ids of seats 1..size-1, 32 bits apart, one slot), `_seatHashes` (a seat's commitment, overwritten
///      by its revealed response hash), and `_callbacks` only when a consumer is set. Validators (24-bit) and
///      requesters (32-bit) get an id the first time they appear (two slots each, once per account, paid by that
///      request); ids are what let one slot hold a whole request, and a validator's unclaimed rewards share its id
///      slot. Deadlines derive from the assignment time and the immutable windows. Bounds that follow from the
///      packing: request ids and requester ids < 2^32, validator ids < 2^24, fees < 2^64 wei, timestamps < 2^32
///      (year 2106), committees ≤ 8.
contract ChatRecordRegistry is IChatRecordRegistry, Ownable, ReentrancyGuardTransient {
    /// @notice Largest committee (the commit/reveal masks are 8 bits).
    uint8 public constant MAX_COMMITTEE_SIZE = 8;
    /// @notice Largest gas cap a requester may give its consumer callback.
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 5_000_000;
    /// @dev Gas kept back for the code after the consumer call (event + flag write when it fails).
    uint256 private constant CALLBACK_RESERVE_GAS = 40_000;

    /// @dev The one hot slot of a request: who pays what, and the current attempt's state.
    struct Header {
        uint24 firstMemberId;
        bool hasConsumer;
        uint32 requesterId;
        uint64 fee;
        uint32 previousRequestId;
        uint32 assignedAt;
        uint16 modelId;
        Status status;
        uint8 attempt;
        uint8 committeeSize;
        uint8 quorum;
        uint8 committedMask;
        uint8 revealedMask;
    }

    /// @dev One slot per requester: its id and its latest request (head of its list of requests).
    struct Requester {
        uint32 id;
        uint32 latestRequestId;
    }

    /// @dev Id counters, touched only when a new validator or requester appears.
    struct IdCounts {
        uint24 validators;
        uint32 requesters;
    }

    /// @dev One slot per validator that has sat on a committee: its local id and its unclaimed fee shares. The reveal
    ///      that finalizes has already read the slot for the id, so crediting the revealer is one warm write.
    struct ValidatorAccount {
        uint24 id;
        uint232 rewards;
    }

    /// @dev Only for requests with a consumer.
    struct Callback {
        address consumer;
        uint32 gasLimit;
        bool failed;
    }

    /// @dev Config plus the request counter, one slot.
    struct Settings {
        uint96 minimumFee;
        uint96 slashAmount;
        uint8 committeeSize;
        uint8 quorum;
        uint8 maxAttempts;
        uint32 requestCount;
    }

    IValidatorRegistry private immutable _validatorRegistry;
    IRandomnessSource private immutable _randomness;
    uint32 private immutable _commitWindow;
    uint32 private immutable _revealWindow;

    Settings private _settings;
    uint256 private _batchCount;

    mapping(uint16 modelId => Model) private _models;
    mapping(uint256 requestId => Header) private _headers;
    mapping(uint256 requestId => bytes32) private _promptHashes;
    mapping(uint256 requestId => uint256 packedIds) private _otherSeatIds;
    mapping(uint256 requestId => mapping(uint256 seat => bytes32 commitmentOrResponseHash)) private _seatHashes;
    mapping(uint256 requestId => Callback) private _callbacks;
    IdCounts private _idCounts;
    mapping(address validator => ValidatorAccount) private _validatorAccounts;
    mapping(uint24 id => address validator) private _validatorAddresses;
    mapping(address requester => Requester) private _requesters;
    mapping(uint32 id => address requester) private _requesterAddresses;
    mapping(uint256 batchId => Batch) private _batches;

    /// @param validatorRegistry_ Source of committees and target of slashing (must grant this contract SLASHER_ROLE).
    /// @param randomness_        Seeds committee draws.
    /// @param commitWindow_      Seconds from assignment to the commit deadline.
    /// @param revealWindow_      Seconds from the commit deadline to the reveal deadline.
    /// @param config             Initial parameters.
    /// @param owner_             Manages models and parameters.
    constructor(
        IValidatorRegistry validatorRegistry_,
        IRandomnessSource randomness_,
        uint32 commitWindow_,
        uint32 revealWindow_,
        Config memory config,
        address owner_
    ) Ownable(owner_) {
        if (address(validatorRegistry_) == address(0) || address(randomness_) == address(0)) {
            revert ChatRecordRegistryZeroAddress();
        }
        _validatorRegistry = validatorRegistry_;
        _randomness = randomness_;
        _commitWindow = commitWindow_;
        _revealWindow = revealWindow_;
        _setConfig(config);
    }

    /* MODELS AND CONFIG */

    /// @inheritdoc IChatRecordRegistry
    function registerModel(uint16 modelId, bytes32 modelHash, string calldata uri) external onlyOwner {
        if (modelHash == bytes32(0)) revert ChatRecordRegistryZeroModelHash(modelId);
        if (_models[modelId].modelHash != bytes32(0)) revert ChatRecordRegistryModelExists(modelId);
        _models[modelId] = Model({modelHash: modelHash, enabled: true, uri: uri});
        emit ModelRegistered(modelId, modelHash, uri);
    }

    /// @inheritdoc IChatRecordRegistry
    function updateModel(uint16 modelId, bool enabled, string calldata uri) external onlyOwner {
        Model storage model = _models[modelId];
        if (model.modelHash == bytes32(0)) revert ChatRecordRegistryUnknownModel(modelId);
        model.enabled = enabled;
        model.uri = uri;
        emit ModelUpdated(modelId, enabled, uri);
    }

    /// @inheritdoc IChatRecordRegistry
    function setConfig(Config calldata config) external onlyOwner {
        _setConfig(config);
    }

    /* REQUESTS */

    /// @inheritdoc IChatRecordRegistry
    function requestChat(
        uint16 modelId,
        string calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit
    ) external payable returns (uint256 requestId) {
        _requireEnabledModel(modelId);
        if (bytes(prompt).length == 0) revert ChatRecordRegistryEmptyPrompt();
        if (maxNewTokens == 0) revert ChatRecordRegistryZeroMaxNewTokens();
        if (callbackGasLimit > MAX_CALLBACK_GAS_LIMIT) {
            revert ChatRecordRegistryCallbackGasLimitTooHigh(callbackGasLimit, MAX_CALLBACK_GAS_LIMIT);
        }
        Settings memory settings = _settings;
        if (msg.value < settings.minimumFee) revert ChatRecordRegistryFeeTooLow(msg.value, settings.minimumFee);
        if (msg.value > type(uint64).max) revert ChatRecordRegistryFeeTooHigh(msg.value, type(uint64).max);

        requestId = ++settings.requestCount;
        _settings.requestCount = settings.requestCount;
        address[] memory committee = _drawCommittee(requestId, 1, settings.committeeSize);

        _storeRequest(requestId, modelId, settings, committee, consumer != address(0));
        bytes32 promptHash = keccak256(bytes(prompt));
        _promptHashes[requestId] = promptHash;
        if (consumer != address(0)) {
            _callbacks[requestId] = Callback({consumer: consumer, gasLimit: callbackGasLimit, failed: false});
        }

        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(block.timestamp);
        emit ChatRequested(
            requestId,
            msg.sender,
            modelId,
            prompt,
            promptHash,
            maxNewTokens,
            committee,
            1,
            commitDeadline,
            revealDeadline
        );
    }

    /// @inheritdoc IChatRecordRegistry
    /// @dev No reentrancy guard: a commit makes no external call, and a reentrant commit (from a consumer callback)
    ///      passes the same status, deadline and seat checks as any other.
    function commitResponse(uint256 requestId, bytes32 commitment) external {
        Header storage header = _headers[requestId];
        Status status = header.status;
        if (status != Status.Requested && status != Status.Committed) _revertStatus(requestId, status);
        (uint64 commitDeadline,) = _deadlines(header.assignedAt);
        if (block.timestamp > commitDeadline) {
            revert ChatRecordRegistryCommitPhaseClosed(requestId, commitDeadline, uint64(block.timestamp));
        }
        uint8 size = header.committeeSize;
        uint256 seat = _seatOf(requestId, header.firstMemberId, size, msg.sender);
        uint8 committedMask = header.committedMask;
        if (committedMask & (1 << seat) != 0) revert ChatRecordRegistryAlreadyCommitted(requestId, msg.sender);

        _seatHashes[requestId][seat] = commitment;
        committedMask |= uint8(1 << seat);
        header.committedMask = committedMask;
        if (committedMask == _fullMask(size)) header.status = Status.Committed;
        emit ResponseCommitted(requestId, msg.sender, commitment);
    }

    /// @inheritdoc IChatRecordRegistry
    function revealResponse(uint256 requestId, string calldata responseText, bytes32 salt) external nonReentrant {
        Header memory header = _headers[requestId];
        if (header.status != Status.Requested && header.status != Status.Committed && header.status != Status.Revealed)
        {
            _revertStatus(requestId, header.status);
        }
        uint256 seat = _seatOf(requestId, header.firstMemberId, header.committeeSize, msg.sender);
        uint256 seatBit = 1 << seat;
        if (header.committedMask & seatBit == 0) revert ChatRecordRegistryNotCommitted(requestId, msg.sender);
        if (header.revealedMask & seatBit != 0) revert ChatRecordRegistryAlreadyRevealed(requestId, msg.sender);
        _requireRevealOpen(requestId, header.status, header.assignedAt);

        bytes32 responseHash = keccak256(bytes(responseText));
        bytes32 computed = keccak256(abi.encode(requestId, msg.sender, responseHash, salt));
        bytes32 commitment = _seatHashes[requestId][seat];
        if (computed != commitment) {
            revert ChatRecordRegistryCommitmentMismatch(requestId, msg.sender, commitment, computed);
        }

        _seatHashes[requestId][seat] = responseHash;
        header.revealedMask |= uint8(seatBit);
        uint256 agreeingMask = _agreeingMask(requestId, header.revealedMask, seat, responseHash);
        bool reachedQuorum = _popCount(agreeingMask) >= header.quorum;
        header.status = reachedQuorum ? Status.Finalized : Status.Revealed;
        // Write back only the two fields that changed (a whole-struct write costs a masked SSTORE per field).
        Header storage stored = _headers[requestId];
        stored.revealedMask = header.revealedMask;
        stored.status = header.status;
        emit ResponseRevealed(requestId, msg.sender, responseHash, responseText);

        if (reachedQuorum) _finalize(requestId, header, seat, responseHash, agreeingMask);
    }

    /// @inheritdoc IChatRecordRegistry
    function timeout(uint256 requestId) external nonReentrant {
        Header memory header = _headers[requestId];
        if (header.status != Status.Requested && header.status != Status.Committed && header.status != Status.Revealed)
        {
            _revertStatus(requestId, header.status);
        }
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(header.assignedAt);
        uint8 fullMask = _fullMask(header.committeeSize);
        uint256 missedCommitMask = fullMask & ~uint256(header.committedMask);
        uint256 missedRevealMask;
        if (block.timestamp > revealDeadline) {
            missedRevealMask = header.committedMask & ~uint256(header.revealedMask);
        } else if (block.timestamp <= commitDeadline || _popCount(header.committedMask) >= header.quorum) {
            // Early timeouts only when a quorum can no longer commit; otherwise wait for the reveal deadline.
            uint64 deadline = _popCount(header.committedMask) >= header.quorum ? revealDeadline : commitDeadline;
            revert ChatRecordRegistryTimeoutNotReached(requestId, deadline, uint64(block.timestamp));
        }
        address[] memory oldCommittee = _committee(requestId, header);

        uint8 attempt = header.attempt;
        bool exhausted = attempt >= _settings.maxAttempts
            || _validatorRegistry.activeValidatorCount() < header.committeeSize;
        if (exhausted) {
            header.status = Status.TimedOut;
            _headers[requestId] = header;
            emit RequestTimedOut(requestId, attempt, true);
        } else {
            _reassign(requestId, header);
        }

        _slashSeats(requestId, oldCommittee, missedCommitMask, SlashReason.MissedCommit);
        _slashSeats(requestId, oldCommittee, missedRevealMask, SlashReason.MissedReveal);
    }

    /// @inheritdoc IChatRecordRegistry
    function claimRefund(uint256 requestId) external nonReentrant {
        Header storage header = _headers[requestId];
        Status status = header.status;
        if (status != Status.TimedOut) _revertStatus(requestId, status);
        address requester = _requesterAddresses[header.requesterId];
        uint256 fee = header.fee;

        header.status = Status.Refunded;
        emit RequestRefunded(requestId, requester, fee);

        _sendValue(requester, fee);
    }

    /// @inheritdoc IChatRecordRegistry
    function withdrawRewards() external nonReentrant {
        uint256 amount = _validatorAccounts[msg.sender].rewards;
        if (amount == 0) revert ChatRecordRegistryNothingToWithdraw(msg.sender);

        _validatorAccounts[msg.sender].rewards = 0;
        emit RewardsWithdrawn(msg.sender, amount);

        _sendValue(msg.sender, amount);
    }

    /* BATCH ANCHORING */

    /// @inheritdoc IChatRecordRegistry
    function anchorBatch(bytes32 merkleRoot, uint32 count, uint16 modelId) external returns (uint256 batchId) {
        if (merkleRoot == bytes32(0) || count == 0) revert ChatRecordRegistryEmptyBatch(merkleRoot, count);
        if (_models[modelId].modelHash == bytes32(0)) revert ChatRecordRegistryUnknownModel(modelId);
        if (!_validatorRegistry.isActive(msg.sender)) revert ChatRecordRegistryNotActiveValidator(msg.sender);

        batchId = ++_batchCount;
        _batches[batchId] = Batch({
            merkleRoot: merkleRoot,
            validator: msg.sender,
            modelId: modelId,
            count: count,
            anchoredAt: uint64(block.timestamp)
        });
        emit BatchAnchored(batchId, msg.sender, modelId, merkleRoot, count);
    }

    /// @inheritdoc IChatRecordRegistry
    function verifyRecord(uint256 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return MerkleProof.verifyCalldata(proof, getBatch(batchId).merkleRoot, leaf);
    }

    /* VIEWS */

    /// @inheritdoc IChatRecordRegistry
    function recordLeaf(bytes32 promptHash, bytes32 responseHash, bytes32 modelHash, address validator)
        external
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(promptHash, responseHash, modelHash, validator))));
    }

    /// @inheritdoc IChatRecordRegistry
    function computeCommitment(uint256 requestId, address validator, bytes32 responseHash, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(requestId, validator, responseHash, salt));
    }

    /// @inheritdoc IChatRecordRegistry
    function getRecord(uint256 requestId) external view returns (Record memory record) {
        Header memory header = _existingHeader(requestId);
        Callback memory callback = _callbacks[requestId];
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(header.assignedAt);
        record = Record({
            requestId: requestId,
            requester: _requesterAddresses[header.requesterId],
            modelId: header.modelId,
            status: header.status,
            attempt: header.attempt,
            quorum: header.quorum,
            fee: header.fee,
            promptHash: _promptHashes[requestId],
            responseHash: header.status == Status.Finalized ? _finalResponseHash(requestId, header) : bytes32(0),
            modelHash: _models[header.modelId].modelHash,
            consumer: callback.consumer,
            callbackGasLimit: callback.gasLimit,
            callbackFailed: callback.failed,
            commitDeadline: commitDeadline,
            revealDeadline: revealDeadline,
            committee: _committee(requestId, header)
        });
    }

    /// @inheritdoc IChatRecordRegistry
    function getMembers(uint256 requestId) external view returns (MemberState[] memory members) {
        Header memory header = _existingHeader(requestId);
        address[] memory committee = _committee(requestId, header);
        members = new MemberState[](committee.length);
        for (uint256 seat; seat < committee.length; ++seat) {
            bool committed = header.committedMask & (1 << seat) != 0;
            bool revealed = header.revealedMask & (1 << seat) != 0;
            bytes32 stored = _seatHashes[requestId][seat];
            members[seat] = MemberState({
                validator: committee[seat],
                committed: committed,
                revealed: revealed,
                commitment: committed && !revealed ? stored : bytes32(0),
                responseHash: revealed ? stored : bytes32(0)
            });
        }
    }

    /// @inheritdoc IChatRecordRegistry
    function phaseDeadlines(uint256 requestId) external view returns (uint64 commitDeadline, uint64 revealDeadline) {
        return _deadlines(_existingHeader(requestId).assignedAt);
    }

    /// @inheritdoc IChatRecordRegistry
    function requestsOf(address requester, uint256 cursor, uint256 limit)
        external
        view
        returns (uint256[] memory requestIds, uint256 nextCursor)
    {
        Requester memory account = _requesters[requester];
        uint256 id = cursor == 0 ? account.latestRequestId : cursor;
        if (id != 0 && (account.id == 0 || _headers[id].requesterId != account.id)) {
            revert ChatRecordRegistryUnknownRequest(id);
        }
        requestIds = new uint256[](limit);
        uint256 found;
        while (id != 0 && found < limit) {
            requestIds[found++] = id;
            id = _headers[id].previousRequestId;
        }
        assembly ("memory-safe") {
            mstore(requestIds, found) // shrink to the ids actually found
        }
        nextCursor = id;
    }

    /// @inheritdoc IChatRecordRegistry
    function requestCount() external view returns (uint256) {
        return _settings.requestCount;
    }

    /// @inheritdoc IChatRecordRegistry
    function getModel(uint16 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IChatRecordRegistry
    function getConfig() external view returns (Config memory) {
        Settings memory s = _settings;
        return Config({
            minimumFee: s.minimumFee,
            slashAmount: s.slashAmount,
            committeeSize: s.committeeSize,
            quorum: s.quorum,
            maxAttempts: s.maxAttempts
        });
    }

    /// @inheritdoc IChatRecordRegistry
    function pendingRewards(address validator) external view returns (uint256) {
        return _validatorAccounts[validator].rewards;
    }

    /// @inheritdoc IChatRecordRegistry
    function getBatch(uint256 batchId) public view returns (Batch memory batch) {
        batch = _batches[batchId];
        if (batch.merkleRoot == bytes32(0)) revert ChatRecordRegistryUnknownBatch(batchId);
    }

    /// @inheritdoc IChatRecordRegistry
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IChatRecordRegistry
    function commitWindow() external view returns (uint64) {
        return _commitWindow;
    }

    /// @inheritdoc IChatRecordRegistry
    function revealWindow() external view returns (uint64) {
        return _revealWindow;
    }

    /// @inheritdoc IChatRecordRegistry
    function validatorRegistry() external view returns (address) {
        return address(_validatorRegistry);
    }

    /// @inheritdoc IChatRecordRegistry
    function randomnessSource() external view returns (address) {
        return address(_randomness);
    }

    /* INTERNAL: LIFECYCLE */

    /// @dev Credits the fee, slashes dissenters, then calls the consumer (last: it is untrusted). `revealerSeat` is
    ///      msg.sender's seat, whose address needs no lookup.
    function _finalize(
        uint256 requestId,
        Header memory header,
        uint256 revealerSeat,
        bytes32 responseHash,
        uint256 agreeingMask
    ) private {
        // Only revealed seats are paid or slashed: skip loading the others' addresses (a cold SLOAD each).
        address[] memory committee =
            _committeeAt(requestId, header, header.revealedMask & ~(1 << revealerSeat));
        committee[revealerSeat] = msg.sender;
        uint256 agreeingCount = _popCount(agreeingMask);
        address[] memory agreeing = new address[](agreeingCount);
        uint256 fee = header.fee;
        uint256 share = fee / agreeingCount;
        // The division remainder (< agreeingCount wei) goes to the first agreeing seat so no wei is stranded.
        uint256 remainder = fee - share * agreeingCount;
        uint256 next;
        for (uint256 seat; seat < committee.length; ++seat) {
            if (agreeingMask & (1 << seat) == 0) continue;
            agreeing[next++] = committee[seat];
            _validatorAccounts[committee[seat]].rewards += uint232(share + remainder);
            remainder = 0;
        }
        emit RecordFinalized(requestId, responseHash, header.modelId, agreeing);

        _slashSeats(requestId, committee, header.revealedMask & ~agreeingMask, SlashReason.Dissent);
        if (header.hasConsumer) _callConsumer(requestId, responseHash);
    }

    /// @dev Writes the request's header and moves the requester's list head to it.
    function _storeRequest(
        uint256 requestId,
        uint16 modelId,
        Settings memory settings,
        address[] memory committee,
        bool hasConsumer
    ) private {
        Requester memory requester = _requesters[msg.sender];
        if (requester.id == 0) requester.id = _newRequesterId(msg.sender);
        _headers[requestId] = Header({
            firstMemberId: _storeCommittee(requestId, committee),
            hasConsumer: hasConsumer,
            requesterId: requester.id,
            fee: uint64(msg.value),
            previousRequestId: requester.latestRequestId,
            assignedAt: uint32(block.timestamp),
            modelId: modelId,
            status: Status.Requested,
            attempt: 1,
            committeeSize: settings.committeeSize,
            quorum: settings.quorum,
            committedMask: 0,
            revealedMask: 0
        });
        _requesters[msg.sender] = Requester({id: requester.id, latestRequestId: uint32(requestId)});
    }

    /// @dev Draws a fresh committee for the next attempt and resets the attempt's progress.
    function _reassign(uint256 requestId, Header memory header) private {
        uint8 attempt = header.attempt + 1;
        address[] memory committee = _drawCommittee(requestId, attempt, header.committeeSize);
        header.status = Status.Requested;
        header.attempt = attempt;
        header.committedMask = 0;
        header.revealedMask = 0;
        header.firstMemberId = _storeCommittee(requestId, committee);
        header.assignedAt = uint32(block.timestamp);
        _headers[requestId] = header;
        emit RequestTimedOut(requestId, attempt - 1, false);
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(block.timestamp);
        emit CommitteeReassigned(requestId, committee, attempt, commitDeadline, revealDeadline);
    }

    /// @dev Calls the consumer with exactly its gas cap; a failure is recorded and never reverts the reveal.
    function _callConsumer(uint256 requestId, bytes32 responseHash) private {
        Callback storage callback = _callbacks[requestId];
        address consumer = callback.consumer;
        uint256 gasLimit = callback.gasLimit;
        // EIP-150 forwards at most 63/64 of the remaining gas: make sure the consumer really gets its cap, so a
        // revealer cannot make the callback fail on purpose by sending too little gas.
        uint256 needed = gasLimit + gasLimit / 63 + CALLBACK_RESERVE_GAS;
        if (gasleft() < needed) revert ChatRecordRegistryInsufficientGasForCallback(requestId, gasleft(), gasLimit);
        bytes memory data = abi.encodeCall(IChatConsumer.onChatFulfilled, (requestId, responseHash));
        bool success;
        assembly ("memory-safe") {
            // No return data is copied: a consumer cannot burn the revealer's gas with a huge revert reason.
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!success) {
            callback.failed = true;
            emit ConsumerCallbackFailed(requestId, consumer);
        }
    }

    function _slashSeats(uint256 requestId, address[] memory committee, uint256 seatMask, SlashReason reason) private {
        if (seatMask == 0) return;
        uint256 amount = _settings.slashAmount;
        for (uint256 seat; seat < committee.length; ++seat) {
            if (seatMask & (1 << seat) == 0) continue;
            uint256 slashed = amount == 0 ? 0 : _validatorRegistry.slash(committee[seat], amount);
            emit MemberSlashed(requestId, committee[seat], reason, slashed);
        }
    }

    function _drawCommittee(uint256 requestId, uint8 attempt, uint8 size) private view returns (address[] memory) {
        bytes32 seed = _randomness.randomSeed(requestId, attempt);
        return _validatorRegistry.drawCommittee(seed, size);
    }

    /// @dev Stores the ids of seats 1..size-1 (one slot) and returns seat 0's id, which goes into the header.
    function _storeCommittee(uint256 requestId, address[] memory committee) private returns (uint24 firstMemberId) {
        firstMemberId = _validatorIdOf(committee[0]);
        if (committee.length == 1) return firstMemberId;
        uint256 packed;
        for (uint256 seat = 1; seat < committee.length; ++seat) {
            packed |= uint256(_validatorIdOf(committee[seat])) << _seatShift(seat);
        }
        _otherSeatIds[requestId] = packed;
    }

    /// @dev The validator's id, assigned the first time it sits on a committee.
    function _validatorIdOf(address validator) private returns (uint24 id) {
        id = _validatorAccounts[validator].id;
        if (id != 0) return id;
        id = ++_idCounts.validators;
        _validatorAccounts[validator].id = id;
        _validatorAddresses[id] = validator;
    }

    function _newRequesterId(address requester) private returns (uint32 id) {
        id = ++_idCounts.requesters;
        _requesterAddresses[id] = requester;
    }

    /* INTERNAL: CHECKS AND READS */

    function _requireEnabledModel(uint16 modelId) private view {
        if (_models[modelId].enabled) return;
        if (_models[modelId].modelHash == bytes32(0)) revert ChatRecordRegistryUnknownModel(modelId);
        revert ChatRecordRegistryModelDisabled(modelId);
    }

    function _requireRevealOpen(uint256 requestId, Status status, uint32 assignedAt) private view {
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(assignedAt);
        if (status == Status.Requested && block.timestamp <= commitDeadline) {
            revert ChatRecordRegistryRevealPhaseNotOpen(requestId, commitDeadline, uint64(block.timestamp));
        }
        if (block.timestamp > revealDeadline) {
            revert ChatRecordRegistryRevealPhaseClosed(requestId, revealDeadline, uint64(block.timestamp));
        }
    }

    function _revertStatus(uint256 requestId, Status status) private pure {
        if (status == Status.None) revert ChatRecordRegistryUnknownRequest(requestId);
        revert ChatRecordRegistryInvalidStatus(requestId, status);
    }

    function _existingHeader(uint256 requestId) private view returns (Header memory header) {
        header = _headers[requestId];
        if (header.status == Status.None) revert ChatRecordRegistryUnknownRequest(requestId);
    }

    /// @dev The seat of `account` on the current committee, or a revert.
    function _seatOf(uint256 requestId, uint24 firstMemberId, uint256 size, address account)
        private
        view
        returns (uint256)
    {
        uint24 id = _validatorAccounts[account].id;
        if (id != 0) {
            if (id == firstMemberId) return 0;
            uint256 packed = size > 1 ? _otherSeatIds[requestId] : 0;
            for (uint256 seat = 1; seat < size; ++seat) {
                if (_otherSeatId(packed, seat) == id) return seat;
            }
        }
        revert ChatRecordRegistryNotCommitteeMember(requestId, account);
    }

    function _committee(uint256 requestId, Header memory header) private view returns (address[] memory committee) {
        return _committeeAt(requestId, header, type(uint256).max);
    }

    /// @dev The committee with only the seats in `seatMask` filled in; the other entries stay zero.
    function _committeeAt(uint256 requestId, Header memory header, uint256 seatMask)
        private
        view
        returns (address[] memory committee)
    {
        uint256 size = header.committeeSize;
        committee = new address[](size);
        if (seatMask & 1 != 0) committee[0] = _validatorAddresses[header.firstMemberId];
        if (size == 1 || seatMask & ~uint256(1) == 0) return committee;
        uint256 packed = _otherSeatIds[requestId];
        for (uint256 seat = 1; seat < size; ++seat) {
            if (seatMask & (1 << seat) != 0) committee[seat] = _validatorAddresses[_otherSeatId(packed, seat)];
        }
    }

    /// @dev Seats whose revealed hash equals `responseHash` (the caller's `seat` included without a reload).
    function _agreeingMask(uint256 requestId, uint8 revealedMask, uint256 seat, bytes32 responseHash)
        private
        view
        returns (uint256 mask)
    {
        mask = 1 << seat;
        uint256 others = revealedMask & ~mask;
        for (uint256 other; others != 0; ++other) {
            if (others & (1 << other) == 0) continue;
            others &= ~(1 << other);
            if (_seatHashes[requestId][other] == responseHash) mask |= 1 << other;
        }
    }

    /// @dev The hash revealed by at least `quorum` seats. Quorum is a strict majority of the committee, so that hash
    ///      is a strict majority of the revealed seats too, and one Boyer–Moore majority pass finds it.
    function _finalResponseHash(uint256 requestId, Header memory header) private view returns (bytes32 candidate) {
        uint256 votes;
        for (uint256 seat; seat < header.committeeSize; ++seat) {
            if (header.revealedMask & (1 << seat) == 0) continue;
            bytes32 revealed = _seatHashes[requestId][seat];
            if (votes == 0) candidate = revealed;
            if (revealed == candidate) ++votes;
            else --votes;
        }
    }

    /// @dev Seat s ≥ 1 sits at bits 32(s-1) .. 32(s-1)+23 of `_otherSeatIds`.
    function _seatShift(uint256 seat) private pure returns (uint256) {
        return 32 * (seat - 1);
    }

    function _otherSeatId(uint256 packed, uint256 seat) private pure returns (uint24) {
        return uint24(packed >> _seatShift(seat));
    }

    function _deadlines(uint256 assignedAt) private view returns (uint64 commitDeadline, uint64 revealDeadline) {
        commitDeadline = uint64(assignedAt) + _commitWindow;
        revealDeadline = commitDeadline + _revealWindow;
    }

    function _setConfig(Config memory config) private {
        uint8 size = config.committeeSize;
        if (
            size == 0 || size > MAX_COMMITTEE_SIZE || config.quorum > size || 2 * uint256(config.quorum) <= size
                || config.maxAttempts == 0
        ) {
            revert ChatRecordRegistryInvalidConfig(size, config.quorum, config.maxAttempts);
        }
        uint256 unit = _validatorRegistry.STAKE_UNIT();
        if (config.slashAmount % unit != 0) revert ChatRecordRegistrySlashAmountNotWholeUnits(config.slashAmount, unit);
        Settings storage settings = _settings;
        settings.minimumFee = config.minimumFee;
        settings.slashAmount = config.slashAmount;
        settings.committeeSize = size;
        settings.quorum = config.quorum;
        settings.maxAttempts = config.maxAttempts;
        emit ConfigUpdated(config.minimumFee, config.slashAmount, size, config.quorum, config.maxAttempts);
    }

    function _sendValue(address to, uint256 amount) private {
        (bool success,) = to.call{value: amount}("");
        if (!success) revert ChatRecordRegistryTransferFailed(to, amount);
    }

    function _fullMask(uint256 size) private pure returns (uint8) {
        return uint8((1 << size) - 1);
    }

    function _popCount(uint256 mask) private pure returns (uint256 count) {
        for (; mask != 0; mask &= mask - 1) {
            ++count;
        }
    }
}
