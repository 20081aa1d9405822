// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChatRecordRegistry
/// @notice Chat requests answered by a stake-weighted committee with commit–reveal, and the resulting records.
/// @dev Lifecycle of a request (times are unix timestamps in seconds, compared with block.timestamp):
///      1. `requestChat` (payable, fee ≥ minimum) draws a committee of `committeeSize` distinct validators in the same
///         transaction and emits `ChatRequested` with the prompt text. Storage keeps only hashes.
///      2. Each member calls `commitResponse(requestId, commitment)` while block.timestamp ≤ commitDeadline, with
///         commitment = keccak256(abi.encode(requestId, validator, responseHash, salt)) and
///         responseHash = keccak256(bytes(responseText)) (see `computeCommitment`).
///      3. Once every member committed, or after commitDeadline, committed members call
///         `revealResponse(requestId, responseText, salt)` while block.timestamp ≤ revealDeadline. The text goes out
///         in `ResponseRevealed`; storage keeps only its hash.
///      4. The reveal that makes `quorum` reveals agree on one hash finalizes the record inside the same transaction:
///         `RecordFinalized`, the fee is credited to the agreeing members (pull: `withdrawRewards`), members that
///         revealed another hash are slashed, and the consumer (if any) gets `onChatFulfilled` with its gas cap.
///         Reveals after finalization are rejected.
///      5. `timeout(requestId)` (anyone) after revealDeadline — or after commitDeadline when fewer than `quorum`
///         members committed — slashes members that missed their commit (and, after revealDeadline, their reveal),
///         then draws a fresh committee (`CommitteeReassigned`, attempt + 1) or, after `maxAttempts`, marks the
///         request TimedOut so the requester can `claimRefund`.
///      A node that learns of a request only through `CommitteeReassigned` fetches the prompt from the original
///      `ChatRequested` log (filter on the indexed requestId).
///      Event naming rule: past tense, emitted right after the state change, ids the oracle filters on `indexed`.
interface IChatRecordRegistry {
    /* TYPES */

    /// @notice Request status. None = no such request.
    /// Requested: committee drawn, commits open. Committed: every member committed, reveals open.
    /// Revealed: at least one reveal, no quorum yet. Finalized: quorum agreed (terminal).
    /// TimedOut: last attempt timed out, fee claimable by the requester. Refunded: fee returned (terminal).
    enum Status {
        None,
        Requested,
        Committed,
        Revealed,
        Finalized,
        TimedOut,
        Refunded
    }

    /// @notice Why a committee member was slashed.
    enum SlashReason {
        MissedCommit,
        MissedReveal,
        Dissent
    }

    /// @notice A registered model. `modelHash` is the sha256 of the model files (weights + tokenizer + config) as the
    ///         oracle computes it; it never changes for a model id.
    struct Model {
        bytes32 modelHash;
        bool enabled;
        string uri;
    }

    /// @notice Owner-set parameters; apply to requests created (or reassigned, for the committee) afterwards.
    /// @param minimumFee    Least fee in wei per request.
    /// @param slashAmount   Stake taken per fault (token base units, whole STAKE_UNITs of the validator registry).
    /// @param committeeSize Members per committee, 1..MAX_COMMITTEE_SIZE.
    /// @param quorum        Agreeing reveals needed; a strict majority of committeeSize (so one hash at most).
    /// @param maxAttempts   Committees tried before the request times out for good (≥ 1).
    struct Config {
        uint96 minimumFee;
        uint96 slashAmount;
        uint8 committeeSize;
        uint8 quorum;
        uint8 maxAttempts;
    }

    /// @notice A chat request and its record as returned by `getRecord`.
    /// @param responseHash Zero until Finalized.
    /// @param modelHash    The model's hash (fixed per model id).
    /// @param committee    The current attempt's committee.
    struct Record {
        uint256 requestId;
        address requester;
        uint16 modelId;
        Status status;
        uint8 attempt;
        uint8 quorum;
        uint256 fee;
        bytes32 promptHash;
        bytes32 responseHash;
        bytes32 modelHash;
        address consumer;
        uint32 callbackGasLimit;
        bool callbackFailed;
        uint64 commitDeadline;
        uint64 revealDeadline;
        address[] committee;
    }

