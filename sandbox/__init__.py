"""Local, stateful simulators of the external systems, for tests, the demo and users' trials."""
