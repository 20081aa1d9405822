// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchAnchoring} from "./IBatchAnchoring.sol";

/// @title IChatRecordRegistry
/// @notice Chat requests answered by a stake-weighted committee with commit–reveal, and the resulting records.
/// @dev Lifecycle of a request (times are unix timestamps in seconds, compared with block.timestamp):
///      1. `requestChat` (payable: fee ≥ minimum, plus the consumer callback's gas escrow) checks the prompt and
///         `maxNewTokens` against the model's registered limits, fixes the attempt's **seed block** (the randomness
///         source's choice: the block that includes the request) and emits `ChatRequested` with the prompt text.
///         No committee exists yet: its randomness does not exist while the creating transaction runs, so no
///         requester can preview and pick its committee.
///      2. The committee is drawn lazily from the seed block's randomness and the stake tree by the first `draw`,
///         `commitResponse`, `respond`, `declineRequest` or `timeout` of the attempt (`CommitteeDrawn`).
///         `previewCommittee` shows it before that. A seed lost to the 256-block window is renewed (`SeedRenewed`).
///      3. Each member either commits (`commitResponse`, commitment = keccak256(abi.encode(requestId, validator,
///         responseHash, salt)), responseHash = keccak256(bytes(responseText))) or declines (`declineRequest`, with a
///         reason) while block.timestamp ≤ commitDeadline. A committee of one skips commit–reveal: `respond` with
///         the text finalizes in one transaction.
///      4. Once every member committed or declined, or after commitDeadline, committed members reveal
///         (`revealResponse`) while block.timestamp ≤ revealDeadline. The reveal that makes `quorum` agree
///         finalizes the record (`RecordFinalized`) and calls the consumer, if any, whose gas the finalizer is
///         reimbursed from the requester's escrow. Reveals stay open after finalization until revealDeadline: an
///         agreeing late reveal is paid its share, a dissenting one slashed. `quorum` declines end the request as
///         `Declined`: each declining seat earns its share (the others may still decline until commitDeadline),
///         nobody is slashed for the prompt.
///      5. After revealDeadline, `settle` (anyone, once) slashes the members of a Finalized or Declined request that
///         contradicted the outcome or did not take part (`MissedCommit`, `MissedReveal`, `Dissent`) and credits the
///         unearned shares back to the requester.
///      6. `timeout` (anyone) after revealDeadline — or after commitDeadline when fewer than `quorum` members
///         committed and fewer than `quorum` declined — slashes the members at fault, then fixes a new seed block for
///         the next attempt (`CommitteeReassigned`) or, after the request's `maxAttempts`, ends it `TimedOut` and
///         credits its fee and escrow to the requester.
///      Fees, escrows and rewards are pull credits: `withdraw(recipient)`. Every request keeps the parameters it was
///      created under (`getRequestConfig`).
///      Event naming rule: past tense, emitted right after the state change, ids the oracle filters on `indexed`.
interface IChatRecordRegistry is IBatchAnchoring {
    /* TYPES */

    /// @notice Request status. None = no such request.
    /// Requested: commits open. Committed: every member committed or declined, reveals open.
    /// Revealed: at least one reveal, no quorum yet. Finalized: quorum agreed (terminal for the record).
    /// TimedOut: the last attempt timed out, fee credited back to the requester (terminal).
    /// Declined: a quorum declined the request (terminal).
    enum Status {
        None,
        Requested,
        Committed,
        Revealed,
        Finalized,
        TimedOut,
        Declined
    }

    /// @notice Why a committee member was slashed.
    enum SlashReason {
        MissedCommit,
        MissedReveal,
        Dissent
    }

    /// @notice Why a committee member declined a request it cannot serve.
    /// PromptTooLong: the tokenized prompt plus maxNewTokens exceeds the model's context.
    /// InvalidPrompt: the prompt bytes are not valid UTF-8 (or otherwise cannot be decoded).
    /// ModelUnavailable: the member cannot load the model whose hash is registered.
    enum DeclineReason {
        PromptTooLong,
        InvalidPrompt,
        ModelUnavailable
    }