    /// @notice One committee member's progress in the current attempt, as returned by `getMembers`.
    /// @param commitment   Zero until committed, and again once revealed (the seat's slot then holds the response
    ///                     hash: one storage slot per seat).
    /// @param responseHash Zero until revealed.
    struct MemberState {
        address validator;
        bool committed;
        bool revealed;
        bytes32 commitment;
        bytes32 responseHash;
    }

    /// @notice An anchored batch of off-chain chat records.
    struct Batch {
        bytes32 merkleRoot;
        address validator;
        uint16 modelId;
        uint32 count;
        uint64 anchoredAt;
    }

    /* EVENTS */

    /// @notice The owner registered model `modelId`.
    event ModelRegistered(uint16 indexed modelId, bytes32 modelHash, string uri);
    /// @notice The owner enabled/disabled model `modelId` or changed its uri.
    event ModelUpdated(uint16 indexed modelId, bool enabled, string uri);
    /// @notice The owner changed the parameters.
    event ConfigUpdated(uint96 minimumFee, uint96 slashAmount, uint8 committeeSize, uint8 quorum, uint8 maxAttempts);
    /// @notice A chat was requested and its first committee drawn (attempt 1). Carries everything a node needs.
    /// @param promptHash keccak256(bytes(prompt)).
    event ChatRequested(
        uint256 indexed requestId,
        address indexed requester,
        uint16 indexed modelId,
        string prompt,
        bytes32 promptHash,
        uint32 maxNewTokens,
        address[] committee,
        uint8 attempt,
        uint64 commitDeadline,
        uint64 revealDeadline
    );
    /// @notice After a timeout the request got a fresh committee (prompt: see the original `ChatRequested`).
    event CommitteeReassigned(
        uint256 indexed requestId, address[] committee, uint8 attempt, uint64 commitDeadline, uint64 revealDeadline
    );
    /// @notice `validator` committed to a response for `requestId`.
    event ResponseCommitted(uint256 indexed requestId, address indexed validator, bytes32 commitment);
    /// @notice `validator` revealed `responseText` (hash `responseHash`) for `requestId`.
    event ResponseRevealed(
        uint256 indexed requestId, address indexed validator, bytes32 responseHash, string responseText
    );
    /// @notice A quorum agreed on `responseHash`; `agreeing` share the fee. The model is named by id: a registered
    ///         id's hash never changes (`getModel`, and `getRecord` returns it with the record).
    event RecordFinalized(uint256 indexed requestId, bytes32 responseHash, uint16 modelId, address[] agreeing);
    /// @notice The consumer's `onChatFulfilled` reverted or ran out of its gas cap; the record is final anyway.
    event ConsumerCallbackFailed(uint256 indexed requestId, address indexed consumer);
    /// @notice `validator` was slashed `amount` for `reason` on `requestId`.
    event MemberSlashed(uint256 indexed requestId, address indexed validator, SlashReason reason, uint256 amount);
    /// @notice Attempt `attempt` of `requestId` timed out; `exhausted` = no further attempt (status TimedOut).
    event RequestTimedOut(uint256 indexed requestId, uint8 attempt, bool exhausted);
    /// @notice The fee of a timed-out request was returned to `requester`.
    event RequestRefunded(uint256 indexed requestId, address indexed requester, uint256 amount);
    /// @notice `validator` withdrew `amount` wei of fee rewards.
    event RewardsWithdrawn(address indexed validator, uint256 amount);
    /// @notice `validator` anchored `count` off-chain records of model `modelId` under `merkleRoot`.
    event BatchAnchored(
        uint256 indexed batchId, address indexed validator, uint16 indexed modelId, bytes32 merkleRoot, uint32 count
    );

    /* ERRORS */

