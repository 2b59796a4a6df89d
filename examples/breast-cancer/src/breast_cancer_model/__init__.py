"""The breast-cancer model package."""
