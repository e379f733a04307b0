// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ICampaignRegistry} from "./interfaces/ICampaignRegistry.sol";

/// @title CampaignRegistry
/// @notice Commit-before-start, reveal-after-end records of campaigns and their holdouts.
contract CampaignRegistry is ICampaignRegistry, AccessControlDefaultAdminRules {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint256 private constant _BPS = 10_000;
    uint16 private constant _MAX_HOLDOUT_BPS = 5_000;

    mapping(bytes32 campaignId => Campaign) private _campaigns;

    constructor(uint48 adminDelay, address admin, address operator) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (operator == address(0)) revert ZeroValue();
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @inheritdoc ICampaignRegistry
    function commit(
        bytes32 campaignId,
        address brand,
        bytes32 commitment,
        uint16 holdoutBps,
        uint40 startsAt,
        uint40 endsAt
    ) external {
        if (brand == address(0) || commitment == bytes32(0) || campaignId == bytes32(0)) {
            revert ZeroValue();
        }
        _requireBrandOrOperator(brand);
        if (_campaigns[campaignId].brand != address(0)) revert CampaignExists(campaignId);
        if (startsAt <= block.timestamp) revert TooLateToCommit(campaignId, startsAt, block.timestamp);
        if (endsAt <= startsAt) revert InvalidWindow(startsAt, endsAt);
        if (holdoutBps == 0 || holdoutBps > _MAX_HOLDOUT_BPS) revert InvalidHoldout(holdoutBps);
        Campaign storage c = _campaigns[campaignId];
        c.brand = brand;
        c.holdoutBps = holdoutBps;
        c.startsAt = startsAt;
        c.endsAt = endsAt;
        // forge-lint: disable-next-line(unsafe-typecast)
        c.committedAt = uint40(block.timestamp); // a uint40 of seconds lasts 34,000 years
        c.commitment = commitment;
        emit CampaignCommitted(campaignId, brand, commitment, holdoutBps, startsAt, endsAt);
    }

    /// @inheritdoc ICampaignRegistry
    function reveal(bytes32 campaignId, bytes32 paramsHash, bytes32 salt, bytes32 resultsHash) external {
        Campaign storage c = _campaigns[campaignId];
        address brand = c.brand;
        if (brand == address(0)) revert CampaignNotFound(campaignId);
        _requireBrandOrOperator(brand);
        if (c.revealedAt != 0) revert AlreadyRevealed(campaignId);
        if (block.timestamp < c.endsAt) revert TooEarlyToReveal(campaignId, c.endsAt, block.timestamp);
        bytes32 opened = _commitment(paramsHash, salt);
        if (opened != c.commitment) revert CommitmentMismatch(campaignId, c.commitment, opened);
        // forge-lint: disable-next-line(unsafe-typecast)
        c.revealedAt = uint40(block.timestamp);
        c.paramsHash = paramsHash;
        c.salt = salt;
        c.resultsHash = resultsHash;
        emit CampaignRevealed(campaignId, paramsHash, salt, resultsHash);
    }

    /// @inheritdoc ICampaignRegistry
    function campaignOf(bytes32 campaignId) external view returns (Campaign memory) {
        return _campaigns[campaignId];
    }

    /// @inheritdoc ICampaignRegistry
    function commitmentOf(bytes32 paramsHash, bytes32 salt) external pure returns (bytes32) {
        return _commitment(paramsHash, salt);
    }

    /// @inheritdoc ICampaignRegistry
    function bucketOf(bytes32 salt, address customer) public pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(salt, customer))) % _BPS;
    }

    /// @inheritdoc ICampaignRegistry
    function inHoldout(bytes32 campaignId, address customer) external view returns (bool) {
        Campaign storage c = _campaigns[campaignId];
        if (c.revealedAt == 0) revert CampaignNotFound(campaignId);
        return bucketOf(c.salt, customer) < c.holdoutBps;
    }

    function _commitment(bytes32 paramsHash, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(paramsHash, salt));
    }

    function _requireBrandOrOperator(address brand) private view {
        if (msg.sender != brand && !hasRole(OPERATOR_ROLE, msg.sender)) revert NotBrandOrOperator(msg.sender, brand);
    }
}
