// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev Minimal hostile ERC-20s (Solady/OZ style test doubles). Each overrides one behaviour.
abstract contract MiniToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function _move(address from, address to, uint256 amount) internal virtual {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }

    function _spend(address from, uint256 amount) internal {
        require(allowance[from][msg.sender] >= amount, "allowance");
        allowance[from][msg.sender] -= amount;
    }
}

/// @dev Transfers that return true; the tokens below change only how `_move` delivers.
abstract contract StandardToken is MiniToken {
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }
}

/// @dev USDT-style: transfer and transferFrom return nothing.
contract NoReturnToken is MiniToken {
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external {
        _spend(from, amount);
        _move(from, to, amount);
    }
}

/// @dev Returns false instead of reverting, and moves nothing.
contract ReturnsFalseToken is MiniToken {
    function transfer(address, uint256) external pure returns (bool) {
        return false;
    }

    function transferFrom(address, address, uint256) external pure returns (bool) {
        return false;
    }
}

/// @dev Burns 1% of every transfer.
contract FeeOnTransferToken is StandardToken {
    function _move(address from, address to, uint256 amount) internal override {
        uint256 fee = amount / 100;
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount - fee;
        totalSupply -= fee;
    }
}

/// @dev Delivers one unit more than asked (a rebasing or bonus token).
contract BonusOnTransferToken is StandardToken {
    function _move(address from, address to, uint256 amount) internal override {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount + 1;
        totalSupply += 1;
    }
}

/// @dev A standard token that can be told to revert transfers to one address (a USDC-style blocklist).
contract BlocklistToken is MiniToken {
    mapping(address => bool) public blocked;

    function setBlocked(address who, bool isBlocked) external {
        blocked[who] = isBlocked;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        require(!blocked[to], "blocked");
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        require(!blocked[to], "blocked");
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }
}

/// @dev Calls back into a target with prepared calldata on every transfer, then transfers.
contract ReentrantToken is MiniToken {
    address public target;
    bytes public payload;
    bool public reentrySucceeded;
    bytes public reentryError;

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _reenter();
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _reenter();
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }

    function _reenter() private {
        if (target == address(0)) return;
        address t = target;
        target = address(0); // once
        (bool ok, bytes memory err) = t.call(payload);
        reentrySucceeded = ok;
        reentryError = err;
    }
}

/// @dev Transfers at no fee until the issuer switches a fee on (audit L-1): deposits arrive whole,
///      later transfers deliver `amount - fee`.
contract FeeSwitchToken is StandardToken {
    uint256 public feeBps;

    function setFeeBps(uint256 feeBps_) external {
        feeBps = feeBps_;
    }

    function _move(address from, address to, uint256 amount) internal override {
        uint256 fee = amount * feeBps / 10_000;
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount - fee;
        totalSupply -= fee;
    }
}

/// @dev ERC-777 style (audit L-2): a transfer calls the recipient's `tokensReceived` hook with all
///      the gas there is, and bubbles up its failure.
contract HookedToken is MiniToken {
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        if (to.code.length != 0) ITokensRecipient(to).tokensReceived(msg.sender, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }
}

interface ITokensRecipient {
    function tokensReceived(address from, uint256 amount) external;
}
