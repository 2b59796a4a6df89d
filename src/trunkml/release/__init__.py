"""Release: promotion, copies across environments, reviewer evidence, and infra validation."""
