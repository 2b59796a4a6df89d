"""Building the library objects a command needs from the environment."""

from __future__ import annotations

from pydantic import ValidationError

from trunkml.config import Settings, settings_for
from trunkml.errors import ConfigError


def load_settings() -> Settings:
    """Read :class:`Settings` for the current ``TRUNKML_ENV``, with that environment's registry when
    ``trunkml.yaml`` names one (so ct, evaluate, serve and promote all use the same registry); a bad
    environment variable becomes a config error naming it."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"TRUNKML_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad environment setting: {problems}") from exc
    return settings_for(settings, settings.env.value)
