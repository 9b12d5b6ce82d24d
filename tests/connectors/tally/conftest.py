"""A seeded Tally simulator on loopback and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.tally.client import TallyClient
from sandbox.tally import TallySimulator
from tests.connectors.tally.support import client_for, seeded_simulator


@pytest.fixture
def sim() -> TallySimulator:
    return seeded_simulator(seed=11)


@pytest.fixture
def url(sim: TallySimulator) -> Iterator[str]:
    with sim.serve() as base_url:
        yield base_url


@pytest.fixture
def client(url: str) -> Iterator[TallyClient]:
    with client_for(url) as tally:
        yield tally
