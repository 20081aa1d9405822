// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Attack harness: an ERC-20 that calls `target` with `payload` on every transfer (like an ERC-777 hook) and
///         bubbles up any revert. Test-only.
contract ReentrantToken is ERC20 {
    address public reentryTarget;
    bytes public payload;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        reentryTarget = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address hookTarget = reentryTarget;
        if (hookTarget == address(0)) return;
        reentryTarget = address(0); // one shot
        (bool ok, bytes memory reason) = hookTarget.call(payload);
        if (!ok) {
            assembly {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }
}
