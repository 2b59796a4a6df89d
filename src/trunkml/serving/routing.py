"""Canary routing: a stable share of traffic, decided by hashing a routing key.

The same key always lands on the same side (a user keeps seeing one model), and
keys spread evenly, so ``percent`` of distinct keys go to the canary.
"""

from __future__ import annotations

import hashlib

BUCKETS = 10_000


def bucket(key: str) -> int:
    """A stable bucket in [0, 10000) for ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def choose_route(key: str, canary_percent: float) -> str:
    """``"canary"`` for ``canary_percent`` % of keys, ``"champion"`` for the rest."""
    return "canary" if bucket(key) < round(canary_percent * BUCKETS / 100) else "champion"
