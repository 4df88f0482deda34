"""Shipping saga participant."""
