"""Building the library objects a command needs from the environment."""

from __future__ import annotations

from pydantic import ValidationError

from trunkml.config import Settings
from trunkml.errors import ConfigError


def load_settings() -> Settings:
    """Read :class:`Settings`; a bad environment variable becomes a config error naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"TRUNKML_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad environment setting: {problems}") from exc
