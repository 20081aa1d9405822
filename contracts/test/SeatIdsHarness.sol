// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PackedSeatIds} from "../libraries/SeatIds.sol";

/// @notice Test helper: exposes the SeatIds library's internal functions.
contract SeatIdsHarness {
    /// @notice Packs `ids` as seats 1..ids.length.
    function pack(uint24[] calldata ids) external pure returns (uint256) {
        PackedSeatIds packed;
        for (uint256 i; i < ids.length; ++i) {
            packed = packed.withId(i + 1, ids[i]);
        }
        return PackedSeatIds.unwrap(packed);
    }

    function idAt(uint256 packed, uint256 seat) external pure returns (uint24) {
        return PackedSeatIds.wrap(packed).idAt(seat);
    }
}
