// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IBatchAnchoring} from "../interfaces/IBatchAnchoring.sol";

/// @title BatchAnchoring
/// @notice Stores Merkle roots of off-chain chat records and verifies records against them.
/// @dev The inheriting contract decides who may anchor records of which model (`_checkAnchorable`).
abstract contract BatchAnchoring is IBatchAnchoring {
    uint256 private _batchCount;
    mapping(uint256 batchId => Batch) private _batches;

    /// @inheritdoc IBatchAnchoring
    function anchorBatch(bytes32 merkleRoot, uint32 count, uint16 modelId) external returns (uint256 batchId) {
        if (merkleRoot == bytes32(0) || count == 0) revert ChatRecordRegistryEmptyBatch(merkleRoot, count);
        _checkAnchorable(modelId);

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

    /// @inheritdoc IBatchAnchoring
    function verifyRecord(
        uint256 batchId,
        bytes32 promptHash,
        bytes32 responseHash,
        bytes32 modelHash,
        address validator,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 leaf = recordLeaf(promptHash, responseHash, modelHash, validator);
        return MerkleProof.verifyCalldata(proof, _existingMerkleRoot(batchId), leaf);
    }

    /// @inheritdoc IBatchAnchoring
    function recordLeaf(bytes32 promptHash, bytes32 responseHash, bytes32 modelHash, address validator)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(promptHash, responseHash, modelHash, validator))));
    }

    /// @inheritdoc IBatchAnchoring
    function getBatch(uint256 batchId) external view returns (Batch memory batch) {
        _existingMerkleRoot(batchId);
        batch = _batches[batchId];
    }

    /// @inheritdoc IBatchAnchoring
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @dev The root of batch `batchId` (one slot of the two), or a revert for an unknown id.
    function _existingMerkleRoot(uint256 batchId) private view returns (bytes32 merkleRoot) {
        merkleRoot = _batches[batchId].merkleRoot;
        if (merkleRoot == bytes32(0)) revert ChatRecordRegistryUnknownBatch(batchId);
    }

    /// @dev Reverts unless the caller may anchor records of model `modelId`.
    function _checkAnchorable(uint16 modelId) internal view virtual;
}
