"""Purchases with their items, and interest events (view, touch, wishlist, cart add, cart abandon)."""