    /// @notice What a model accepts; checked by `requestChat` (prompt bytes, new tokens) and by the nodes (context).
    /// @param maxPromptBytes Longest prompt in bytes (> 0).
    /// @param maxNewTokens   Largest `maxNewTokens` (> 0, < contextLength).
    /// @param contextLength  The model's context in tokens (prompt tokens + new tokens must fit).
    struct ModelLimits {
        uint32 maxPromptBytes;
        uint32 maxNewTokens;
        uint32 contextLength;
    }

    /// @notice A registered model. `modelHash` is the sha256 of the model files (weights + tokenizer + config) as the
    ///         oracle computes it; it and the limits never change for a model id.
    struct Model {
        bytes32 modelHash;
        bool enabled;
        ModelLimits limits;
        string uri;
    }

    /// @notice Owner-set parameters; a request keeps the ones in force when it was created.
    /// @param minimumFee    Least fee in wei per request.
    /// @param slashAmount   Stake taken per fault (token base units, whole STAKE_UNITs of the validator registry).
    /// @param committeeSize Members per committee, 1..MAX_COMMITTEE_SIZE.
    /// @param quorum        Agreeing reveals (or declines) needed; a strict majority of committeeSize.
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
    /// @param seedBlock    The block whose randomness draws the current attempt's committee.
    /// @param committee    The current attempt's committee; empty until drawn.
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
        bool settled;
        uint64 seedBlock;
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
        bool declined;
        bytes32 commitment;
        bytes32 responseHash;
    }

    /// @notice Where a request sits in its conversation, as returned by `threadOfRequest`.
    /// @param parentId           The turn it extends; 0 for a request that starts a thread (any plain request).
    /// @param rootId             The thread's first request (the request itself for a root); its requester owns the
    ///                           thread.
    /// @param previousRecordHash `threadRecordHash` of the parent when this turn was requested (zero for a root): the
    ///                           turns are hash-linked like blocks.
    struct ThreadLink {
        uint256 parentId;
        uint256 rootId;
        bytes32 previousRecordHash;
    }

    /* EVENTS */

    /// @notice The owner registered model `modelId`.
    event ModelRegistered(uint16 indexed modelId, bytes32 modelHash, ModelLimits limits, string uri);
    /// @notice The owner enabled/disabled model `modelId` or changed its uri.
    event ModelUpdated(uint16 indexed modelId, bool enabled, string uri);
    /// @notice The owner changed the parameters; requests from `firstRequestId` on use them.
    event ConfigUpdated(
        uint96 minimumFee,
        uint96 slashAmount,
        uint8 committeeSize,
        uint8 quorum,
        uint8 maxAttempts,
        uint256 firstRequestId
    );
    /// @notice A chat was requested (attempt 1). Carries everything a node needs; the committee follows from
    ///         `seedBlock` (see `previewCommittee`, `CommitteeDrawn`).
    /// @param prompt     The prompt bytes as sent: Solidity does not check UTF-8, nodes must not assume it.
    /// @param promptHash keccak256(prompt).
    event ChatRequested(
        uint256 indexed requestId,
        address indexed requester,
        uint16 indexed modelId,
        bytes prompt,
        bytes32 promptHash,
        uint32 maxNewTokens,
        uint64 seedBlock,
        uint64 commitDeadline,
        uint64 revealDeadline
    );
    /// @notice The committee of `attempt` of `requestId` was drawn from the seed block's randomness.
    event CommitteeDrawn(uint256 indexed requestId, uint8 attempt, address[] committee);
    /// @notice The seed block of `attempt` fell out of the 256-block window before the draw; `seedBlock` replaces it.
    event SeedRenewed(uint256 indexed requestId, uint8 attempt, uint64 seedBlock);
    /// @notice After a timeout the request got a new attempt, drawn from `seedBlock` (prompt: see `ChatRequested`).
    event CommitteeReassigned(
        uint256 indexed requestId, uint8 attempt, uint64 seedBlock, uint64 commitDeadline, uint64 revealDeadline
    );
    /// @notice `requestId` extends the finalized turn `parentId` of the thread started by `rootId`; the parent's
    ///         record hash `previousRecordHash` links it. Emitted with (right after) its `ChatRequested`.
    event ThreadExtended(
        uint256 indexed requestId, uint256 indexed parentId, uint256 indexed rootId, bytes32 previousRecordHash
    );
    /// @notice `validator` committed to a response for `requestId`.
    event ResponseCommitted(uint256 indexed requestId, address indexed validator, bytes32 commitment);
    /// @notice `validator` declined `requestId` for `reason`.
    event ResponseDeclined(uint256 indexed requestId, address indexed validator, DeclineReason reason);
    /// @notice `validator` revealed `responseText` (hash `responseHash`) for `requestId` (or responded directly).
    event ResponseRevealed(
        uint256 indexed requestId, address indexed validator, bytes32 responseHash, string responseText
    );
    /// @notice A quorum agreed on `responseHash`; `agreeing` were paid a share each. The model is named by id: a
    ///         registered id's hash never changes (`getModel`, and `getRecord` returns it with the record).
    event RecordFinalized(uint256 indexed requestId, bytes32 responseHash, uint16 modelId, address[] agreeing);
    /// @notice A quorum declined `requestId`; `decliners` shared the fee.
    event RequestDeclined(uint256 indexed requestId, address[] decliners);
    /// @notice The consumer's `onChatFulfilled` reverted or ran out of its gas cap; the record is final anyway.
    event ConsumerCallbackFailed(uint256 indexed requestId, address indexed consumer);
    /// @notice The finalizer `validator` was reimbursed `amount` wei from the escrow for the consumer's `gasUsed`.
    event CallbackReimbursed(uint256 indexed requestId, address indexed validator, uint256 gasUsed, uint256 amount);
    /// @notice `validator` was slashed `amount` for `reason` on `requestId`.
    event MemberSlashed(uint256 indexed requestId, address indexed validator, SlashReason reason, uint256 amount);
    /// @notice Attempt `attempt` of `requestId` timed out; `exhausted` = no further attempt (status TimedOut).
    event RequestTimedOut(uint256 indexed requestId, uint8 attempt, bool exhausted);
    /// @notice `requestId` was settled after its reveal deadline; `refund` wei of unearned shares and unused escrow
    ///         were credited to its requester.
    event RequestSettled(uint256 indexed requestId, uint256 refund);
    /// @notice `account` was credited `amount` wei (fee share, reimbursement or refund), withdrawable with `withdraw`.
    event Credited(address indexed account, uint256 indexed requestId, uint256 amount);
    /// @notice `account` withdrew `amount` wei of credits to `recipient`.
    event CreditsWithdrawn(address indexed account, address indexed recipient, uint256 amount);

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
    /// @notice The limits of `modelId` are inconsistent (all > 0, maxNewTokens < contextLength).
    error ChatRecordRegistryInvalidModelLimits(
        uint16 modelId, uint32 maxPromptBytes, uint32 maxNewTokens, uint32 contextLength
    );
    /// @notice The parameters are inconsistent (size 1..MAX, strict-majority quorum, attempts ≥ 1).
    error ChatRecordRegistryInvalidConfig(uint8 committeeSize, uint8 quorum, uint8 maxAttempts);
    /// @notice `slashAmount` is not a whole multiple of the validator registry's `unit`.
    error ChatRecordRegistrySlashAmountNotWholeUnits(uint256 slashAmount, uint256 unit);
    /// @notice The fee `fee` (msg.value less the callback escrow `escrow`) is below `minimum`.
    error ChatRecordRegistryFeeTooLow(uint256 fee, uint256 escrow, uint256 minimum);
    /// @notice The fee `fee` is above the storable `maximum` (2^64 - 1 wei).
    error ChatRecordRegistryFeeTooHigh(uint256 fee, uint256 maximum);
    /// @notice The prompt is empty.
    error ChatRecordRegistryEmptyPrompt();
    /// @notice The prompt is `length` bytes; model `modelId` accepts at most `maximum`.
    error ChatRecordRegistryPromptTooLong(uint16 modelId, uint256 length, uint256 maximum);
    /// @notice `maxNewTokens` must be in 1..`maximum` for model `modelId`.
    error ChatRecordRegistryInvalidMaxNewTokens(uint16 modelId, uint32 maxNewTokens, uint32 maximum);
    /// @notice `callbackGasLimit` exceeds `maximum`.
    error ChatRecordRegistryCallbackGasLimitTooHigh(uint32 callbackGasLimit, uint32 maximum);
    /// @notice Callback gas and price were given without a consumer, or a consumer without callback gas.
    error ChatRecordRegistryInvalidCallback(address consumer, uint32 callbackGasLimit, uint64 maxCallbackGasPrice);
    /// @notice Request `requestId` does not exist.
    error ChatRecordRegistryUnknownRequest(uint256 requestId);
    /// @notice Request `requestId` is in `status`, which does not allow this call.
    error ChatRecordRegistryInvalidStatus(uint256 requestId, Status status);
    /// @notice The seed block `seedBlock` of `requestId` is not yet in the past (block `currentBlock`).
    error ChatRecordRegistrySeedNotReady(uint256 requestId, uint64 seedBlock, uint64 currentBlock);
    /// @notice `account` is not on the current committee of `requestId`.
    error ChatRecordRegistryNotCommitteeMember(uint256 requestId, address account);
    /// @notice `respond` is for committees of one; `requestId` has `committeeSize` members.
    error ChatRecordRegistryNotSingleMember(uint256 requestId, uint8 committeeSize);
    /// @notice `validator` already committed or declined for `requestId`.
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
    /// @notice `timeout` or `settle` was called on `requestId` before `deadline`; it is `currentTime`.
    error ChatRecordRegistryTimeoutNotReached(uint256 requestId, uint64 deadline, uint64 currentTime);
    /// @notice `requestId` was settled already.
    error ChatRecordRegistryAlreadySettled(uint256 requestId);
    /// @notice The remaining gas `gasLeft` cannot give the consumer its `callbackGasLimit`; resend with more gas.
    error ChatRecordRegistryInsufficientGasForCallback(uint256 requestId, uint256 gasLeft, uint256 callbackGasLimit);
    /// @notice `account` has nothing to withdraw.
    error ChatRecordRegistryNothingToWithdraw(address account);
    /// @notice Sending `amount` wei to `to` failed.
    error ChatRecordRegistryTransferFailed(address to, uint256 amount);
    /// @notice Only a Finalized record can be extended; parent `parentId` is in `status` (None: no such request).
    error ChatRecordRegistryParentNotFinalized(uint256 parentId, Status status);
    /// @notice `account` neither owns thread `rootId` (requested its first turn) nor was allowed into it
    ///         (`IChatThreads.setThreadMember`).
    error ChatRecordRegistryNotThreadMember(uint256 rootId, address account);

