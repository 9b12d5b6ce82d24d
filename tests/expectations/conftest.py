"""GX is imported and its context built once per test session, not once per test."""

from __future__ import annotations

import pytest

from expectations.runner import warm_up
from expectations.suites import ALL_SUITES


@pytest.fixture(scope="session")
def gx_ready() -> None:
    """Pay the GX import (3-5 s) once, and fail early if a shipped suite cannot be built."""
    warm_up(*ALL_SUITES)
