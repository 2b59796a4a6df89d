"""`trunkml status`: before the first version there is no champion, no challenger and no decision."""

from __future__ import annotations

from tests.conftest import Project


def test_status_of_a_new_project(empty: Project) -> None:
    document = empty.cli("status", "--json").json()
    assert (document["model"], document["env"]) == ("m", "dev")
    assert (document["champion"], document["challenger"], document["decision"]) == (None, None, None)
    assert document["events"] == []
    plain = empty.cli("status")
    assert plain.code == 0
    assert "champion   -" in plain.stdout
    assert "no decision for the challenger yet" in plain.stdout
