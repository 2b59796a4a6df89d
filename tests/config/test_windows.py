"""Windows and durations as people write them."""

from __future__ import annotations

import pytest

from trunkml.config.windows import Window, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("1.5d", 129600), ("2w", 1209600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert Window.parse(text).seconds == seconds


@pytest.mark.parametrize("text", ["1000", "1000 requests", " 5 request "])
def test_request_windows(text: str) -> None:
    window = Window.parse(text)
    assert window.kind == "requests"
    assert window.requests == int(text.split()[0])


@pytest.mark.parametrize("text", ["", "0", "0s", "-1h", "1y", "an hour", "1h30m", "99999999999"])
def test_nonsense_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"window|number of requests"):
        Window.parse(text)
