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
        uint256 sumRewards;
        uint256 openFees;
        uint256 chatBalance;
    }

    function totals(
        IValidatorRegistry registry,
        IChatRecordRegistry chat,
        address[] calldata validators,
        uint256[] calldata openRequests
    ) external view returns (Totals memory t) {
        for (uint256 i; i < validators.length; ++i) {
            IValidatorRegistry.ValidatorInfo memory info = registry.validatorInfo(validators[i]);
            t.sumStakes += info.stake;
            t.sumUnbonding += info.unbonding;
            t.sumRewards += chat.creditOf(validators[i]);
        }
        for (uint256 i; i < openRequests.length; ++i) {
            IChatRecordRegistry.Record memory record = chat.getRecord(openRequests[i]);
            // Fees of open requests are still held; distributed ones became credits.
            if (
                record.status == IChatRecordRegistry.Status.Requested
                    || record.status == IChatRecordRegistry.Status.Committed
                    || record.status == IChatRecordRegistry.Status.Revealed
            ) {
                t.openFees += record.fee;
            }
        }
        t.totalWeight = registry.totalWeight();
        t.totalStake = registry.totalStake();
        t.totalUnbonding = registry.totalUnbonding();
        t.slashedBalance = registry.slashedBalance();
        t.tokenBalance = IERC20(registry.token()).balanceOf(address(registry));
        t.chatBalance = address(chat).balance;
    }

    function recordsDigest(IChatRecordRegistry chat, uint256[] calldata requestIds) external view returns (bytes32 digest) {
        for (uint256 i; i < requestIds.length; ++i) {
            digest = keccak256(abi.encode(digest, chat.getRecord(requestIds[i])));
        }
    }

    function statuses(IChatRecordRegistry chat, uint256[] calldata requestIds)
        external
        view
        returns (IChatRecordRegistry.Status[] memory result)
    {
        result = new IChatRecordRegistry.Status[](requestIds.length);
        for (uint256 i; i < requestIds.length; ++i) {
            result[i] = chat.getRecord(requestIds[i]).status;
        }
    }

    /// @notice Everything the invariant test checks after a step, in one call.
    function check(
        IValidatorRegistry registry,
        IChatRecordRegistry chat,
        address[] calldata validators,
        uint256[] calldata openRequests,
        uint256[] calldata finalizedRequests
    ) external view returns (Totals memory t, IChatRecordRegistry.Status[] memory openStatuses, bytes32 finalizedDigest) {
        t = this.totals(registry, chat, validators, openRequests);
        openStatuses = this.statuses(chat, openRequests);
        finalizedDigest = this.recordsDigest(chat, finalizedRequests);
    }
}
