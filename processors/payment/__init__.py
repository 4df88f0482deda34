"""Payment saga participant."""
