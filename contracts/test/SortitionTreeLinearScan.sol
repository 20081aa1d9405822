// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SortitionTreeLinearScan
/// @notice The naive weighted selection the SortitionTree benchmark compares against: an array of
/// (member, weight) entries, one slot each, walked from the start accumulating weights until the running sum
/// exceeds the drawn value. The uniform value comes from the same mask-and-reject rule as SortitionTree.draw, so
/// the benchmark compares only the selection step. Not for deployment.
contract SortitionTreeLinearScan {
    /// @dev One storage slot per entry.
    struct Entry {
        address member;
        uint96 weight;
    }

    /// @notice `draw` was called with no weight in the list.
    error SortitionTreeLinearScanEmpty();

    Entry[] private _entries;
    uint256 private _total;

    /// @notice Appends generated members (same ids, addresses and weights as SortitionTreeHarness.insertGenerated).
    function insertGenerated(uint256 firstId, uint256 count, uint256 maxWeight) external {
        uint256 total = _total;
        for (uint256 id = firstId; id < firstId + count; ++id) {
            address member = address(uint160(uint256(keccak256(abi.encode("member", id)))));
            uint256 weight = 1 + (uint256(keccak256(abi.encode("weight", id))) % maxWeight);
            _entries.push(Entry(member, uint96(weight)));
            total += weight;
        }
        _total = total;
    }

    /// @notice The sum of all weights.
    function totalWeight() external view returns (uint256) {
        return _total;
    }

    /// @notice Draws a member with probability weight / total by a linear walk over the entries.
    function draw(bytes32 seed) public view returns (address member) {
        uint256 total = _total;
        if (total == 0) revert SortitionTreeLinearScanEmpty();
        uint256 mask = total - 1;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        mask |= mask >> 64;
        mask |= mask >> 128;
        uint256 value = uint256(seed) & mask;
        while (value >= total) {
            // Same scratch-space hashing as SortitionTree._rehash.
            assembly ("memory-safe") {
                mstore(0x00, seed)
                seed := keccak256(0x00, 0x20)
            }
            value = uint256(seed) & mask;
        }
        uint256 length = _entries.length;
        for (uint256 i = 0; i < length; ++i) {
            Entry storage entry = _entries[i];
            uint256 weight = entry.weight;
            if (value < weight) return entry.member;
            value -= weight;
        }
    }

    /// @notice Gas of one `draw`, measured with gasleft() around it; run as eth_call so every slot is cold.
    function measureDraw(bytes32 seed) external view returns (uint256 gasUsed, address member) {
        uint256 before = gasleft();
        member = draw(seed);
        gasUsed = before - gasleft();
    }
}
