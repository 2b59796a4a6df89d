"""``trunkml ct``: model-CT on the committed job, one version per (commit, job, data)."""

from __future__ import annotations

from trunkml.cli.train import JobArg, JsonOpt, execute


def ct_command(job: JobArg, json_: JsonOpt = False) -> None:
    """Model-CT: verify → validate → train → register; one version per (commit, job, data)."""
    from trunkml.training.trainer import TrainRequest

    execute(TrainRequest(job=job, ct=True), json_)
