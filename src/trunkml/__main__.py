"""``python -m trunkml``: the same CLI as the ``trunkml`` command."""

from trunkml.cli.main import entrypoint

entrypoint()
