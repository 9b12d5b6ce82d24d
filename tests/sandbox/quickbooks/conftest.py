from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.quickbooks import QuickBooksSandbox
from tests.sandbox.quickbooks.support import Company, Session, running


@pytest.fixture
def qbo() -> Iterator[tuple[QuickBooksSandbox, Company, Session]]:
    with running() as world:
        yield world
