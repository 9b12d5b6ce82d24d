from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.quickbooks.support import World, world


@pytest.fixture(name="world")
def world_fixture() -> Iterator[World]:
    with world() as running:
        yield running