    /// @notice An address argument was zero.
    error ChatRecordRegistryZeroAddress();
    /// @notice No model is registered under `modelId`.
    error ChatRecordRegistryUnknownModel(uint16 modelId);
    /// @notice Model `modelId` is registered but disabled.
    error ChatRecordRegistryModelDisabled(uint16 modelId);
    /// @notice Model `modelId` is already registered.
    error ChatRecordRegistryModelExists(uint16 modelId);
    /// @notice A model hash of zero was given for `modelId`.
    error ChatRecordRegistryZeroModelHash(uint16 modelId);
    /// @notice The parameters are inconsistent (size 1..MAX, strict-majority quorum, attempts ≥ 1).
    error ChatRecordRegistryInvalidConfig(uint8 committeeSize, uint8 quorum, uint8 maxAttempts);
    /// @notice `slashAmount` is not a whole multiple of the validator registry's `unit`.
    error ChatRecordRegistrySlashAmountNotWholeUnits(uint256 slashAmount, uint256 unit);
    /// @notice The fee `fee` is below `minimum`.
    error ChatRecordRegistryFeeTooLow(uint256 fee, uint256 minimum);
    /// @notice The fee `fee` is above the storable `maximum` (2^64 - 1 wei).
    error ChatRecordRegistryFeeTooHigh(uint256 fee, uint256 maximum);
    /// @notice The prompt is empty.
    error ChatRecordRegistryEmptyPrompt();
    /// @notice `maxNewTokens` must be positive.
    error ChatRecordRegistryZeroMaxNewTokens();
    /// @notice `callbackGasLimit` exceeds `maximum`.
    error ChatRecordRegistryCallbackGasLimitTooHigh(uint32 callbackGasLimit, uint32 maximum);
    /// @notice Request `requestId` does not exist.
    error ChatRecordRegistryUnknownRequest(uint256 requestId);
    /// @notice Request `requestId` is in `status`, which does not allow this call.
    error ChatRecordRegistryInvalidStatus(uint256 requestId, Status status);
    /// @notice `account` is not on the current committee of `requestId`.
    error ChatRecordRegistryNotCommitteeMember(uint256 requestId, address account);
    /// @notice `validator` already committed for `requestId`.
    error ChatRecordRegistryAlreadyCommitted(uint256 requestId, address validator);
    /// @notice The commit phase of `requestId` ended at `commitDeadline`; it is `currentTime`.
    error ChatRecordRegistryCommitPhaseClosed(uint256 requestId, uint64 commitDeadline, uint64 currentTime);
    /// @notice Reveals of `requestId` open when all members committed or after `commitDeadline`; it is `currentTime`.
    error ChatRecordRegistryRevealPhaseNotOpen(uint256 requestId, uint64 commitDeadline, uint64 currentTime);
    /// @notice The reveal phase of `requestId` ended at `revealDeadline`; it is `currentTime`.
    error ChatRecordRegistryRevealPhaseClosed(uint256 requestId, uint64 revealDeadline, uint64 currentTime);
    /// @notice `validator` reveals for `requestId` without having committed.
    error ChatRecordRegistryNotCommitted(uint256 requestId, address validator);
    /// @notice `validator` already revealed for `requestId`.
    error ChatRecordRegistryAlreadyRevealed(uint256 requestId, address validator);
    /// @notice The revealed text and salt hash to `computed`, not the stored `commitment`.
    error ChatRecordRegistryCommitmentMismatch(uint256 requestId, address validator, bytes32 commitment, bytes32 computed);
    /// @notice `timeout` was called on `requestId` before `deadline`; it is `currentTime`.
    error ChatRecordRegistryTimeoutNotReached(uint256 requestId, uint64 deadline, uint64 currentTime);
    /// @notice The remaining gas `gasLeft` cannot give the consumer its `callbackGasLimit`; resend with more gas.
    error ChatRecordRegistryInsufficientGasForCallback(uint256 requestId, uint256 gasLeft, uint256 callbackGasLimit);
    /// @notice `account` has nothing to withdraw.
    error ChatRecordRegistryNothingToWithdraw(address account);
    /// @notice Sending `amount` wei to `to` failed.
    error ChatRecordRegistryTransferFailed(address to, uint256 amount);
    /// @notice `account` is not an active (minimum-staked) validator.
    error ChatRecordRegistryNotActiveValidator(address account);
    /// @notice A batch needs a non-zero root and a positive count (`merkleRoot`, `count` given).
    error ChatRecordRegistryEmptyBatch(bytes32 merkleRoot, uint32 count);
    /// @notice Batch `batchId` does not exist.
    error ChatRecordRegistryUnknownBatch(uint256 batchId);

    /* MODELS AND CONFIG (owner) */

    /// @notice Registers `modelId` with its immutable `modelHash` and a `uri`, enabled.
    function registerModel(uint16 modelId, bytes32 modelHash, string calldata uri) external;
    /// @notice Enables/disables `modelId` and sets its uri.
    function updateModel(uint16 modelId, bool enabled, string calldata uri) external;
    /// @notice Sets the parameters.
    function setConfig(Config calldata config) external;

