"""hate-pt-speech: the reference project's model entrypoint (user code, not part of trunkml's wheel)."""
