// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {BatchAnchoring} from "./base/BatchAnchoring.sol";
import {IChatConsumer} from "./interfaces/IChatConsumer.sol";
import {IChatRecordRegistry} from "./interfaces/IChatRecordRegistry.sol";
import {IChatThreads} from "./interfaces/IChatThreads.sol";
import {ChatThreads} from "./ChatThreads.sol";
import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";
import {IStakeLock} from "./interfaces/IStakeLock.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";
import {PackedSeatIds, SeatIds} from "./libraries/SeatIds.sol";

/// @title ChatRecordRegistry
/// @notice Chat requests answered by stake-weighted committees with commit–reveal (or a direct response for a
///         committee of one); see IChatRecordRegistry for the lifecycle. Texts live only in events; storage keeps
///         hashes, packed so that one request costs two new slots (three with a committee larger than one) plus one
///         per commitment.
/// @dev Storage per request: `_headers` (one slot: seat 0's validator id — zero until the committee is drawn —,
///      requester id, flags, fee, assignment time, seed block, model, status, attempt, size, quorum, and the
///      commit/reveal/decline bit masks), `_promptHashes`, `_otherSeatIds` (validator ids of seats 1..size-1, 32 bits
///      apart, one slot), `_seatHashes` (a seat's commitment, overwritten by its revealed response hash), and
///      `_callbacks` only when a consumer is set. Validators (24-bit) and requesters (24-bit) get an id the first
///      time they appear; the id slot also holds the account's withdrawable credit (and, for a validator, until
///      when its stake is locked). Parameters are kept as a history keyed by the first request they apply to, so
///      a request is slashed and retried under the parameters it was created with. Bounds that follow from the
///      packing: request ids < 2^32, requester and validator ids < 2^24, fees < 2^64 wei, timestamps and block
///      numbers < 2^32, committees ≤ 8.
contract ChatRecordRegistry is IChatRecordRegistry, IStakeLock, Ownable, ReentrancyGuardTransient, BatchAnchoring {
    /// @notice Largest committee (the commit/reveal masks are 8 bits).
    uint8 public constant MAX_COMMITTEE_SIZE = 8;
    /// @notice Largest gas cap a requester may give its consumer callback.
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 5_000_000;
    /// @dev Gas kept back for the code after the consumer call (event + flag write when it fails).
    uint256 private constant CALLBACK_RESERVE_GAS = 40_000;
    /// @dev Gas of the call itself not seen by the callee (CALL with value 0 to a warm-or-cold address, memory):
    ///      added to the measured use so the finalizer is not out of pocket.
    uint256 private constant CALLBACK_CALL_OVERHEAD = 2_700;
    /// @notice Seated stake is locked until the seat's settlement horizon rounded up to a multiple of this.
    uint256 public constant STAKE_LOCK_PERIOD = 1 hours;
    /// @dev Header flags.
    uint8 private constant FLAG_CONSUMER = 1;
    uint8 private constant FLAG_SETTLED = 2;
    /// @dev A seat number past every mask, for `_agreeingMask` called without a revealing seat.
    uint256 private constant NO_SEAT = 256;

    /// @dev The one hot slot of a request: who pays what, and the current attempt's state.
    struct Header {
        uint24 firstMemberId;
        uint24 requesterId;
        uint8 flags;
        uint64 fee;
        uint32 assignedAt;
        uint32 seedBlock;
        uint16 modelId;
        Status status;
        uint8 attempt;
        uint8 committeeSize;
        uint8 quorum;
        uint8 committedMask;
        uint8 revealedMask;
        uint8 declinedMask;
    }

    /// @dev One slot per requester: its id and its withdrawable credit (refunds, unearned shares, unused escrow).
    struct Requester {
        uint24 id;
        uint232 credit;
    }

    /// @dev Id counters, touched only when a new validator or requester appears.
    struct IdCounts {
        uint24 validators;
        uint24 requesters;
    }

    /// @dev One slot per validator that has sat on a committee: its local id, until when its stake must stay
    ///      slashable, and its withdrawable credit (fee shares, callback reimbursements).
    struct ValidatorAccount {
        uint24 id;
        uint32 lockedUntil;
        uint200 credit;
    }

    /// @dev Only for requests with a consumer. The escrow is gasLimit × maxGasPrice.
    struct Callback {
        address consumer;
        uint32 gasLimit;
        bool failed;
        uint56 maxGasPrice;
    }

    /// @dev Current config plus the request counter, one slot.
    struct Settings {
        uint96 minimumFee;
        uint96 slashAmount;
        uint8 committeeSize;
        uint8 quorum;
        uint8 maxAttempts;
        uint32 requestCount;
    }

    /// @dev A past or current config and the first request id it applies to.
    struct ConfigEntry {
        uint96 minimumFee;
        uint96 slashAmount;
        uint8 committeeSize;
        uint8 quorum;
        uint8 maxAttempts;
        uint32 firstRequestId;
    }

    /// @dev Only for a turn that extends a thread (a root has none): 32-bit ids like the request counter.
    struct Turn {
        uint32 parentId;
        uint32 rootId;
        bytes32 previousRecordHash;
    }

    /// @dev Model state read by `requestChat`: one slot besides the hash.
    struct ModelState {
        bytes32 modelHash;
        bool enabled;
        uint32 maxPromptBytes;
        uint32 maxNewTokens;
        uint32 contextLength;
        string uri;
    }

    IValidatorRegistry private immutable _validatorRegistry;
    IRandomnessSource private immutable _randomness;
    uint32 private immutable _commitWindow;
    uint32 private immutable _revealWindow;
    /// @dev Thread membership and its views live in a contract of their own: this one is at the code size limit.
    IChatThreads private immutable _threads;

    Settings private _settings;
    ConfigEntry[] private _configHistory;

    mapping(uint16 modelId => ModelState) private _models;
    mapping(uint256 requestId => Header) private _headers;
    mapping(uint256 requestId => bytes32) private _promptHashes;
    mapping(uint256 requestId => PackedSeatIds) private _otherSeatIds;
    mapping(uint256 requestId => mapping(uint256 seat => bytes32 commitmentOrResponseHash)) private _seatHashes;
    mapping(uint256 requestId => Callback) private _callbacks;
    IdCounts private _idCounts;
    mapping(address validator => ValidatorAccount) private _validatorAccounts;
    mapping(uint24 id => address validator) private _validatorAddresses;
    mapping(address requester => Requester) private _requesters;
    mapping(uint24 id => address requester) private _requesterAddresses;
    mapping(uint256 requestId => Turn) private _turns;

    /// @param validatorRegistry_ Source of committees and target of slashing (must grant this contract SLASHER_ROLE
    ///                           and name it as its stake lock).
    /// @param randomness_        Seeds committee draws.
    /// @param commitWindow_      Seconds from assignment to the commit deadline.
    /// @param revealWindow_      Seconds from the commit deadline to the reveal deadline (and the settlement grace
    ///                           after it, during which seated stake stays locked).
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
        _threads = new ChatThreads(this);
        _setConfig(config);
    }

    /* MODELS AND CONFIG */

    /// @inheritdoc IChatRecordRegistry
    function registerModel(uint16 modelId, bytes32 modelHash, ModelLimits calldata limits, string calldata uri)
        external
        onlyOwner
    {
        if (modelHash == bytes32(0)) revert ChatRecordRegistryZeroModelHash(modelId);
        if (_models[modelId].modelHash != bytes32(0)) revert ChatRecordRegistryModelExists(modelId);
        if (
            limits.maxPromptBytes == 0 || limits.maxNewTokens == 0 || limits.maxNewTokens >= limits.contextLength
        ) {
            revert ChatRecordRegistryInvalidModelLimits(
                modelId, limits.maxPromptBytes, limits.maxNewTokens, limits.contextLength
            );
        }
        _models[modelId] = ModelState({
            modelHash: modelHash,
            enabled: true,
            maxPromptBytes: limits.maxPromptBytes,
            maxNewTokens: limits.maxNewTokens,
            contextLength: limits.contextLength,
            uri: uri
        });
        emit ModelRegistered(modelId, modelHash, limits, uri);
    }

    /// @inheritdoc IChatRecordRegistry
    function updateModel(uint16 modelId, bool enabled, string calldata uri) external onlyOwner {
        ModelState storage model = _models[modelId];
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
        bytes calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit,
        uint64 maxCallbackGasPrice
    ) external payable returns (uint256 requestId) {
        return _requestChat(modelId, prompt, maxNewTokens, consumer, callbackGasLimit, maxCallbackGasPrice);
    }

    /// @inheritdoc IChatRecordRegistry
    function requestChatFollowUp(
        uint256 parentId,
        bytes calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit,
        uint64 maxCallbackGasPrice
    ) external payable returns (uint256 requestId) {
        (uint256 rootId, bytes32 previousRecordHash, uint16 modelId) = _threads.checkExtension(parentId, msg.sender);

        requestId = _requestChat(modelId, prompt, maxNewTokens, consumer, callbackGasLimit, maxCallbackGasPrice);
        _turns[requestId] =
            Turn({parentId: uint32(parentId), rootId: uint32(rootId), previousRecordHash: previousRecordHash});
        emit ThreadExtended(requestId, parentId, rootId, previousRecordHash);
    }

    /// @inheritdoc IChatRecordRegistry
    function draw(uint256 requestId) external {
        Header memory header = _loadHeader(requestId);
        _requireOpen(requestId, header.status);
        if (header.firstMemberId != 0) return;
        (bytes32 seed, IRandomnessSource.SeedStatus seedStatus) =
            _randomness.seedOf(requestId, header.attempt, header.seedBlock);
        if (seedStatus == IRandomnessSource.SeedStatus.Lost) {
            uint64 seedBlock = _randomness.requestSeed(requestId, header.attempt);
            _headers[requestId].seedBlock = uint32(seedBlock);
            emit SeedRenewed(requestId, header.attempt, seedBlock);
            return;
        }
        if (seedStatus == IRandomnessSource.SeedStatus.Pending) _revertSeedNotReady(requestId, header.seedBlock);
        _headers[requestId].firstMemberId = _drawAndStore(requestId, header, seed);
    }

    /// @inheritdoc IChatRecordRegistry
    /// @dev No reentrancy guard: a commit makes no external call besides the randomness source's view and the
    ///      validator registry's draw (both views), and a reentrant commit passes the same checks as any other.
    function commitResponse(uint256 requestId, bytes32 commitment) external {
        Header memory header = _loadHeader(requestId);
        uint256 seat = _openSeat(requestId, header);

        _seatHashes[requestId][seat] = commitment;
        header.committedMask |= uint8(1 << seat);
        if (header.committedMask | header.declinedMask == _fullMask(header.committeeSize)) {
            header.status = Status.Committed;
        }
        _storeHeader(requestId, header);
        emit ResponseCommitted(requestId, msg.sender, commitment);
    }

    /// @inheritdoc IChatRecordRegistry
    function declineRequest(uint256 requestId, DeclineReason reason) external {
        Header memory header = _loadHeader(requestId);
        if (header.status == Status.Declined) {
            _lateDecline(requestId, header, reason);
            return;
        }
        uint256 seat = _openSeat(requestId, header);

        header.declinedMask |= uint8(1 << seat);
        bool declined = _popCount(header.declinedMask) >= header.quorum;
        if (declined) {
            header.status = Status.Declined;
        } else if (header.committedMask | header.declinedMask == _fullMask(header.committeeSize)) {
            header.status = Status.Committed;
        }
        _storeHeader(requestId, header);
        emit ResponseDeclined(requestId, msg.sender, reason);

        if (declined) _payDecliners(requestId, header);
    }

    /// @inheritdoc IChatRecordRegistry
    function revealResponse(uint256 requestId, string calldata responseText, bytes32 salt) external nonReentrant {
        Header memory header = _loadHeader(requestId);
        uint256 seat = _revealingSeat(requestId, header);
        bytes32 responseHash = keccak256(bytes(responseText));
        _requireCommitment(requestId, seat, responseHash, salt);
        if (header.status == Status.Finalized) {
            _lateReveal(requestId, header, seat, responseHash, responseText);
            return;
        }

        _seatHashes[requestId][seat] = responseHash;
        header.revealedMask |= uint8(1 << seat);
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
    function respond(uint256 requestId, string calldata responseText) external nonReentrant {
        Header memory header = _loadHeader(requestId);
        if (header.committeeSize != 1) revert ChatRecordRegistryNotSingleMember(requestId, header.committeeSize);
        _openSeat(requestId, header);

        bytes32 responseHash = keccak256(bytes(responseText));
        _seatHashes[requestId][0] = responseHash;
        header.committedMask = 1;
        header.revealedMask = 1;
        header.status = Status.Finalized;
        // The only seat agreed: nothing is left to settle.
        header.flags |= FLAG_SETTLED;
        _storeHeader(requestId, header);
        emit ResponseRevealed(requestId, msg.sender, responseHash, responseText);

        _finalize(requestId, header, 0, responseHash, 1);
    }

    /// @inheritdoc IChatRecordRegistry
    function timeout(uint256 requestId) external nonReentrant {
        Header memory header = _loadHeader(requestId);
        _requireOpen(requestId, header.status);
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(header.assignedAt);
        uint256 committed = _popCount(header.committedMask);
        bool quorumCommitted = committed >= header.quorum;
        if (block.timestamp <= revealDeadline && (block.timestamp <= commitDeadline || quorumCommitted)) {
            // Early timeouts only when a quorum can no longer commit; otherwise wait for the reveal deadline.
            revert ChatRecordRegistryTimeoutNotReached(
                requestId, quorumCommitted ? revealDeadline : commitDeadline, uint64(block.timestamp)
            );
        }
        // Whom to slash: the drawn committee, drawing it now if nobody did (the seed was fixed long ago). A seed that
        // was lost before anyone drew names nobody, and a pool too small to draw from seats nobody: nobody is slashed.
        if (header.firstMemberId == 0 && _validatorRegistry.activeValidatorCount() >= header.committeeSize) {
            (bytes32 seed, IRandomnessSource.SeedStatus seedStatus) =
                _randomness.seedOf(requestId, header.attempt, header.seedBlock);
            if (seedStatus == IRandomnessSource.SeedStatus.Ready) {
                header.firstMemberId = _drawAndStore(requestId, header, seed);
            }
        }
        address[] memory committee =
            header.firstMemberId == 0 ? new address[](0) : _committee(requestId, header);
        uint256 responded = header.committedMask | header.declinedMask;
        uint256 missedCommitMask = committee.length == 0 ? 0 : _fullMask(header.committeeSize) & ~responded;
        uint256 missedRevealMask =
            block.timestamp > revealDeadline ? header.committedMask & ~uint256(header.revealedMask) : 0;

        // Slash first, then decide: a no-show pushed out of the pool is not counted as available.
        _slashSeats(requestId, committee, missedCommitMask, SlashReason.MissedCommit);
        _slashSeats(requestId, committee, missedRevealMask, SlashReason.MissedReveal);

        uint8 attempt = header.attempt;
        bool exhausted = attempt >= _requestConfig(requestId).maxAttempts
            || _validatorRegistry.activeValidatorCount() < header.committeeSize;
        if (exhausted) {
            header.status = Status.TimedOut;
            header.flags |= FLAG_SETTLED;
            _storeHeader(requestId, header);
            emit RequestTimedOut(requestId, attempt, true);
            _refundRequester(requestId, header, header.fee + _escrow(requestId, header));
        } else {
            _reassign(requestId, header);
        }
    }

    /// @inheritdoc IChatRecordRegistry
    function settle(uint256 requestId) external nonReentrant {
        Header memory header = _loadHeader(requestId);
        if (header.status != Status.Finalized && header.status != Status.Declined) {
            _revertStatus(requestId, header.status);
        }
        if (header.flags & FLAG_SETTLED != 0) revert ChatRecordRegistryAlreadySettled(requestId);
        (, uint64 revealDeadline) = _deadlines(header.assignedAt);
        if (block.timestamp <= revealDeadline) {
            revert ChatRecordRegistryTimeoutNotReached(requestId, revealDeadline, uint64(block.timestamp));
        }

        _headers[requestId].flags = header.flags | FLAG_SETTLED;
        address[] memory committee = _committee(requestId, header);
        uint256 full = _fullMask(header.committeeSize);
        uint256 paidSeats;
        uint256 refund;
        if (header.status == Status.Finalized) {
            paidSeats = _popCount(_agreeingMask(requestId, header.revealedMask, NO_SEAT, _finalResponseHash(requestId, header)));
            uint256 missedCommit = full & ~uint256(header.committedMask | header.declinedMask);
            _slashSeats(requestId, committee, missedCommit, SlashReason.MissedCommit);
            _slashSeats(
                requestId, committee, header.committedMask & ~uint256(header.revealedMask), SlashReason.MissedReveal
            );
            // Revealed dissenters were slashed when they revealed; a minority decline contradicted the outcome.
            _slashSeats(requestId, committee, header.declinedMask, SlashReason.Dissent);
        } else {
            paidSeats = _popCount(header.declinedMask);
            _slashSeats(requestId, committee, full & ~uint256(header.committedMask | header.declinedMask),
                SlashReason.MissedCommit);
            _slashSeats(requestId, committee, header.committedMask, SlashReason.Dissent);
        }
        refund = header.fee - _share(header.fee, header.committeeSize) * paidSeats - _remainder(header);
        emit RequestSettled(requestId, refund);
        if (refund != 0) _refundRequester(requestId, header, refund);
    }

    /// @inheritdoc IChatRecordRegistry
    function withdraw(address recipient) external nonReentrant {
        if (recipient == address(0)) revert ChatRecordRegistryZeroAddress();
        uint256 amount = _validatorAccounts[msg.sender].credit + _requesters[msg.sender].credit;
        if (amount == 0) revert ChatRecordRegistryNothingToWithdraw(msg.sender);

        _validatorAccounts[msg.sender].credit = 0;
        _requesters[msg.sender].credit = 0;
        emit CreditsWithdrawn(msg.sender, recipient, amount);

        (bool success,) = recipient.call{value: amount}("");
        if (!success) revert ChatRecordRegistryTransferFailed(recipient, amount);
    }

    /* BATCH ANCHORING */

    /// @dev Records of a registered model, anchored by an active validator.
    function _checkAnchorable(uint16 modelId) internal view override {
        if (_models[modelId].modelHash == bytes32(0)) revert ChatRecordRegistryUnknownModel(modelId);
        if (!_validatorRegistry.isActive(msg.sender)) revert ChatRecordRegistryNotActiveValidator(msg.sender);
    }

    /* VIEWS */

    /// @inheritdoc IChatRecordRegistry
    function computeCommitment(uint256 requestId, address validator, bytes32 responseHash, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(requestId, validator, responseHash, salt));
    }

    /// @inheritdoc IChatRecordRegistry
    function previewCommittee(uint256 requestId) external view returns (address[] memory committee, bool ready) {
        Header memory header = _existingHeader(requestId);
        if (header.firstMemberId != 0) return (_committee(requestId, header), true);
        (bytes32 seed, IRandomnessSource.SeedStatus seedStatus) =
            _randomness.seedOf(requestId, header.attempt, header.seedBlock);
        if (seedStatus != IRandomnessSource.SeedStatus.Ready) return (new address[](0), false);
        return (_validatorRegistry.drawCommittee(seed, header.committeeSize), true);
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
            settled: header.flags & FLAG_SETTLED != 0,
            seedBlock: header.seedBlock,
            commitDeadline: commitDeadline,
            revealDeadline: revealDeadline,
            committee: header.firstMemberId == 0 ? new address[](0) : _committee(requestId, header)
        });
    }

    /// @inheritdoc IChatRecordRegistry
    function getMembers(uint256 requestId) external view returns (MemberState[] memory members) {
        Header memory header = _existingHeader(requestId);
        if (header.firstMemberId == 0) return members;
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
                declined: header.declinedMask & (1 << seat) != 0,
                commitment: committed && !revealed ? stored : bytes32(0),
                responseHash: revealed ? stored : bytes32(0)
            });
        }
    }

    /// @inheritdoc IChatRecordRegistry
    function threadOfRequest(uint256 requestId) external view returns (ThreadLink memory) {
        Turn memory turn = _turns[requestId];
        return ThreadLink({
            parentId: turn.parentId,
            rootId: turn.rootId == 0 ? requestId : turn.rootId,
            previousRecordHash: turn.previousRecordHash
        });
    }

    /// @inheritdoc IChatRecordRegistry
    function threadsContract() external view returns (address) {
        return address(_threads);
    }

    /// @inheritdoc IChatRecordRegistry
    function getRequestConfig(uint256 requestId) external view returns (Config memory) {
        _existingHeader(requestId);
        ConfigEntry memory entry = _requestConfig(requestId);
        return Config({
            minimumFee: entry.minimumFee,
            slashAmount: entry.slashAmount,
            committeeSize: entry.committeeSize,
            quorum: entry.quorum,
            maxAttempts: entry.maxAttempts
        });
    }

    /// @inheritdoc IChatRecordRegistry
    function requestCount() external view returns (uint256) {
        return _settings.requestCount;
    }

    /// @inheritdoc IChatRecordRegistry
    function getModel(uint16 modelId) external view returns (Model memory) {
        ModelState storage model = _models[modelId];
        return Model({
            modelHash: model.modelHash,
            enabled: model.enabled,
            limits: ModelLimits({
                maxPromptBytes: model.maxPromptBytes,
                maxNewTokens: model.maxNewTokens,
                contextLength: model.contextLength
            }),
            uri: model.uri
        });
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
    function creditOf(address account) external view returns (uint256) {
        return _validatorAccounts[account].credit + _requesters[account].credit;
    }

    /// @inheritdoc IChatRecordRegistry
    function stakeLockedUntil(address validator) external view override(IChatRecordRegistry, IStakeLock) returns (uint64) {
        return _validatorAccounts[validator].lockedUntil;
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

    /// @dev Checks that the caller may commit, decline or respond now, drawing the committee if this is the first
    ///      call of the attempt; returns the caller's seat and leaves the drawn id in `header` (not yet stored).
    function _openSeat(uint256 requestId, Header memory header) private returns (uint256 seat) {
        Status status = header.status;
        if (status != Status.Requested && status != Status.Committed) _revertStatus(requestId, status);
        (uint64 commitDeadline,) = _deadlines(header.assignedAt);
        if (block.timestamp > commitDeadline) {
            revert ChatRecordRegistryCommitPhaseClosed(requestId, commitDeadline, uint64(block.timestamp));
        }
        if (header.firstMemberId == 0) {
            (bytes32 seed, IRandomnessSource.SeedStatus seedStatus) =
                _randomness.seedOf(requestId, header.attempt, header.seedBlock);
            // A lost seed is renewed by `draw`, which a commit cannot do without losing its own effect.
            if (seedStatus != IRandomnessSource.SeedStatus.Ready) _revertSeedNotReady(requestId, header.seedBlock);
            header.firstMemberId = _drawAndStore(requestId, header, seed);
        }
        seat = _seatOf(requestId, header.firstMemberId, header.committeeSize, msg.sender);
        if ((header.committedMask | header.declinedMask) & (1 << seat) != 0) {
            revert ChatRecordRegistryAlreadyCommitted(requestId, msg.sender);
        }
    }

    /// @dev Reveals stay open after finalization until the reveal deadline: a late agreeing reveal earns its share,
    ///      a dissenting one is slashed.
    function _lateReveal(
        uint256 requestId,
        Header memory header,
        uint256 seat,
        bytes32 responseHash,
        string calldata responseText
    ) private {
        bytes32 finalHash = _finalResponseHash(requestId, header);
        _seatHashes[requestId][seat] = responseHash;
        _headers[requestId].revealedMask = header.revealedMask | uint8(1 << seat);
        emit ResponseRevealed(requestId, msg.sender, responseHash, responseText);

        if (responseHash == finalHash) _credit(msg.sender, requestId, _share(header.fee, header.committeeSize));
        else _slash(requestId, msg.sender, SlashReason.Dissent);
    }

    /// @dev Credits the fee shares, slashes dissenters, then calls the consumer (last: it is untrusted). Each
    ///      committee seat is worth fee / size; seats that do not earn theirs go back to the requester at `settle`.
    ///      `revealerSeat` is msg.sender's seat, whose address needs no lookup.
    function _finalize(
        uint256 requestId,
        Header memory header,
        uint256 revealerSeat,
        bytes32 responseHash,
        uint256 agreeingMask
    ) private {
        // Only revealed seats are paid or slashed: skip loading the others' addresses (a cold SLOAD each).
        address[] memory committee = header.committeeSize == 1
            ? new address[](1)
            : _committeeAt(requestId, header, header.revealedMask & ~(1 << revealerSeat));
        committee[revealerSeat] = msg.sender;
        address[] memory agreeing = _payShares(requestId, header, committee, agreeingMask);
        emit RecordFinalized(requestId, responseHash, header.modelId, agreeing);

        _slashSeats(requestId, committee, header.revealedMask & ~agreeingMask, SlashReason.Dissent);
        if (header.flags & FLAG_CONSUMER != 0) _callConsumer(requestId, responseHash);
    }

    /// @dev Declines stay open after a quorum declined, until the commit deadline: the members that had not acted yet
    ///      decline too and earn their share, instead of being slashed for a request nobody could serve.
    function _lateDecline(uint256 requestId, Header memory header, DeclineReason reason) private {
        (uint64 commitDeadline,) = _deadlines(header.assignedAt);
        if (block.timestamp > commitDeadline) {
            revert ChatRecordRegistryCommitPhaseClosed(requestId, commitDeadline, uint64(block.timestamp));
        }
        uint256 seat = _seatOf(requestId, header.firstMemberId, header.committeeSize, msg.sender);
        if ((header.committedMask | header.declinedMask) & (1 << seat) != 0) {
            revert ChatRecordRegistryAlreadyCommitted(requestId, msg.sender);
        }
        _headers[requestId].declinedMask = header.declinedMask | uint8(1 << seat);
        emit ResponseDeclined(requestId, msg.sender, reason);
        _credit(msg.sender, requestId, _share(header.fee, header.committeeSize));
    }

    /// @dev A declined request pays each declining seat its share (they did the work of finding it unservable; late
    ///      decliners are paid when they decline, the shares nobody earned go back at `settle`); the callback escrow
    ///      goes back to the requester.
    function _payDecliners(uint256 requestId, Header memory header) private {
        address[] memory committee = _committeeAt(requestId, header, header.declinedMask);
        address[] memory decliners = _payShares(requestId, header, committee, header.declinedMask);
        emit RequestDeclined(requestId, decliners);
        uint256 escrow = _escrow(requestId, header);
        if (escrow != 0) _refundRequester(requestId, header, escrow);
    }

    /// @dev `requestChat` for model `modelId`: checks, stores the request and emits `ChatRequested`.
    function _requestChat(
        uint16 modelId,
        bytes calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit,
        uint64 maxCallbackGasPrice
    ) private returns (uint256 requestId) {
        _requireServableRequest(modelId, prompt.length, maxNewTokens);
        uint256 escrow = _requireCallback(consumer, callbackGasLimit, maxCallbackGasPrice);
        Settings memory settings = _settings;
        uint256 fee = msg.value - (escrow < msg.value ? escrow : msg.value);
        if (msg.value < escrow || fee < settings.minimumFee) {
            revert ChatRecordRegistryFeeTooLow(fee, escrow, settings.minimumFee);
        }
        if (fee > type(uint64).max) revert ChatRecordRegistryFeeTooHigh(fee, type(uint64).max);

        requestId = ++settings.requestCount;
        _settings.requestCount = settings.requestCount;
        uint64 seedBlock = _randomness.requestSeed(requestId, 1);
        _storeRequest(requestId, modelId, fee, seedBlock, settings, consumer != address(0));
        if (consumer != address(0)) {
            _callbacks[requestId] = Callback({
                consumer: consumer,
                gasLimit: callbackGasLimit,
                failed: false,
                maxGasPrice: uint56(maxCallbackGasPrice)
            });
        }
        _storePromptAndEmit(requestId, modelId, prompt, maxNewTokens, seedBlock);
    }

    /// @dev Credits each seat in `seatMask` its share of the fee and returns their addresses in seat order. The division
    ///      remainder (< size wei) goes to the first of them so no wei is stranded.
    function _payShares(uint256 requestId, Header memory header, address[] memory committee, uint256 seatMask)
        private
        returns (address[] memory paid)
    {
        paid = new address[](_popCount(seatMask));
        uint256 share = _share(header.fee, header.committeeSize);
        uint256 remainder = header.fee - share * header.committeeSize;
        uint256 next;
        for (uint256 seat; seat < committee.length; ++seat) {
            if (seatMask & (1 << seat) == 0) continue;
            paid[next++] = committee[seat];
            _credit(committee[seat], requestId, share + remainder);
            remainder = 0;
        }
    }

    /// @dev Writes the request's header (no committee yet).
    function _storeRequest(
        uint256 requestId,
        uint16 modelId,
        uint256 fee,
        uint64 seedBlock,
        Settings memory settings,
        bool hasConsumer
    ) private {
        uint24 requesterId = _requesters[msg.sender].id;
        if (requesterId == 0) requesterId = _newRequesterId(msg.sender);
        _storeHeader(requestId, Header({
            firstMemberId: 0,
            requesterId: requesterId,
            flags: hasConsumer ? FLAG_CONSUMER : 0,
            fee: uint64(fee),
            assignedAt: uint32(block.timestamp),
            seedBlock: uint32(seedBlock),
            modelId: modelId,
            status: Status.Requested,
            attempt: 1,
            committeeSize: settings.committeeSize,
            quorum: settings.quorum,
            committedMask: 0,
            revealedMask: 0,
            declinedMask: 0
        }));
    }

    /// @dev Stores the prompt's hash and announces the request.
    function _storePromptAndEmit(
        uint256 requestId,
        uint16 modelId,
        bytes calldata prompt,
        uint32 maxNewTokens,
        uint64 seedBlock
    ) private {
        bytes32 promptHash = keccak256(prompt);
        _promptHashes[requestId] = promptHash;
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(block.timestamp);
        emit ChatRequested(
            requestId, msg.sender, modelId, prompt, promptHash, maxNewTokens, seedBlock, commitDeadline, revealDeadline
        );
    }

    /// @dev Starts the next attempt: a new seed block, no committee until it is drawn.
    function _reassign(uint256 requestId, Header memory header) private {
        uint8 attempt = header.attempt + 1;
        uint64 seedBlock = _randomness.requestSeed(requestId, attempt);
        header.status = Status.Requested;
        header.attempt = attempt;
        header.committedMask = 0;
        header.revealedMask = 0;
        header.declinedMask = 0;
        header.firstMemberId = 0;
        header.seedBlock = uint32(seedBlock);
        header.assignedAt = uint32(block.timestamp);
        _storeHeader(requestId, header);
        emit RequestTimedOut(requestId, attempt - 1, false);
        (uint64 commitDeadline, uint64 revealDeadline) = _deadlines(block.timestamp);
        emit CommitteeReassigned(requestId, attempt, seedBlock, commitDeadline, revealDeadline);
    }

    /// @dev Draws the attempt's committee from `seed`, stores seats 1.. and the members' stake locks, emits
    ///      `CommitteeDrawn`, and returns seat 0's id (the caller stores it in the header).
    function _drawAndStore(uint256 requestId, Header memory header, bytes32 seed)
        private
        returns (uint24 firstMemberId)
    {
        address[] memory committee = _validatorRegistry.drawCommittee(seed, header.committeeSize);
        // Seated stake stays withdrawable only after the seat can no longer be settled.
        (, uint64 revealDeadline) = _deadlines(header.assignedAt);
        // Rounded up to whole lock periods: a validator seated again within the period keeps the same value, and an
        // unchanged slot costs no write.
        uint256 horizon = revealDeadline + _revealWindow;
        uint32 lockedUntil = uint32((horizon + STAKE_LOCK_PERIOD - 1) / STAKE_LOCK_PERIOD * STAKE_LOCK_PERIOD);
        firstMemberId = _seatValidator(committee[0], lockedUntil);
        if (committee.length > 1) {
            PackedSeatIds packed;
            for (uint256 seat = 1; seat < committee.length; ++seat) {
                packed = packed.withId(seat, _seatValidator(committee[seat], lockedUntil));
            }
            _otherSeatIds[requestId] = packed;
        }
        emit CommitteeDrawn(requestId, header.attempt, committee);
    }

    /// @dev Calls the consumer with exactly its gas cap, reimburses the finalizer for the gas it used at this
    ///      transaction's price (capped by the requester's maximum) from the escrow, and credits the rest of the
    ///      escrow to the requester. A failed callback is recorded and never reverts the finalization.
    function _callConsumer(uint256 requestId, bytes32 responseHash) private {
        Callback storage callback = _callbacks[requestId];
        address consumer = callback.consumer;
        uint256 gasLimit = callback.gasLimit;
        // EIP-150 forwards at most 63/64 of the remaining gas: make sure the consumer really gets its cap, so a
        // finalizer cannot make the callback fail on purpose by sending too little gas.
        uint256 needed = gasLimit + gasLimit / 63 + CALLBACK_RESERVE_GAS;
        if (gasleft() < needed) revert ChatRecordRegistryInsufficientGasForCallback(requestId, gasleft(), gasLimit);
        bytes memory data = abi.encodeCall(IChatConsumer.onChatFulfilled, (requestId, responseHash));
        bool success;
        uint256 gasBefore = gasleft();
        assembly ("memory-safe") {
            // No return data is copied: a consumer cannot burn the finalizer's gas with a huge revert reason.
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        uint256 gasUsed = gasBefore - gasleft() + CALLBACK_CALL_OVERHEAD;
        if (!success) {
            callback.failed = true;
            emit ConsumerCallbackFailed(requestId, consumer);
        }
        _settleEscrow(requestId, gasUsed < gasLimit ? gasUsed : gasLimit, gasLimit, callback.maxGasPrice);
    }

    /// @dev Reimburses the finalizer `gasUsed` at this transaction's gas price (capped by the requester's maximum)
    ///      and credits the rest of the escrow to the requester.
    function _settleEscrow(uint256 requestId, uint256 gasUsed, uint256 gasLimit, uint256 maxGasPrice) private {
        uint256 price = tx.gasprice < maxGasPrice ? tx.gasprice : maxGasPrice;
        uint256 reimbursement = gasUsed * price;
        emit CallbackReimbursed(requestId, msg.sender, gasUsed, reimbursement);
        if (reimbursement != 0) _credit(msg.sender, requestId, reimbursement);
        uint256 rest = gasLimit * maxGasPrice - reimbursement;
        if (rest != 0) _refundRequester(requestId, _headers[requestId], rest);
    }

    function _slashSeats(uint256 requestId, address[] memory committee, uint256 seatMask, SlashReason reason) private {
        if (seatMask == 0) return;
        for (uint256 seat; seat < committee.length; ++seat) {
            if (seatMask & (1 << seat) != 0) _slash(requestId, committee[seat], reason);
        }
    }

    /// @dev Slashes by the amount of the config `requestId` was created under.
    function _slash(uint256 requestId, address validator, SlashReason reason) private {
        uint256 amount = _requestConfig(requestId).slashAmount;
        uint256 slashed = amount == 0 ? 0 : _validatorRegistry.slash(validator, amount);
        emit MemberSlashed(requestId, validator, reason, slashed);
    }

    function _credit(address validator, uint256 requestId, uint256 amount) private {
        _validatorAccounts[validator].credit += uint200(amount);
        emit Credited(validator, requestId, amount);
    }

    function _refundRequester(uint256 requestId, Header memory header, uint256 amount) private {
        address requester = _requesterAddresses[header.requesterId];
        _requesters[requester].credit += uint232(amount);
        emit Credited(requester, requestId, amount);
    }

    /// @dev The validator's id (assigned the first time it is seated), with its stake lock extended to `lockedUntil`.
    function _seatValidator(address validator, uint32 lockedUntil) private returns (uint24 id) {
        ValidatorAccount storage account = _validatorAccounts[validator];
        id = account.id;
        if (id == 0) {
            id = ++_idCounts.validators;
            account.id = id;
            _validatorAddresses[id] = validator;
        }
        if (account.lockedUntil < lockedUntil) account.lockedUntil = lockedUntil;
    }

    function _newRequesterId(address requester) private returns (uint24 id) {
        id = ++_idCounts.requesters;
        _requesters[requester].id = id;
        _requesterAddresses[id] = requester;
    }

    /* INTERNAL: CHECKS AND READS */

    /// @dev The model is enabled and the prompt and generation length are within its registered limits.
    function _requireServableRequest(uint16 modelId, uint256 promptLength, uint32 maxNewTokens) private view {
        ModelState storage model = _models[modelId];
        if (!model.enabled) {
            if (model.modelHash == bytes32(0)) revert ChatRecordRegistryUnknownModel(modelId);
            revert ChatRecordRegistryModelDisabled(modelId);
        }
        if (promptLength == 0) revert ChatRecordRegistryEmptyPrompt();
        if (promptLength > model.maxPromptBytes) {
            revert ChatRecordRegistryPromptTooLong(modelId, promptLength, model.maxPromptBytes);
        }
        if (maxNewTokens == 0 || maxNewTokens > model.maxNewTokens) {
            revert ChatRecordRegistryInvalidMaxNewTokens(modelId, maxNewTokens, model.maxNewTokens);
        }
    }

    /// @dev Validates the callback parameters and returns the escrow they need.
    function _requireCallback(address consumer, uint32 callbackGasLimit, uint64 maxCallbackGasPrice)
        private
        pure
        returns (uint256 escrow)
    {
        if (callbackGasLimit > MAX_CALLBACK_GAS_LIMIT) {
            revert ChatRecordRegistryCallbackGasLimitTooHigh(callbackGasLimit, MAX_CALLBACK_GAS_LIMIT);
        }
        bool valid = consumer == address(0)
            ? callbackGasLimit == 0 && maxCallbackGasPrice == 0
            : callbackGasLimit != 0 && maxCallbackGasPrice <= type(uint56).max;
        if (!valid) revert ChatRecordRegistryInvalidCallback(consumer, callbackGasLimit, maxCallbackGasPrice);
        return uint256(callbackGasLimit) * maxCallbackGasPrice;
    }

    /// @dev The caller's seat, if it committed, has not revealed, and reveals are open (before or after quorum).
    function _revealingSeat(uint256 requestId, Header memory header) private view returns (uint256 seat) {
        Status status = header.status;
        if (status != Status.Requested && status != Status.Committed && status != Status.Revealed
            && status != Status.Finalized) {
            _revertStatus(requestId, status);
        }
        if (header.firstMemberId == 0) revert ChatRecordRegistryNotCommitted(requestId, msg.sender);
        seat = _seatOf(requestId, header.firstMemberId, header.committeeSize, msg.sender);
        if (header.committedMask & (1 << seat) == 0) revert ChatRecordRegistryNotCommitted(requestId, msg.sender);
        if (header.revealedMask & (1 << seat) != 0) revert ChatRecordRegistryAlreadyRevealed(requestId, msg.sender);
        _requireRevealOpen(requestId, status, header.assignedAt);
    }

    function _requireCommitment(uint256 requestId, uint256 seat, bytes32 responseHash, bytes32 salt) private view {
        bytes32 computed = keccak256(abi.encode(requestId, msg.sender, responseHash, salt));
        bytes32 commitment = _seatHashes[requestId][seat];
        if (computed != commitment) {
            revert ChatRecordRegistryCommitmentMismatch(requestId, msg.sender, commitment, computed);
        }
    }

    function _requireOpen(uint256 requestId, Status status) private pure {
        if (status != Status.Requested && status != Status.Committed && status != Status.Revealed) {
            _revertStatus(requestId, status);
        }
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

    function _revertSeedNotReady(uint256 requestId, uint32 seedBlock) private view {
        revert ChatRecordRegistrySeedNotReady(requestId, seedBlock, uint64(block.number));
    }

    /// @dev One copy of the header's unpacking code for the whole contract (the code size limit).
    function _loadHeader(uint256 requestId) private view returns (Header memory) {
        return _headers[requestId];
    }

    /// @dev Writes the header as one word with a single SSTORE. Assigning the struct instead makes the compiler
    ///      read-mask-write the slot once per field (14 SLOAD/SSTORE pairs). The shifts follow the declaration order
    ///      of `Header`, whose fields the compiler packs from the low-order end of the slot.
    function _storeHeader(uint256 requestId, Header memory header) private {
        uint256 word = uint256(header.firstMemberId) | uint256(header.requesterId) << 24
            | uint256(header.flags) << 48 | uint256(header.fee) << 56 | uint256(header.assignedAt) << 120
            | uint256(header.seedBlock) << 152 | uint256(header.modelId) << 184 | uint256(header.status) << 200
            | uint256(header.attempt) << 208 | uint256(header.committeeSize) << 216 | uint256(header.quorum) << 224
            | uint256(header.committedMask) << 232 | uint256(header.revealedMask) << 240
            | uint256(header.declinedMask) << 248;
        Header storage stored = _headers[requestId];
        assembly ("memory-safe") {
            sstore(stored.slot, word)
        }
    }

    function _existingHeader(uint256 requestId) private view returns (Header memory header) {
        header = _loadHeader(requestId);
        if (header.status == Status.None) revert ChatRecordRegistryUnknownRequest(requestId);
    }

    /// @dev The config entry in force when `requestId` was created (binary search over the short history).
    function _requestConfig(uint256 requestId) private view returns (ConfigEntry memory) {
        uint256 low;
        uint256 high = _configHistory.length;
        while (high - low > 1) {
            uint256 middle = (low + high) / 2;
            if (_configHistory[middle].firstRequestId <= requestId) low = middle;
            else high = middle;
        }
        return _configHistory[low];
    }

    /// @dev The escrow still held for a request's callback (zero without a consumer, or once the callback ran).
    function _escrow(uint256 requestId, Header memory header) private view returns (uint256) {
        if (header.flags & FLAG_CONSUMER == 0) return 0;
        Callback memory callback = _callbacks[requestId];
        return uint256(callback.gasLimit) * callback.maxGasPrice;
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
            PackedSeatIds packed = size > 1 ? _otherSeatIds[requestId] : PackedSeatIds.wrap(0);
            for (uint256 seat = 1; seat < size; ++seat) {
                if (packed.idAt(seat) == id) return seat;
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
        PackedSeatIds packed = _otherSeatIds[requestId];
        for (uint256 seat = 1; seat < size; ++seat) {
            if (seatMask & (1 << seat) != 0) committee[seat] = _validatorAddresses[packed.idAt(seat)];
        }
    }

    /// @dev Seats whose revealed hash equals `responseHash` (the caller's `seat` included without a reload; NO_SEAT
    ///      when the caller has none: `1 << NO_SEAT` is zero, so every revealed seat is read).
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

    /// @dev What one seat earns: an equal part of the fee.
    function _share(uint256 fee, uint256 size) private pure returns (uint256) {
        return fee / size;
    }

    /// @dev The division remainder, paid to the first paid seat: a Finalized request pays at least its quorum of
    ///      agreeing seats, a Declined one at least its quorum of decliners, so a settled request always paid it.
    function _remainder(Header memory header) private pure returns (uint256) {
        return header.fee - _share(header.fee, header.committeeSize) * header.committeeSize;
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
        uint32 firstRequestId = settings.requestCount + 1;
        ConfigEntry memory entry = ConfigEntry({
            minimumFee: config.minimumFee,
            slashAmount: config.slashAmount,
            committeeSize: size,
            quorum: config.quorum,
            maxAttempts: config.maxAttempts,
            firstRequestId: firstRequestId
        });
        uint256 length = _configHistory.length;
        // No request was made under the previous entry: replace it instead of growing the history.
        if (length != 0 && _configHistory[length - 1].firstRequestId == firstRequestId) {
            _configHistory[length - 1] = entry;
        } else {
            _configHistory.push(entry);
        }
        emit ConfigUpdated(config.minimumFee, config.slashAmount, size, config.quorum, config.maxAttempts, firstRequestId);
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
