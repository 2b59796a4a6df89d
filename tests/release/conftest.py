"""The release tests use the pipelines' promotion project (a weak v1, a strong v2, a regressed v3)."""

from tests.pipelines.conftest import promo  # noqa: F401 - fixture reuse
