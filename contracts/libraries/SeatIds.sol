// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Validator ids of committee seats 1..7 in one word (seat 0's id lives in the request header).
type PackedSeatIds is uint256;

using SeatIds for PackedSeatIds global;

/// @title SeatIds
/// @notice Packs the 24-bit validator ids of seats 1..7 of a committee into one storage word, 32 bits apart: seat
///         s ≥ 1 sits at bits 32(s-1) .. 32(s-1)+23. Seat 0 has no place (its id is kept elsewhere); a seat past 8
///         does not fit.
library SeatIds {
    /// @dev `packed` with `id` written into the empty place of `seat` (1..7); an occupied place would be OR-ed.
    function withId(PackedSeatIds packed, uint256 seat, uint24 id) internal pure returns (PackedSeatIds) {
        return PackedSeatIds.wrap(PackedSeatIds.unwrap(packed) | uint256(id) << _shift(seat));
    }

    /// @dev The id at `seat` (1..7); zero for a seat never written.
    function idAt(PackedSeatIds packed, uint256 seat) internal pure returns (uint24) {
        return uint24(PackedSeatIds.unwrap(packed) >> _shift(seat));
    }

    function _shift(uint256 seat) private pure returns (uint256) {
        return 32 * (seat - 1);
    }
}
