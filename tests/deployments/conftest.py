"""The flow tests' seeded world, reused: deployments run the same flows against the same simulators."""

from tests.flows.conftest import world_factory  # noqa: F401  (a fixture, found by name)
