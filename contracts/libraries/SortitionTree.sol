// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SortitionTree
/// @notice A weighted sum tree for stake-weighted sampling: O(log n) insert, update, remove and draw, with draws
/// that return member i with probability weight_i / totalWeight exactly.
/// @dev Layout (see docs/sortition.md):
/// - Every internal node is ONE storage slot that packs the 32-bit PREFIX sums of its children: field j (bits
///   [32j, 32j + 32)) holds the sum of children 0..j. Descending a level therefore costs one SLOAD, the child is
///   found by a 3-step binary search over the packed prefixes, and a weight change of child j is a single
///   `node +/- delta * step` on the word, where step has a 1 in fields j..7 (those fields all move by delta; no
///   field can carry or borrow, see the comments in `_addAlongPath` and `_subtractAlongPath`).
/// - Ordinary nodes have 8 children. The root has 7 children (fields 0..6) and keeps the tree's depth in its top
///   32 bits, so a draw learns the depth and the total weight from the same SLOAD it needs anyway.
/// - A tree of depth d has ordinary nodes at heights 1..d (height 1 packs leaf weights) and the root at height
///   d + 1; it holds 7 * 8^d leaves. The tree grows one level (depth + 1) when every leaf is taken, by moving the
///   root's sums into ordinary node (d + 1, 0) and starting a new root whose child 0 is that node. Nodes below keep
///   their keys, so growth costs two SSTOREs. Depth 3 holds 3,584 leaves, depth 4 28,672, depth 5 229,376.
/// - A leaf slot holds the member's address (or, once freed, the next free position). A member's record holds its
///   weight and leaf position, so a weight update never touches the leaf. Freed positions are reused (LIFO) before
///   the tree grows.
/// Weight limits imposed by the 32-bit packing: every prefix field is at most the tree's total, so the TOTAL weight
/// of the tree (and hence any single member's weight) is at most MAX_TOTAL_WEIGHT = 2^32 - 1 weight units.
/// Callers convert stake to weight units (e.g. whole multiples of a stake unit) before calling `set`.
library SortitionTree {
    /* ERRORS */

    /// @notice `set` was called for the zero address, which the leaves reserve for "no member".
    error SortitionTreeZeroAddressMember();
    /// @notice A single weight does not fit the 32-bit packed sums.
    error SortitionTreeWeightOverflow(address member, uint256 weight, uint256 max);
    /// @notice The tree's total weight after the change would not fit the 32-bit packed sums.
    error SortitionTreeTotalWeightOverflow(address member, uint256 newTotal, uint256 max);
    /// @notice `pick` was given a value outside [0, totalWeight).
    error SortitionTreeValueOutOfRange(uint256 value, uint256 total);
    /// @notice `draw` was called on a tree whose total weight is 0.
    error SortitionTreeEmpty();
    /// @notice `drawDistinct` was asked for more distinct members than the tree holds.
    error SortitionTreeCommitteeTooLarge(uint256 k, uint256 members);

    /* CONSTANTS */

    /// @notice The largest total weight (and hence the largest single weight) the tree accepts.
    uint256 internal constant MAX_TOTAL_WEIGHT = type(uint32).max;

    /// @dev Width and mask of one packed prefix-sum field.
    uint256 private constant FIELD_BITS = 32;
    uint256 private constant FIELD_MASK = 0xffffffff;
    /// @dev Children of an ordinary node (log2 = 3) and of the root.
    uint256 private constant FANOUT_BITS = 3;
    uint256 private constant ROOT_FANOUT = 7;
    /// @dev A 1 in each of the 8 fields / in fields 0..6 (the root's sums; its field 7 is the depth).
    uint256 private constant ONES_8 = 0x0000000100000001000000010000000100000001000000010000000100000001;
    uint256 private constant ONES_7 = 0x0000000000000001000000010000000100000001000000010000000100000001;
    /// @dev Where the root keeps the depth, and the mask of its 7 prefix-sum fields.
    uint256 private constant DEPTH_SHIFT = 224;
    uint256 private constant ROOT_SUMS_MASK = (1 << 224) - 1;
    /// @dev The root's field 6 (bits 192..223) is the sum of all its children: the tree's total weight.
    uint256 private constant TOTAL_SHIFT = 192;
    /// @dev A node's key is (height << 32) | index; indices are leaf positions shifted right, all below 2^32.
    uint256 private constant HEIGHT_KEY_SHIFT = 32;
    /// @dev A freed leaf keeps the next free position (plus one) above the 160 address bits.
    uint256 private constant FREE_LINK_SHIFT = 160;
    /// @dev A member record is (position << 32) | weight; weight 0 means "not a member".
    uint256 private constant POSITION_SHIFT = 32;

    /* STORAGE */

    /// @notice The tree; lives in the caller's storage. Fields are private to the library by convention.
    struct Tree {
        /// @dev 7 packed prefix sums (fields 0..6) and the depth (bits 224..255).
        uint256 root;
        /// @dev Members with weight > 0.
        uint32 activeMembers;
        /// @dev Leaf positions ever used (the high-water mark); positions below it are taken or on the free list.
        uint32 leafCount;
        /// @dev Most recently freed position plus one; 0 when no position is free.
        uint32 freeHead;
        /// @dev Ordinary nodes by (height << 32) | index, each 8 packed 32-bit prefix sums.
        mapping(uint256 nodeKey => uint256 prefixSums) nodes;
        /// @dev Leaf position => member address, or (next free position + 1) << 160 once freed.
        mapping(uint256 position => uint256 leaf) leaves;
        /// @dev Member => (leaf position << 32) | weight.
        mapping(address member => uint256 record) records;
    }

    /* UPDATES */

    /// @notice Sets `member`'s weight: inserts when new (weight > 0), updates, or removes when weight == 0.
    /// @dev Setting weight 0 for a non-member is a no-op. Reverts when the member is the zero address, when the
    /// weight exceeds MAX_TOTAL_WEIGHT, or when the new total would.
    function set(Tree storage tree, address member, uint256 weight) internal {
        if (member == address(0)) revert SortitionTreeZeroAddressMember();
        if (weight > MAX_TOTAL_WEIGHT) revert SortitionTreeWeightOverflow(member, weight, MAX_TOTAL_WEIGHT);
        uint256 record = tree.records[member];
        uint256 oldWeight = record & FIELD_MASK;
        if (oldWeight == weight) return;
        uint256 root = tree.root;
        if (weight > oldWeight) {
            uint256 newTotal = ((root >> TOTAL_SHIFT) & FIELD_MASK) + (weight - oldWeight);
            if (newTotal > MAX_TOTAL_WEIGHT) {
                revert SortitionTreeTotalWeightOverflow(member, newTotal, MAX_TOTAL_WEIGHT);
            }
        }
        if (oldWeight == 0) {
            _insert(tree, root, member, weight);
        } else if (weight == 0) {
            _remove(tree, root, member, record);
        } else {
            uint256 position = record >> POSITION_SHIFT;
            tree.records[member] = (position << POSITION_SHIFT) | weight;
            tree.root = weight > oldWeight
                ? _addAlongPath(tree, root, position, weight - oldWeight)
                : _subtractAlongPath(tree, root, position, oldWeight - weight);
        }
    }

    /* READS */

    /// @notice The weight of `member` (0 for non-members).
    function weightOf(Tree storage tree, address member) internal view returns (uint256) {
        return tree.records[member] & FIELD_MASK;
    }

    /// @notice The sum of all weights (the root).
    function totalWeight(Tree storage tree) internal view returns (uint256) {
        return (tree.root >> TOTAL_SHIFT) & FIELD_MASK;
    }

    /// @notice The number of members with weight > 0.
    function memberCount(Tree storage tree) internal view returns (uint256) {
        return tree.activeMembers;
    }

    /// @notice Returns the member whose cumulative-weight interval contains `value`; reverts if value >= totalWeight.
    /// @dev Intervals follow leaf positions: the member at the lowest position owns [0, w), the next [w, w + w'), ...
    function pick(Tree storage tree, uint256 value) internal view returns (address member) {
        uint256 root = tree.root;
        uint256 total = (root >> TOTAL_SHIFT) & FIELD_MASK;
        if (value >= total) revert SortitionTreeValueOutOfRange(value, total);
        (uint256 position,,) = _descend(tree, root, value);
        member = address(uint160(tree.leaves[position]));
    }

    /// @notice Uniform, bias-free draw from a seed: returns member i with probability weight_i / total exactly,
    /// plus the seed to use for the next draw.
    /// @dev The candidate value is the seed's low bits under the smallest all-ones mask covering total - 1; a
    /// candidate >= total is rejected and the seed rehashed (keccak256), so every value in [0, total) is equally
    /// likely (no modulo bias); fewer than 2 candidates are needed on average. nextSeed = keccak256(accepted seed).
    function draw(Tree storage tree, bytes32 seed) internal view returns (address member, bytes32 nextSeed) {
        uint256 root = tree.root;
        uint256 total = (root >> TOTAL_SHIFT) & FIELD_MASK;
        if (total == 0) revert SortitionTreeEmpty();
        uint256 value;
        (value, nextSeed) = _uniform(seed, total);
        (uint256 position,,) = _descend(tree, root, value);
        member = address(uint160(tree.leaves[position]));
    }

    /// @notice k DISTINCT members by sequential sampling without replacement: each next member is drawn with
    /// probability proportional to its weight among the members not yet chosen. Reverts if k > memberCount.
    /// @dev Draw i takes a uniform value in [0, total - chosen weight) (as in `draw`, chaining the seeds) and maps
    /// it onto the full tree by skipping the chosen members' intervals in ascending order. drawDistinct(seed, 1)
    /// returns draw(seed)'s member. Costs O(k (log n + k)).
    function drawDistinct(Tree storage tree, bytes32 seed, uint256 k)
        internal
        view
        returns (address[] memory committee)
    {
        uint256 members = tree.activeMembers;
        if (k > members) revert SortitionTreeCommitteeTooLarge(k, members);
        committee = new address[](k);
        // Intervals [starts[t], starts[t] + weights[t]) of the chosen members, sorted by start.
        uint256[] memory starts = new uint256[](k);
        uint256[] memory weights = new uint256[](k);
        uint256 root = tree.root;
        uint256 remaining = (root >> TOTAL_SHIFT) & FIELD_MASK;
        for (uint256 i = 0; i < k; ++i) {
            uint256 value;
            // remaining > 0: fewer than memberCount members are chosen and every member weighs at least 1.
            (value, seed) = _uniform(seed, remaining);
            value = _skipChosen(value, starts, weights, i);
            (uint256 position, uint256 start, uint256 weight) = _descend(tree, root, value);
            committee[i] = address(uint160(tree.leaves[position]));
            _insertSorted(starts, weights, i, start, weight);
            // weight <= remaining: the picked member was not chosen before, so its weight is still counted in it.
            unchecked {
                remaining -= weight;
            }
        }
    }

    /* PRIVATE: UPDATES */

    /// @dev Gives `member` a leaf (a freed one first, growing the tree when all are taken) and adds its weight.
    function _insert(Tree storage tree, uint256 root, address member, uint256 weight) private {
        uint256 position;
        uint256 freeHead = tree.freeHead;
        if (freeHead != 0) {
            // freeHead >= 1 here, so freeHead - 1 cannot underflow.
            unchecked {
                position = freeHead - 1;
            }
            tree.freeHead = uint32(tree.leaves[position] >> FREE_LINK_SHIFT);
        } else {
            position = tree.leafCount;
            // position < 2^32 - 1: every taken leaf holds a member of weight >= 1 and the total is below 2^32.
            tree.leafCount = uint32(position + 1);
            uint256 depth = root >> DEPTH_SHIFT;
            if (position == ROOT_FANOUT << (FANOUT_BITS * depth)) root = _grow(tree, root, depth);
        }
        tree.leaves[position] = uint160(member);
        tree.records[member] = (position << POSITION_SHIFT) | weight;
        // activeMembers < 2^32 - 1 for the same reason as leafCount.
        tree.activeMembers += 1;
        tree.root = _addAlongPath(tree, root, position, weight);
    }

    /// @dev Subtracts the member's weight, frees its leaf (pushing it on the free list) and forgets the member.
    function _remove(Tree storage tree, uint256 root, address member, uint256 record) private {
        uint256 position = record >> POSITION_SHIFT;
        tree.root = _subtractAlongPath(tree, root, position, record & FIELD_MASK);
        tree.leaves[position] = uint256(tree.freeHead) << FREE_LINK_SHIFT;
        // position < leafCount < 2^32 - 1, so position + 1 fits 32 bits.
        tree.freeHead = uint32(position + 1);
        delete tree.records[member];
        tree.activeMembers -= 1;
    }

    /// @dev Adds one level on top: the root's 7 sums move into ordinary node (depth + 1, 0) (its 8th child is
    /// empty, so field 7 repeats the total) and the new root's child 0 is that node.
    function _grow(Tree storage tree, uint256 root, uint256 depth) private returns (uint256 newRoot) {
        uint256 sums = root & ROOT_SUMS_MASK;
        uint256 total = sums >> TOTAL_SHIFT;
        uint256 newDepth = depth + 1;
        tree.nodes[newDepth << HEIGHT_KEY_SHIFT] = sums | (total << DEPTH_SHIFT);
        // total < 2^32, so total * ONES_7 puts total in fields 0..6 without carries.
        newRoot = (total * ONES_7) | (newDepth << DEPTH_SHIFT);
    }

    /// @dev Adds `delta` to every prefix field at or after the path's child in each node from height 1 up to the
    /// root, and returns the new root (the caller stores it).
    function _addAlongPath(Tree storage tree, uint256 root, uint256 position, uint256 delta)
        private
        returns (uint256)
    {
        uint256 depth = root >> DEPTH_SHIFT;
        // No field carries: after the change every prefix field is at most the new total, checked <= 2^32 - 1 by
        // `set`; delta < 2^32 and the step masks have a 1 per field, so delta * step cannot overflow either.
        unchecked {
            for (uint256 height = 1; height <= depth; ++height) {
                uint256 key = (height << HEIGHT_KEY_SHIFT) | (position >> (FANOUT_BITS * height));
                uint256 child = (position >> (FANOUT_BITS * (height - 1))) & 7;
                tree.nodes[key] += delta * ((ONES_8 >> (FIELD_BITS * child)) << (FIELD_BITS * child));
            }
            uint256 rootChild = position >> (FANOUT_BITS * depth);
            return root + delta * ((ONES_7 >> (FIELD_BITS * rootChild)) << (FIELD_BITS * rootChild));
        }
    }

    /// @dev Subtracts `delta` along the path like `_addAlongPath`; returns the new root.
    function _subtractAlongPath(Tree storage tree, uint256 root, uint256 position, uint256 delta)
        private
        returns (uint256)
    {
        uint256 depth = root >> DEPTH_SHIFT;
        // No field borrows: each touched field is a prefix sum that includes this leaf's old weight, which is at
        // least delta; delta < 2^32 so delta * step cannot overflow.
        unchecked {
            for (uint256 height = 1; height <= depth; ++height) {
                uint256 key = (height << HEIGHT_KEY_SHIFT) | (position >> (FANOUT_BITS * height));
                uint256 child = (position >> (FANOUT_BITS * (height - 1))) & 7;
                tree.nodes[key] -= delta * ((ONES_8 >> (FIELD_BITS * child)) << (FIELD_BITS * child));
            }
            uint256 rootChild = position >> (FANOUT_BITS * depth);
            return root - delta * ((ONES_7 >> (FIELD_BITS * rootChild)) << (FIELD_BITS * rootChild));
        }
    }

    /* PRIVATE: SAMPLING */

    /// @dev Walks from the root to the leaf whose interval contains `value` (< total). Returns the leaf position,
    /// the start of its interval and its weight.
    /// In each node the child is the first one whose prefix sum exceeds the remainder, found by a 3-step binary
    /// search over the packed fields (fields 3, then 1 or 5, then 0, 2, 4 or 6; field 7 is never read, which lets the
    /// root keep its depth there: the remainder is below the node's total, so the answer is at most the last
    /// non-empty child). The remainder then drops by the prefix before that child.
    /// Assembly because this loop is the whole cost of a draw besides its SLOADs (Solidity spends ~500 gas a level
    /// on it, this ~150): one scratch-space keccak for the mapping slot, one SLOAD, shifts and compares.
    function _descend(Tree storage tree, uint256 root, uint256 value)
        private
        view
        returns (uint256 position, uint256 start, uint256 weight)
    {
        mapping(uint256 nodeKey => uint256 prefixSums) storage nodes = tree.nodes;
        // Cannot overflow or underflow: remainder >= below because every field before the chosen child is
        // <= remainder; upTo > below because the chosen child's prefix exceeds remainder >= below; position stays
        // below 2^32 (a leaf position) so shl(3, position) and the key fit easily; when child == 0,
        // shl(5, child - 1) wraps to a shift >= 256, which makes `below` 0 as intended.
        assembly ("memory-safe") {
            mstore(0x20, nodes.slot)
            let node := root
            let remainder := value
            let below := 0
            let upTo := 0
            // Heights run from the root (depth + 1, in bits 224..255 of root) down to 1.
            for { let height := add(shr(224, root), 1) } 1 {} {
                let child := 0
                if iszero(gt(and(shr(96, node), 0xffffffff), remainder)) { child := 4 }
                if iszero(gt(and(shr(shl(5, add(child, 1)), node), 0xffffffff), remainder)) { child := add(child, 2) }
                if iszero(gt(and(shr(shl(5, child), node), 0xffffffff), remainder)) { child := add(child, 1) }
                upTo := and(shr(shl(5, child), node), 0xffffffff)
                below := and(shr(shl(5, sub(child, 1)), node), 0xffffffff)
                remainder := sub(remainder, below)
                position := or(shl(3, position), child)
                height := sub(height, 1)
                if iszero(height) { break }
                // nodes[(height << 32) | position]: the mapping slot is keccak256(key . nodes.slot).
                mstore(0x00, or(shl(32, height), position))
                node := sload(keccak256(0x00, 0x40))
            }
            weight := sub(upTo, below)
            start := sub(value, remainder)
        }
    }

    /// @dev A uniform value in [0, bound) from `seed` by masking and rejection, and the next seed.
    function _uniform(bytes32 seed, uint256 bound) private pure returns (uint256 value, bytes32 nextSeed) {
        uint256 mask = bound - 1;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        value = uint256(seed) & mask;
        while (value >= bound) {
            seed = _rehash(seed);
            value = uint256(seed) & mask;
        }
        nextSeed = _rehash(seed);
    }

    /// @dev keccak256 of the 32 seed bytes, hashed in scratch space so that long draw loops do not grow memory.
    function _rehash(bytes32 seed) private pure returns (bytes32 hashed) {
        assembly ("memory-safe") {
            mstore(0x00, seed)
            hashed := keccak256(0x00, 0x20)
        }
    }

    /// @dev Maps a value among the unchosen weight onto the full tree: skips the chosen intervals (sorted by start)
    /// that begin at or before it.
    function _skipChosen(uint256 value, uint256[] memory starts, uint256[] memory weights, uint256 chosen)
        private
        pure
        returns (uint256)
    {
        for (uint256 t = 0; t < chosen; ++t) {
            if (value < starts[t]) break;
            // value + weights[t] < total < 2^32: value counts unchosen weight, weights[t] chosen weight.
            unchecked {
                value += weights[t];
            }
        }
        return value;
    }

    /// @dev Inserts the interval (start, weight) into the first `count` sorted entries.
    function _insertSorted(
        uint256[] memory starts,
        uint256[] memory weights,
        uint256 count,
        uint256 start,
        uint256 weight
    ) private pure {
        uint256 t = count;
        while (t != 0 && starts[t - 1] > start) {
            // t >= 1 inside the loop, so t - 1 cannot underflow.
            unchecked {
                starts[t] = starts[t - 1];
                weights[t] = weights[t - 1];
                --t;
            }
        }
        starts[t] = start;
        weights[t] = weight;
    }
}
