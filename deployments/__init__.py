"""Deployment helpers; schedules and work pools live in prefect.yaml at the repository root."""
