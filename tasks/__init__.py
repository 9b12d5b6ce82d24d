"""Prefect tasks: thin steps that call connectors and the store (extract, map, validate, load, notify)."""
