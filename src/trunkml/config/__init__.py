"""Configuration: settings from the environment and the project's YAML files."""

from trunkml.config.project import ApprovalRule, DataPolicy, ProjectConfig, load_project, resolve_model, settings_for
from trunkml.config.settings import Environment, Settings, find_project_root

__all__ = [
    "ApprovalRule",
    "DataPolicy",
    "Environment",
    "ProjectConfig",
    "Settings",
    "find_project_root",
    "load_project",
    "resolve_model",
    "settings_for",
]
