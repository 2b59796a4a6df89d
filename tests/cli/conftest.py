"""A project that names its model but has registered nothing yet: what each command says before anything exists."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Project


@pytest.fixture
def empty(make_project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in ("TRUNKML_ACTOR", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return make_project(project_yaml="name: p\nmodel: m\n")
