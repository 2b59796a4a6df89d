"""Importing the project's training function named by ``entrypoint: module:function``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trunkml.errors import ConfigError, UnsafePathError


def code_dir(project_root: Path, relative: str) -> Path:
    """The folder user code is imported from; it must be inside the project."""
    folder = (project_root / relative).resolve()
    if not folder.is_relative_to(project_root.resolve()):
        raise UnsafePathError(f"code_dir '{relative}' is outside the project")
    return folder


def forget_other_copies(package: str, folder: Path) -> None:
    """Drop ``package`` and its modules from ``sys.modules`` when they were imported from another folder.

    One process may train several projects (a test run, the demo) whose packages share a name; each
    job must get its own project's code, not the first one imported.
    """
    loaded = sys.modules.get(package)
    origin = getattr(loaded, "__file__", None)
    if loaded is None or (origin is not None and Path(origin).resolve().is_relative_to(folder)):
        return
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def load_entrypoint(project_root: Path, entrypoint: str, relative_code_dir: str) -> Callable[..., Any]:
    """Import ``module:function`` with the job's ``code_dir`` first on the import path."""
    module_name, _, function_name = entrypoint.partition(":")
    folder = code_dir(project_root, relative_code_dir)
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    forget_other_copies(module_name.partition(".")[0], folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"entrypoint module '{module_name}' does not import: {exc}",
            hint=f"check 'entrypoint' in the job spec and that the module is under {folder}",
        ) from exc
    except Exception as exc:  # a SyntaxError or an error raised while the module runs
        raise ConfigError(
            f"entrypoint module '{module_name}' failed while importing: {type(exc).__name__}: {exc}",
            hint="fix the module; nothing was trained",
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(f"entrypoint '{entrypoint}': module '{module_name}' has no function '{function_name}'")
    return function  # type: ignore[no-any-return]