/* MODELS AND CONFIG (owner) */

    /// @notice Registers `modelId` with its immutable `modelHash` and `limits` and a `uri`, enabled.
    function registerModel(uint16 modelId, bytes32 modelHash, ModelLimits calldata limits, string calldata uri)
        external;
    /// @notice Enables/disables `modelId` and sets its uri.
    function updateModel(uint16 modelId, bool enabled, string calldata uri) external;
    /// @notice Sets the parameters for requests created from now on.
    function setConfig(Config calldata config) external;

    /* REQUESTS */

    /// @notice Requests a chat answer to `prompt` from model `modelId`. msg.value = fee + callback escrow, where the
    ///         escrow is `callbackGasLimit × maxCallbackGasPrice` (zero without a consumer).
    /// @param prompt              Any bytes (nodes decline what they cannot decode); ≤ the model's maxPromptBytes.
    /// @param maxNewTokens        Generation length cap for the validators (1..the model's maxNewTokens).
    /// @param consumer            Contract to call with `onChatFulfilled`, or address(0) for none.
    /// @param callbackGasLimit    Gas given to the consumer call (≤ MAX_CALLBACK_GAS_LIMIT; > 0 with a consumer).
    /// @param maxCallbackGasPrice Highest gas price (wei) the finalizer is reimbursed at for the callback.
    /// @return requestId Sequential, starting at 1.
    function requestChat(
        uint16 modelId,
        bytes calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit,
        uint64 maxCallbackGasPrice
    ) external payable returns (uint256 requestId);

    /// @notice Requests the next turn of a conversation: `prompt` (the new user message) answered by the parent's
    ///         model, seeing the whole thread. Nodes render the thread's messages — each earlier turn's prompt as a
    ///         user message and its finalized response as an assistant message, then `prompt` — with the model's chat
    ///         template and generate from that text. As `requestChat` otherwise (fee, limits, callback, events), plus
    ///         `ThreadExtended`.
    /// @param parentId Finalized request to extend; the caller must own its thread or be allowed into it
    ///                 (`IChatThreads.setThreadMember` on `threadsContract()`).
    function requestChatFollowUp(
        uint256 parentId,
        bytes calldata prompt,
        uint32 maxNewTokens,
        address consumer,
        uint32 callbackGasLimit,
        uint64 maxCallbackGasPrice
    ) external payable returns (uint256 requestId);

    /// @notice Draws the current attempt's committee if it is not drawn yet (anyone may call once the seed block is
    ///         past); renews a seed lost to the 256-block window instead.
    function draw(uint256 requestId) external;

    /// @notice Commits the caller's response (see `computeCommitment`).
    function commitResponse(uint256 requestId, bytes32 commitment) external;

    /// @notice Declines the request the caller cannot serve; a quorum of declines ends it as Declined. Members that had
    ///         not acted may still decline a Declined request until the commit deadline (and earn their share).
    function declineRequest(uint256 requestId, DeclineReason reason) external;

    /// @notice Reveals the caller's response; finalizes the record if this reveal completes a quorum, pays an
    ///         agreeing reveal after finalization and slashes a dissenting one.
    function revealResponse(uint256 requestId, string calldata responseText, bytes32 salt) external;

    /// @notice Committee of one: the member's response, finalized in this transaction (no commit–reveal).
    function respond(uint256 requestId, string calldata responseText) external;

    /// @notice Ends an overdue attempt: slashes the members at fault, then reassigns or times the request out.
    function timeout(uint256 requestId) external;

    /// @notice After the reveal deadline of a Finalized or Declined request: slashes the members that did not take
    ///         part or contradicted the outcome, and credits unearned shares and unused escrow to the requester. Once.
    function settle(uint256 requestId) external;

    /// @notice Sends the caller's credits (fee shares, reimbursements, refunds) to `recipient`.
    function withdraw(address recipient) external;

    /* VIEWS */

    /// @notice keccak256(abi.encode(requestId, validator, responseHash, salt)).
    function computeCommitment(uint256 requestId, address validator, bytes32 responseHash, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The current attempt's committee: the stored one once drawn, else the one a draw in this block would
    ///         give (`ready` false while the seed block is not past or its hash is lost).
    function previewCommittee(uint256 requestId) external view returns (address[] memory committee, bool ready);
    /// @notice The record of `requestId` (reverts for an unknown id).
    function getRecord(uint256 requestId) external view returns (Record memory);
    /// @notice Per-member state of the current attempt of `requestId` (empty until drawn).
    function getMembers(uint256 requestId) external view returns (MemberState[] memory);
    /// @notice Where `requestId` sits in its thread; an id never requested reads as a root (`getRecord` reverts).
    function threadOfRequest(uint256 requestId) external view returns (ThreadLink memory);
    /// @notice The thread membership contract this registry deployed (who may extend whose thread).
    function threadsContract() external view returns (address);
    /// @notice The parameters `requestId` was created under.
    function getRequestConfig(uint256 requestId) external view returns (Config memory);
    /// @notice Number of requests so far (the last request id).
    function requestCount() external view returns (uint256);
    /// @notice The model registered under `modelId` (modelHash zero if none).
    function getModel(uint16 modelId) external view returns (Model memory);
    /// @notice The current parameters.
    function getConfig() external view returns (Config memory);
    /// @notice Wei `account` can withdraw (fee shares, reimbursements and refunds).
    function creditOf(address account) external view returns (uint256);
    /// @notice Until when `validator`'s stake must stay in the validator registry: the settlement horizon of its
    ///         latest seat (the validator registry refuses `withdraw` before it).
    function stakeLockedUntil(address validator) external view returns (uint64);
    /// @notice Seconds from assignment to the commit deadline.
    function commitWindow() external view returns (uint64);
    /// @notice Seconds from the commit deadline to the reveal deadline.
    function revealWindow() external view returns (uint64);
    /// @notice The validator registry committees are drawn from and slashed through.
    function validatorRegistry() external view returns (address);
    /// @notice The randomness source seeding committee draws.
    function randomnessSource() external view returns (address);
}
