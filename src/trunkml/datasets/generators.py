"""Generated sources: a pointer whose ``uri`` names a generator (``SCHEME:...``) rather than a file.

The bytes are regenerated on demand from the URI alone and verified against the pointer's sha256
like any other source. Generators are plugins, found through the ``trunkml.generators``
entry-point group (``SCHEME = "package.module:function"``, a function of the URI returning bytes),
so the datasets layer never imports the code that generates: trunkml's own synthetic demo data
(``synth:``) is registered this way by :mod:`trunkml.demo.synthdata`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from trunkml.errors import UsageError

GROUP = "trunkml.generators"
Generator = Callable[[str], bytes]


@cache
def _installed() -> dict[str, EntryPoint]:
    """Scheme → the installed generator's entry point (read once per process)."""
    return {point.name: point for point in entry_points(group=GROUP)}


def generator_schemes() -> frozenset[str]:
    """The URI schemes some installed generator answers for."""
    return frozenset(_installed())


def generate(uri: str) -> bytes:
    """The bytes of a generated dataset, made by the generator its scheme names."""
    scheme = uri.partition(":")[0].lower()
    point = _installed().get(scheme)
    if point is None:
        raise UsageError(
            f"no generator for '{scheme}:' uris is installed",
            hint=f"install the package that provides it (entry point group '{GROUP}')",
        )
    make: Generator = point.load()
    return make(uri)
