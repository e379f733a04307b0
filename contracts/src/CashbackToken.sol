// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BudgetVault} from "./BudgetVault.sol";
import {ICashbackToken} from "./interfaces/ICashbackToken.sol";

/// @title CashbackToken
/// @notice CASH, the programme's ERC-20 (with EIP-2612 permit). Deployed by the RewardDistributor,
/// which alone mints it; it creates the distributor's BudgetVault so both addresses are immutable.
contract CashbackToken is ICashbackToken, ERC20Permit {
    address private immutable _DISTRIBUTOR;
    address private immutable _VAULT;

    constructor() ERC20("Cashback", "CASH") ERC20Permit("Cashback") {
        _DISTRIBUTOR = msg.sender;
        _VAULT = address(new BudgetVault(IERC20(address(this)), msg.sender));
    }

    /// @inheritdoc ICashbackToken
    function mint(address to, uint256 amount) external {
        if (msg.sender != _DISTRIBUTOR) revert NotDistributor(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc ICashbackToken
    function distributor() external view returns (address) {
        return _DISTRIBUTOR;
    }

    /// @inheritdoc ICashbackToken
    function vault() external view returns (address) {
        return _VAULT;
    }

    /// @dev Refuses CASH sent to the distributor or vault by anyone but those two: such a transfer
    /// would belong to no budget and no claim. Two immutable comparisons on every transfer.
    function _update(address from, address to, uint256 value) internal override {
        if ((to == _DISTRIBUTOR || to == _VAULT) && msg.sender != _DISTRIBUTOR && msg.sender != _VAULT) {
            revert TransferToProtocol(to);
        }
        super._update(from, to, value);
    }
}
