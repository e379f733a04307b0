// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Debits
/// @notice Test helper packing RewardDistributor.publishEpoch's `debits`, as the Python backend's
/// `pack_debit` does: the brand in the high 160 bits, the amount in the low 96.
library Debits {
    uint256 internal constant AMOUNT_BITS = 96;
    uint256 internal constant MAX_AMOUNT = (1 << AMOUNT_BITS) - 1;

    /// @notice The amount does not fit in the debit's low 96 bits.
    error AmountTooLarge(uint256 amount);
    /// @notice Brands and amounts differ in length.
    error LengthMismatch(uint256 brands, uint256 amounts);

    /// @notice One debit of `amount` from `brand`'s budget.
    function pack(address brand, uint256 amount) internal pure returns (uint256) {
        // Refused rather than truncated, so a test never publishes a debit it did not mean.
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount);
        return uint256(uint160(brand)) << AMOUNT_BITS | amount;
    }

    /// @notice The debits of `amounts[i]` from `brands[i]`, in order.
    function pack(address[] memory brands, uint256[] memory amounts) internal pure returns (uint256[] memory debits) {
        if (brands.length != amounts.length) revert LengthMismatch(brands.length, amounts.length);
        debits = new uint256[](brands.length);
        for (uint256 i; i < brands.length; ++i) {
            debits[i] = pack(brands[i], amounts[i]);
        }
    }
}
