"""Each Xero connector test gets its own organisation on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.xero.support import World, world_on_loopback


@pytest.fixture
def world() -> Iterator[World]:
    with world_on_loopback() as served:
        yield served
