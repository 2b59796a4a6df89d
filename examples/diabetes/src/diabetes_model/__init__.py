"""The diabetes model package."""