    /* REQUESTS */

    /// @notice Requests a chat answer to `prompt` from model `modelId`, paying the fee in msg.value.
    /// @param maxNewTokens     Generation length cap for the validators (> 0).
    /// @param consumer         Contract to call with `onChatFulfilled`, or address(0) for none.
    /// @param callbackGasLimit Gas given to the consumer call (≤ MAX_CALLBACK_GAS_LIMIT).
    /// @return requestId Sequential, starting at 1.
    function requestChat(
        uint16 modelId,
        string calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit
    ) external payable returns (uint256 requestId);

    /// @notice Commits the caller's response (see `computeCommitment`).
    function commitResponse(uint256 requestId, bytes32 commitment) external;

    /// @notice Reveals the caller's response; finalizes the record if this reveal completes a quorum.
    function revealResponse(uint256 requestId, string calldata responseText, bytes32 salt) external;

    /// @notice Ends an overdue attempt: slashes the members at fault, then reassigns or times the request out.
    function timeout(uint256 requestId) external;

    /// @notice Sends a TimedOut request's fee back to its requester (anyone may call).
    function claimRefund(uint256 requestId) external;

    /// @notice Sends the caller's accumulated fee rewards to the caller.
    function withdrawRewards() external;

    /* BATCH ANCHORING */

    /// @notice Anchors `count` off-chain records of `modelId` under `merkleRoot`; caller must be an active validator.
    /// @return batchId Sequential, starting at 1.
    function anchorBatch(bytes32 merkleRoot, uint32 count, uint16 modelId) external returns (uint256 batchId);

    /// @notice Whether `leaf` (see `recordLeaf`) is in batch `batchId` according to `proof` (OpenZeppelin MerkleProof,
    ///         sorted pairs, as produced by the StandardMerkleTree of the openzeppelin merkle-tree package).
    function verifyRecord(uint256 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /* VIEWS */

    /// @notice The leaf of an off-chain record: keccak256(bytes.concat(keccak256(abi.encode(promptHash, responseHash,
    ///         modelHash, validator)))) — the StandardMerkleTree leaf of types [bytes32,bytes32,bytes32,address].
    function recordLeaf(bytes32 promptHash, bytes32 responseHash, bytes32 modelHash, address validator)
        external
        pure
        returns (bytes32);
    /// @notice keccak256(abi.encode(requestId, validator, responseHash, salt)).
    function computeCommitment(uint256 requestId, address validator, bytes32 responseHash, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The record of `requestId` (reverts for an unknown id).
    function getRecord(uint256 requestId) external view returns (Record memory);
    /// @notice Per-member commit/reveal state of the current attempt of `requestId`.
    function getMembers(uint256 requestId) external view returns (MemberState[] memory);
    /// @notice The current attempt's deadlines.
    function phaseDeadlines(uint256 requestId) external view returns (uint64 commitDeadline, uint64 revealDeadline);
    /// @notice `requester`'s request ids, newest first, starting at `cursor` (0 = newest), at most `limit`;
    ///         `nextCursor` continues the listing (0 when done).
    function requestsOf(address requester, uint256 cursor, uint256 limit)
        external
        view
        returns (uint256[] memory requestIds, uint256 nextCursor);
    /// @notice Number of requests so far (the last request id).
    function requestCount() external view returns (uint256);
    /// @notice The model registered under `modelId` (modelHash zero if none).
    function getModel(uint16 modelId) external view returns (Model memory);
    /// @notice The current parameters.
    function getConfig() external view returns (Config memory);
    /// @notice Fee rewards `validator` can withdraw, in wei.
    function pendingRewards(address validator) external view returns (uint256);
    /// @notice Batch `batchId` (reverts for an unknown id).
    function getBatch(uint256 batchId) external view returns (Batch memory);
    /// @notice Number of anchored batches (the last batch id).
    function batchCount() external view returns (uint256);
    /// @notice Seconds from assignment to the commit deadline.
    function commitWindow() external view returns (uint64);
    /// @notice Seconds from the commit deadline to the reveal deadline.
    function revealWindow() external view returns (uint64);
    /// @notice The validator registry committees are drawn from and slashed through.
    function validatorRegistry() external view returns (address);
    /// @notice The randomness source seeding committee draws.
    function randomnessSource() external view returns (address);
}
