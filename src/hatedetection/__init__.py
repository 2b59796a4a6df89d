"""hate-pt-speech: the reference project's hate-speech model (user code, not part of trunkml)."""
