"""Inventory saga participant."""
