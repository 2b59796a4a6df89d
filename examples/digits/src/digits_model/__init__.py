"""The digits model package."""
