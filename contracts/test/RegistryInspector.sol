// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IChatRecordRegistry} from "../interfaces/IChatRecordRegistry.sol";
import {IValidatorRegistry} from "../interfaces/IValidatorRegistry.sol";

/// @notice Test helper: reads many values in one eth_call so invariant tests can check every step cheaply.
contract RegistryInspector {
    struct Totals {
        uint256 sumStakes;
        uint256 sumUnbonding;
        uint256 totalWeight;
        uint256 totalStake;
        uint256 totalUnbonding;
        uint256 slashedBalance;
        uint256 tokenBalance;
        uint256 sumCredits;
        uint256 chatBalance;
    }

    /// @notice What the invariant test needs of a request to say how much of its value the registry still holds.
    /// @param paidSeats Finalized: revealed seats whose response is the record's (each earned a share); else 0.
    struct RequestState {
        IChatRecordRegistry.Status status;
        bool settled;
        uint256 fee;
        uint256 committeeSize;
        uint256 paidSeats;
    }

    /// @param validators Whose stakes and unbonding are summed.
    /// @param accounts   Whose chat credits are summed (every account that can hold one).
    function totals(
        IValidatorRegistry registry,
        IChatRecordRegistry chat,
        address[] calldata validators,
        address[] calldata accounts
    ) external view returns (Totals memory t) {
        for (uint256 i; i < validators.length; ++i) {
            IValidatorRegistry.ValidatorInfo memory info = registry.validatorInfo(validators[i]);
            t.sumStakes += info.stake;
            t.sumUnbonding += info.unbonding;
        }
        for (uint256 i; i < accounts.length; ++i) {
            t.sumCredits += chat.creditOf(accounts[i]);
        }
        t.totalWeight = registry.totalWeight();
        t.totalStake = registry.totalStake();
        t.totalUnbonding = registry.totalUnbonding();
        t.slashedBalance = registry.slashedBalance();
        t.tokenBalance = IERC20(registry.token()).balanceOf(address(registry));
        t.chatBalance = address(chat).balance;
    }

    function requestStates(IChatRecordRegistry chat, uint256[] calldata requestIds)
        external
        view
        returns (RequestState[] memory states)
    {
        states = new RequestState[](requestIds.length);
        for (uint256 i; i < requestIds.length; ++i) {
            IChatRecordRegistry.Record memory record = chat.getRecord(requestIds[i]);
            RequestState memory state = states[i];
            state.status = record.status;
            state.settled = record.settled;
            state.fee = record.fee;
            state.committeeSize = chat.getRequestConfig(requestIds[i]).committeeSize;
            if (record.status != IChatRecordRegistry.Status.Finalized) continue;
            IChatRecordRegistry.MemberState[] memory members = chat.getMembers(requestIds[i]);
            for (uint256 seat; seat < members.length; ++seat) {
                if (members[seat].revealed && members[seat].responseHash == record.responseHash) ++state.paidSeats;
            }
        }
    }

    /// @notice Digest of the records, with `settled` left out (it changes once, at settlement, after finalization).
    function recordsDigest(IChatRecordRegistry chat, uint256[] calldata requestIds) external view returns (bytes32 digest) {
        for (uint256 i; i < requestIds.length; ++i) {
            IChatRecordRegistry.Record memory record = chat.getRecord(requestIds[i]);
            record.settled = false;
            digest = keccak256(abi.encode(digest, record));
        }
    }
}
