// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SortitionTree} from "../libraries/SortitionTree.sol";

/// @title SortitionTreeHarness
/// @notice Exposes the SortitionTree library for tests and gas benchmarks. Not for deployment.
contract SortitionTreeHarness {
    using SortitionTree for SortitionTree.Tree;

    SortitionTree.Tree private _tree;

    /// @notice Sets one member's weight (insert, update or remove).
    function set(address member, uint256 weight) external {
        _tree.set(member, weight);
    }

    /// @notice Applies many `set` calls in order (for building test trees quickly).
    function setMany(address[] calldata members, uint256[] calldata weights) external {
        for (uint256 i = 0; i < members.length; ++i) {
            _tree.set(members[i], weights[i]);
        }
    }

    /// @notice Inserts `count` generated members (ids firstId.., see `generatedMember`) with weights in
    /// [1, maxWeight] through the library's `set`; lets benchmarks build 100,000-member trees with small calldata.
    function insertGenerated(uint256 firstId, uint256 count, uint256 maxWeight) external {
        for (uint256 id = firstId; id < firstId + count; ++id) {
            _tree.set(generatedMember(id), generatedWeight(id, maxWeight));
        }
    }

    /// @notice The member address `insertGenerated` uses for `id`.
    function generatedMember(uint256 id) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("member", id)))));
    }

    /// @notice The weight `insertGenerated` uses for `id`: in [1, maxWeight].
    function generatedWeight(uint256 id, uint256 maxWeight) public pure returns (uint256) {
        return 1 + (uint256(keccak256(abi.encode("weight", id))) % maxWeight);
    }

    /// @notice See SortitionTree.weightOf.
    function weightOf(address member) external view returns (uint256) {
        return _tree.weightOf(member);
    }

    /// @notice See SortitionTree.totalWeight.
    function totalWeight() external view returns (uint256) {
        return _tree.totalWeight();
    }

    /// @notice See SortitionTree.memberCount.
    function memberCount() external view returns (uint256) {
        return _tree.memberCount();
    }

    /// @notice See SortitionTree.pick.
    function pick(uint256 value) external view returns (address) {
        return _tree.pick(value);
    }

    /// @notice `pick` for each value; for cross-checks against the TypeScript port.
    function pickMany(uint256[] calldata values) external view returns (address[] memory members) {
        members = new address[](values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            members[i] = _tree.pick(values[i]);
        }
    }

    /// @notice See SortitionTree.draw.
    function draw(bytes32 seed) external view returns (address member, bytes32 nextSeed) {
        return _tree.draw(seed);
    }

    /// @notice See SortitionTree.drawDistinct.
    function drawDistinct(bytes32 seed, uint256 k) external view returns (address[] memory) {
        return _tree.drawDistinct(seed, k);
    }

    /// @notice `count` chained draws (each uses the previous draw's next seed); for statistical tests.
    function drawMany(bytes32 seed, uint256 count) external view returns (address[] memory members) {
        members = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            (members[i], seed) = _tree.draw(seed);
        }
    }

    /// @notice `count` committees of size k, seeds chained by keccak256; for statistical tests.
    function drawDistinctMany(bytes32 seed, uint256 k, uint256 count) external view returns (address[] memory flat) {
        flat = new address[](count * k);
        for (uint256 i = 0; i < count; ++i) {
            address[] memory committee = _tree.drawDistinct(seed, k);
            for (uint256 j = 0; j < k; ++j) flat[i * k + j] = committee[j];
            seed = keccak256(abi.encode(seed));
        }
    }

    /// @notice Gas of one library draw, measured with gasleft() around the call. Run it as eth_call (staticCall)
    /// so it executes as a fresh transaction: every storage slot the draw reads is cold, as in a real request.
    function measureDraw(bytes32 seed) external view returns (uint256 gasUsed, address member) {
        uint256 before = gasleft();
        (member,) = _tree.draw(seed);
        gasUsed = before - gasleft();
    }

    /// @notice Gas of one library `drawDistinct(seed, k)`, measured like `measureDraw`.
    function measureDrawDistinct(bytes32 seed, uint256 k) external view returns (uint256 gasUsed) {
        uint256 before = gasleft();
        _tree.drawDistinct(seed, k);
        gasUsed = before - gasleft();
    }

    /// @notice Gas of one library `set`, measured like `measureDraw` (run it as eth_call: state is not kept).
    function measureSet(address member, uint256 weight) external returns (uint256 gasUsed) {
        uint256 before = gasleft();
        _tree.set(member, weight);
        gasUsed = before - gasleft();
    }
}
