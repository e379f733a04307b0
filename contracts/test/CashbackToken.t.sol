// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {CashbackToken} from "../src/CashbackToken.sol";

/// Unit tests of CashbackToken: metadata, role-gated minting and EIP-2612 permit.
contract CashbackTokenTest is Test {
    // EIP-2612 as OpenZeppelin's ERC20Permit signs it (name "Cashback", version "1").
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    CashbackToken private token;
    address private admin = makeAddr("admin");
    address private minter = makeAddr("minter");
    address private stranger = makeAddr("stranger");
    address private customer = makeAddr("customer");
    address private spender = makeAddr("spender");
    address private owner;
    uint256 private ownerKey;

    function setUp() public {
        (owner, ownerKey) = makeAddrAndKey("owner");
        token = new CashbackToken(admin);
    }

    // ----------------------------------------------------------------------------------------
    // Metadata and roles
    // ----------------------------------------------------------------------------------------

    function test_name_IsCashback() public view {
        assertEq(token.name(), "Cashback");
    }

    function test_symbol_IsCash() public view {
        assertEq(token.symbol(), "CASH");
    }

    function test_decimals_Is18() public view {
        assertEq(token.decimals(), 18);
    }

    function test_totalSupply_StartsAtZero() public view {
        assertEq(token.totalSupply(), 0);
    }

    function test_MINTER_ROLE_IsHashOfName() public view {
        assertEq(token.MINTER_ROLE(), keccak256("MINTER_ROLE"));
    }

    function test_constructor_GrantsAdminAndMinterRoles() public view {
        assertTrue(token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(token.hasRole(token.MINTER_ROLE(), admin));
        assertFalse(token.hasRole(token.MINTER_ROLE(), stranger));
    }

    function test_supportsInterface_AccessControl() public view {
        assertTrue(token.supportsInterface(type(IAccessControl).interfaceId));
    }

    // ----------------------------------------------------------------------------------------
    // mint
    // ----------------------------------------------------------------------------------------

    function test_mint_CreditsRecipientAndSupply() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(address(0), customer, 100e18);
        vm.prank(admin);
        token.mint(customer, 100e18);

        assertEq(token.balanceOf(customer), 100e18);
        assertEq(token.totalSupply(), 100e18);
    }

    function test_mint_ByGrantedMinter() public {
        bytes32 role = token.MINTER_ROLE();
        vm.prank(admin);
        token.grantRole(role, minter);

        vm.prank(minter);
        token.mint(customer, 7);

        assertEq(token.balanceOf(customer), 7);
    }

    function testFuzz_mint_AddsUpAcrossMints(uint256 first, uint256 second) public {
        first = bound(first, 0, type(uint128).max);
        second = bound(second, 0, type(uint128).max);
        vm.startPrank(admin);
        token.mint(customer, first);
        token.mint(customer, second);
        vm.stopPrank();

        assertEq(token.balanceOf(customer), first + second);
        assertEq(token.totalSupply(), first + second);
    }

    function test_RevertWhen_MinterRoleMissing() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, token.MINTER_ROLE()
            )
        );
        vm.prank(stranger);
        token.mint(stranger, 1);
    }

    function test_RevertWhen_MinterRoleRevoked() public {
        bytes32 role = token.MINTER_ROLE();
        vm.startPrank(admin);
        token.grantRole(role, minter);
        token.revokeRole(role, minter);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, minter, role));
        vm.prank(minter);
        token.mint(customer, 1);
    }

    function test_RevertWhen_GrantRoleByNonAdmin() public {
        bytes32 role = token.MINTER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, token.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        token.grantRole(role, stranger);
    }

    function test_RevertWhen_MintToZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(admin);
        token.mint(address(0), 1);
    }

    // ----------------------------------------------------------------------------------------
    // permit (EIP-2612)
    // ----------------------------------------------------------------------------------------

    function test_DOMAIN_SEPARATOR_MatchesEip712Domain() public view {
        bytes32 expected = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Cashback"), keccak256("1"), block.chainid, address(token))
        );
        assertEq(token.DOMAIN_SEPARATOR(), expected);
    }

    function test_nonces_StartAtZero() public view {
        assertEq(token.nonces(owner), 0);
    }

    function test_permit_SetsAllowanceAndBumpsNonce() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, spender, 50e18, 0, deadline);

        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Approval(owner, spender, 50e18);
        // Anyone may submit the signature.
        vm.prank(stranger);
        token.permit(owner, spender, 50e18, deadline, v, r, s);

        assertEq(token.allowance(owner, spender), 50e18);
        assertEq(token.nonces(owner), 1);
    }

    function test_permit_LetsSpenderTransferFrom() public {
        vm.prank(admin);
        token.mint(owner, 10e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, spender, 4e18, 0, deadline);
        token.permit(owner, spender, 4e18, deadline, v, r, s);

        vm.prank(spender);
        token.transferFrom(owner, customer, 4e18);

        assertEq(token.balanceOf(customer), 4e18);
        assertEq(token.balanceOf(owner), 6e18);
        assertEq(token.allowance(owner, spender), 0);
    }

    function test_RevertWhen_PermitExpired() public {
        vm.warp(1_000_000);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, spender, 1, 0, deadline);

        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, spender, 1, deadline, v, r, s);
    }

    function test_RevertWhen_PermitSignedByAnotherKey() public {
        (address other, uint256 otherKey) = makeAddrAndKey("other");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(otherKey, owner, spender, 1, 0, deadline);

        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, other, owner));
        token.permit(owner, spender, 1, deadline, v, r, s);
    }

    function test_RevertWhen_PermitReplayed() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, spender, 1, 0, deadline);
        token.permit(owner, spender, 1, deadline, v, r, s);

        // The nonce moved on, so the same signature now recovers to some other address.
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        token.permit(owner, spender, 1, deadline, v, r, s);
    }

    function test_RevertWhen_PermitValueTampered() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, spender, 1, 0, deadline);

        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        token.permit(owner, spender, 2, deadline, v, r, s);
    }

    function _signPermit(uint256 key, address holder, address to, uint256 value, uint256 nonce, uint256 deadline)
        private
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, holder, to, value, nonce, deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key, digest);
    }
}
