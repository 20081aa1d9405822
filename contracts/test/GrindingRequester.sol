// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";

/// @notice Attack harness: a requester that previews the committee inside its own transaction and reverts unless
///         its colluders hold a quorum — for new requests and for the reassignments it triggers with `timeout`.
///         Test-only.
contract GrindingRequester {
    /// @notice The committee the attacker could see was not the one it wanted.
    error GrindingRequesterUnfavourable(uint256 seated);

    IChatRecordRegistry public immutable registry;
    mapping(address validator => bool) public isColluder;
    uint256 public previewsSeen;

    constructor(IChatRecordRegistry registry_, address[] memory colluders) {
        registry = registry_;
        for (uint256 i; i < colluders.length; ++i) {
            isColluder[colluders[i]] = true;
        }
    }

    /// @notice Requests only when the committee it can see seats `quorum` colluders.
    function grindRequest(uint16 modelId, bytes calldata prompt, uint8 quorum) external payable returns (uint256 id) {
        id = registry.requestChat{value: msg.value}(modelId, prompt, 16, address(0), 0, 0);
        _requireFavourable(id, quorum);
    }

    /// @notice Times a request out only when the reassigned committee it can see seats `quorum` colluders.
    function grindTimeout(uint256 requestId, uint8 quorum) external {
        registry.timeout(requestId);
        _requireFavourable(requestId, quorum);
    }

    function _requireFavourable(uint256 requestId, uint8 quorum) private {
        (address[] memory committee, bool ready) = registry.previewCommittee(requestId);
        if (!ready) return; // nothing to see: the attacker has to go ahead blind
        ++previewsSeen;
        uint256 seated;
        for (uint256 i; i < committee.length; ++i) {
            if (isColluder[committee[i]]) ++seated;
        }
        if (seated < quorum) revert GrindingRequesterUnfavourable(seated);
    }
}
