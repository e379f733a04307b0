// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ICashbackToken} from "./interfaces/ICashbackToken.sol";

/// @title CashbackToken
/// @notice CASH, the programme's ERC-20 (with EIP-2612 permit); minting restricted to MINTER_ROLE.
contract CashbackToken is ICashbackToken, ERC20Permit, AccessControl {
    /// @inheritdoc ICashbackToken
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    constructor(address admin) ERC20("Cashback", "CASH") ERC20Permit("Cashback") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @inheritdoc ICashbackToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
