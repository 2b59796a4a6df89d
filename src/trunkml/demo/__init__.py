"""The offline demo: the trunk-based story, its server, its traffic, and its synthetic data."""
