"""Durations and monitoring windows as people write them: ``90s``, ``15m``, ``1h``, ``7d``, ``1000``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
REQUESTS = re.compile(r"^\s*(\d+)\s*(?:requests?)?\s*$")
MAX_REQUESTS = 10_000_000


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (a number and one of s, m, h, d, w); ValueError says what is allowed."""
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"'{text}' is not a duration; write a positive number and a unit, e.g. 90s, 15m, 1h, 7d, 2w")
    return float(match.group(1)) * UNITS[match.group(2)]


class Window(BaseModel):
    """Which traffic a monitor run looks at: the last N requests, or the requests of the last T seconds."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["requests", "time"]
    requests: int | None = None
    seconds: float | None = None
    text: str

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"1000"``/``"1000 requests"`` (the last 1000 requests) or a duration such as ``"1h"``."""
        requests = REQUESTS.match(text)
        if requests:
            count = int(requests.group(1))
            if not 1 <= count <= MAX_REQUESTS:
                raise ValueError(f"window '{text}': the number of requests must be 1 to {MAX_REQUESTS}")
            return cls(kind="requests", requests=count, text=f"last {count} requests")
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise ValueError(
                f"'{text}' is not a window; write a number of requests (1000) or a duration (1h, 7d)"
            ) from None
        return cls(kind="time", seconds=seconds, text=f"last {text.strip()}")
