"""The project file ``trunkml.yaml``: what a team declares once for the repository."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from trunkml.config.settings import PROJECT_FILE
from trunkml.config.yamlfile import load_model


class DataPolicy(BaseModel):
    """Project-wide rules for data use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_eval_overlap: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Largest allowed share of evaluation rows whose normalised text also occurs in training.",
    )


class ProjectConfig(BaseModel):
    """The parsed ``trunkml.yaml``; unknown fields are refused so typos surface at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    data: DataPolicy = DataPolicy()


def load_project(root: Path) -> ProjectConfig:
    """Read ``<root>/trunkml.yaml``; a project without one gets the defaults and its folder name."""
    path = root / PROJECT_FILE
    if not path.is_file():
        return ProjectConfig(name=root.name or "project")
    return load_model(path, ProjectConfig)
