// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IBatchAnchoring
/// @notice Merkle roots of off-chain chat records, anchored by active validators, and proofs of a record against them.
/// @dev Part of the ChatRecordRegistry ABI: its errors keep the `ChatRecordRegistry` prefix.
interface IBatchAnchoring {
    /// @notice An anchored batch of off-chain chat records.
    struct Batch {
        bytes32 merkleRoot;
        address validator;
        uint16 modelId;
        uint32 count;
        uint64 anchoredAt;
    }

    /// @notice `validator` anchored `count` off-chain records of model `modelId` under `merkleRoot`.
    event BatchAnchored(
        uint256 indexed batchId, address indexed validator, uint16 indexed modelId, bytes32 merkleRoot, uint32 count
    );

    /// @notice `account` is not an active (minimum-staked) validator.
    error ChatRecordRegistryNotActiveValidator(address account);
    /// @notice A batch needs a non-zero root and a positive count (`merkleRoot`, `count` given).
    error ChatRecordRegistryEmptyBatch(bytes32 merkleRoot, uint32 count);
    /// @notice Batch `batchId` does not exist.
    error ChatRecordRegistryUnknownBatch(uint256 batchId);

    /// @notice Anchors `count` off-chain records of `modelId` under `merkleRoot`; caller must be an active validator.
    /// @return batchId Sequential, starting at 1.
    function anchorBatch(bytes32 merkleRoot, uint32 count, uint16 modelId) external returns (uint256 batchId);

    /// @notice Whether the record (`promptHash`, `responseHash`, `modelHash`, `validator`) is in batch `batchId`
    ///         according to `proof` (OpenZeppelin MerkleProof, sorted pairs, as produced by the StandardMerkleTree of
    ///         the openzeppelin merkle-tree package). The leaf is computed here, so an inner node never verifies.
    function verifyRecord(
        uint256 batchId,
        bytes32 promptHash,
        bytes32 responseHash,
        bytes32 modelHash,
        address validator,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The leaf of an off-chain record: keccak256(bytes.concat(keccak256(abi.encode(promptHash, responseHash,
    ///         modelHash, validator)))) — the StandardMerkleTree leaf of types [bytes32,bytes32,bytes32,address].
    function recordLeaf(bytes32 promptHash, bytes32 responseHash, bytes32 modelHash, address validator)
        external
        pure
        returns (bytes32);

    /// @notice Batch `batchId` (reverts for an unknown id).
    function getBatch(uint256 batchId) external view returns (Batch memory);

    /// @notice Number of anchored batches (the last batch id).
    function batchCount() external view returns (uint256);
}
