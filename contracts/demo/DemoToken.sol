// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoToken
/// @notice A freely mintable staking token for local networks only; the deploy script never deploys it elsewhere.
contract DemoToken is ERC20 {
    constructor() ERC20("Chat Oracle Demo Stake", "CODS") {}

    /// @notice Mints `amount` to `to`. Anyone may mint: this token has no value and exists for local demos and tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
