"""The history chain: ordered by the chain, not by clocks, and every edit or removal is found."""

from __future__ import annotations

from tests.conftest import Project
from trunkml.registry import Registry
from trunkml.registry.events import TAG, Event, append, chain, history, legacy_events, verify_chain


def three_events(registry: Registry) -> list[Event]:
    return [
        append(registry, "m", Event(kind="approve", actor="bruno", to_version=1)),
        append(registry, "m", Event(kind="promote", actor="ci", to_version=1, alias="champion", decision="d1")),
        append(registry, "m", Event(kind="promote", actor="ci", from_version=1, to_version=2, alias="champion")),
    ]


def test_each_event_links_to_the_one_before(project: Project) -> None:
    registry = Registry(project.settings())
    written = three_events(registry)
    assert [e.seq for e in written] == [1, 2, 3]
    assert [e.prev for e in written] == ["", written[0].hash, written[1].hash]
    assert verify_chain(chain(registry, "m")) == []
    # a writer with a clock an hour behind: the chain, not the clock, orders the history
    registry.client.set_tag(written[2].id, f"{TAG}at", "2000-01-01T00:00:00+00:00")
    assert [e.seq for e in history(registry, "m")] == [1, 2, 3]


def test_an_edited_a_missing_and_an_unchained_event_are_found(project: Project) -> None:
    registry = Registry(project.settings())
    written = three_events(registry)
    registry.client.set_tag(written[1].id, f"{TAG}to_version", "2")  # someone rewrites who was promoted
    problems = verify_chain(chain(registry, "m"))
    assert len(problems) == 1
    assert "event #2 (promote vNone→v2" in problems[0]
    assert "was edited" in problems[0]
    registry.client.set_tag(written[1].id, f"{TAG}to_version", "1")
    registry.client.delete_run(written[1].id)  # an event removed
    problems = verify_chain(chain(registry, "m"))
    assert problems == [f"events #2–#2 are missing before event #3 (promote v1→v2, {written[2].at[:19]})"]
    registry.client.restore_run(written[1].id)
    experiment = registry.client.get_experiment_by_name("trunkml/history/m")
    assert experiment is not None
    legacy = {f"{TAG}kind": "promote", f"{TAG}to_version": "9"}  # as trunkml wrote events before the chain
    registry.client.create_run(experiment.experiment_id, tags=legacy)
    events = chain(registry, "m")
    assert (events[0].to_version, legacy_events(events), verify_chain(events)) == (
        9,
        1,
        [],
    )  # an upgrade breaks nothing
    registry.client.create_run(experiment.experiment_id, tags={**legacy, f"{TAG}seq": "000000000004"})
    assert any("is not chained (no hash): written outside trunkml" in p for p in verify_chain(chain(registry, "m")))
