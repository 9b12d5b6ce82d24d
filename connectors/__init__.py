"""Connectors: one sub-package per external system; wire format in, canonical models out."""
