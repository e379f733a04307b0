// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICampaignRegistry
/// @notice Commitments to brands' campaigns, made before a campaign starts and opened after it
/// ends, so nobody can re-draw a holdout after seeing the results. The commitment is
/// keccak256(abi.encode(paramsHash, salt)); a customer is in the holdout when
/// uint256(keccak256(abi.encodePacked(salt, customer))) % 10_000 < holdoutBps, which anyone can
/// recompute once the salt is revealed. Personal data never comes here: hashes, times, shares only.
interface ICampaignRegistry {
    /// @notice One campaign's on-chain record.
    struct Campaign {
        address brand;
        uint16 holdoutBps;
        uint40 startsAt;
        uint40 endsAt;
        uint40 committedAt;
        uint40 revealedAt;
        bytes32 commitment;
        bytes32 paramsHash;
        bytes32 salt;
        bytes32 resultsHash;
    }

    /// @notice A campaign id was committed before.
    error CampaignExists(bytes32 campaignId);
    /// @notice No commitment under this id.
    error CampaignNotFound(bytes32 campaignId);
    /// @notice Commitments must land before the start: `startsAt` is not after `nowTime`.
    error TooLateToCommit(bytes32 campaignId, uint40 startsAt, uint256 nowTime);
    /// @notice The end is not after the start.
    error InvalidWindow(uint40 startsAt, uint40 endsAt);
    /// @notice The holdout share is outside (0, 5,000] basis points.
    error InvalidHoldout(uint16 holdoutBps);
    /// @notice A reveal before the campaign's end.
    error TooEarlyToReveal(bytes32 campaignId, uint40 endsAt, uint256 nowTime);
    /// @notice The revealed parameters and salt do not hash to the commitment.
    error CommitmentMismatch(bytes32 campaignId, bytes32 commitment, bytes32 opened);
    /// @notice The campaign was revealed already.
    error AlreadyRevealed(bytes32 campaignId);
    /// @notice Only the campaign's brand or the operator may commit or reveal for it.
    error NotBrandOrOperator(address caller, address brand);
    /// @notice A zero address or hash where one is needed.
    error ZeroValue();

    /// @notice A campaign's parameters and salt were committed before its start.
    event CampaignCommitted(
        bytes32 indexed campaignId,
        address indexed brand,
        bytes32 commitment,
        uint16 holdoutBps,
        uint40 startsAt,
        uint40 endsAt
    );
    /// @notice A campaign was opened: its parameters' hash, its salt and the hash of its results.
    event CampaignRevealed(bytes32 indexed campaignId, bytes32 paramsHash, bytes32 salt, bytes32 resultsHash);

    /// @notice Commits a campaign before it starts. Brand itself or OPERATOR_ROLE.
    function commit(
        bytes32 campaignId,
        address brand,
        bytes32 commitment,
        uint16 holdoutBps,
        uint40 startsAt,
        uint40 endsAt
    ) external;

    /// @notice Opens a campaign after its end: the salt and parameters must hash to the
    /// commitment; `resultsHash` fixes the results the brand was shown. Brand or OPERATOR_ROLE.
    function reveal(bytes32 campaignId, bytes32 paramsHash, bytes32 salt, bytes32 resultsHash) external;

    /// @notice The record of a campaign (zero brand when unknown).
    function campaignOf(bytes32 campaignId) external view returns (Campaign memory);

    /// @notice The commitment for given parameters and salt: keccak256(abi.encode(paramsHash, salt)).
    function commitmentOf(bytes32 paramsHash, bytes32 salt) external pure returns (bytes32);

    /// @notice A customer's bucket in [0, 10,000) under a salt; holdout when below holdoutBps.
    function bucketOf(bytes32 salt, address customer) external pure returns (uint256);

    /// @notice Whether a customer is in a revealed campaign's holdout.
    function inHoldout(bytes32 campaignId, address customer) external view returns (bool);
}
