"""The promotion lease: decided by the registry's database, broken only when its holder stops beating."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import Project
from trunkml.errors import UnavailableError
from trunkml.registry import Registry
from trunkml.registry import lease as leases
from trunkml.registry.lease import acquire, promotion_lease


def test_one_holder_at_a_time_and_the_next_takes_over_on_release(project: Project) -> None:
    registry = Registry(project.settings())
    order: list[str] = []
    with promotion_lease(registry, "m") as first:
        assert first.generation == 1

        def second() -> None:
            with promotion_lease(Registry(project.settings()), "m") as taken:
                order.append(f"second took generation {taken.generation}")

        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(1.0)
        order.append("first releases")
    waiter.join(30)
    assert order == ["first releases", "second took generation 2"]
    with pytest.raises(UnavailableError, match="has held its lease"), promotion_lease(registry, "m"):
        acquire(Registry(project.settings()), "m", wait_s=0.5)
    assert acquire(registry, "other-model").generation == 1  # one lease per model


def test_a_dead_holder_is_replaced_after_its_heartbeats_stop(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leases, "TTL_S", 1.5)
    registry = Registry(project.settings())
    dead = acquire(registry, "m")
    dead._stop.set()  # the holder "dies": no more heartbeats, never released
    started = time.monotonic()
    taken = acquire(Registry(project.settings()), "m", wait_s=30)
    assert taken.generation == 2
    assert time.monotonic() - started >= 1.5  # waited one TTL, on its own clock
    with pytest.raises(UnavailableError, match="lost the promotion lease of m"):
        dead.ensure()  # the fencing token: the old holder can no longer write
    taken.ensure()
    taken.release()
