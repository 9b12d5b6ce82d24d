"""The flow tests' seeded world, reused: `dealer-sync tally write-import` reads the same portal and store."""

from tests.flows.conftest import world_factory  # noqa: F401  (a fixture, found by name)
