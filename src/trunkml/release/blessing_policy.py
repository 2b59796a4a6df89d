"""When an infra validation (a blessing) still applies to a version: same files, same endpoint budget, passed.

Promotion asks :func:`blessing_problem`; model-cd asks :func:`current_blessing` before validating again.
The blessing itself is stored with the version (see ``registry.blessing``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from trunkml.config import Settings, load_project
from trunkml.errors import UsageError
from trunkml.registry.blessing import InfraSummary, blessing_of
from trunkml.registry.modelversion import ModelVersionRecord
from trunkml.serving.spec import EndpointSpec, InfraBudget, default_endpoint_path, load_endpoint


def budget_digest(budget: InfraBudget) -> str:
    """sha256 of the budget a blessing was made under (a changed budget needs a new validation)."""
    return hashlib.sha256(json.dumps(budget.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def endpoint_for(settings: Settings, name: str, path: Path | None = None) -> EndpointSpec:
    """The endpoint spec that serves ``name``: ``path``, else the project's default one, else the defaults."""
    target = path or settings.endpoint_path
    if target is None:
        default = settings.project_root / "endpoints" / name / "endpoint.yaml"
        if not default.is_file() and load_project(settings.project_root).model == name:
            default = default_endpoint_path(settings)
        if not default.is_file():
            return EndpointSpec(model=name)
        target = default
    spec = load_endpoint(settings, target)
    if spec.model != name:
        raise UsageError(f"the endpoint spec {target} serves '{spec.model}', not '{name}'")
    return spec


def _unusable(found: InfraSummary | None, record: ModelVersionRecord, spec: EndpointSpec) -> str | None:
    """Why ``found`` does not bless ``record`` under ``spec``'s budget (None: it does)."""
    command = f"run `trunkml infra-validate {record.version}`"
    if found is None:
        return f"infra validation: {record.ref} has none; {command}"
    if found.model_digest != record.model_digest:
        return f"infra validation: it was made on other files than {record.ref}'s; {command}"
    if found.budget_digest != budget_digest(spec.infra_validation):
        return f"infra validation: the endpoint's budget changed since it ran; {command}"
    if not found.passed:
        return f"infra validation FAILED ({'; '.join(found.reasons[:3])}); fix the model, train a new version"
    return None


def current_blessing(record: ModelVersionRecord, spec: EndpointSpec) -> InfraSummary | None:
    """The version's passing blessing if it still applies: same files, same budget."""
    found = blessing_of(record)
    return found if _unusable(found, record, spec) is None else None


def blessing_problem(settings: Settings, record: ModelVersionRecord) -> str | None:
    """Why ``record`` may not be promoted for want of infra validation (None: it may)."""
    if not load_project(settings.project_root).gate.infra_validation and settings.env.value != "prod":
        return None
    return _unusable(blessing_of(record), record, endpoint_for(settings, record.name))
