"""Optional dependencies of model families: a clear error with the install command when one is missing."""

from __future__ import annotations

import importlib

from trunkml.errors import ConfigError

CPU_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def require_extra(extra: str, modules: tuple[str, ...], purpose: str) -> None:
    """Import each of ``modules``; if any is missing, raise ConfigError naming them and ``trunkml[extra]``.

    Training code calls this before it imports an optional library, so that selecting a
    model family without its extra fails before any work with the command that fixes it.
    """
    missing = [name for name in modules if not _importable(name, purpose)]
    if not missing:
        return
    hint = f"install the extra: pip install 'trunkml[{extra}]'"
    if "torch" in missing:
        hint += f" (on a machine without a GPU, first `{CPU_TORCH}` to avoid the CUDA packages)"
    raise ConfigError(
        f"{purpose} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed", hint=hint
    )


def _importable(module: str, purpose: str) -> bool:
    """False when ``module`` is not installed; a ConfigError when it is installed but broken."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    except Exception as exc:  # e.g. a CUDA build of torch without its libraries: OSError libcudnn...
        raise ConfigError(
            f"{purpose}: {module} is installed but fails to import: {type(exc).__name__}: {exc}",
            hint=f"reinstall {module} (for a CPU-only machine: {CPU_TORCH})",
        ) from exc
    return True
