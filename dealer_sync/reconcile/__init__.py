"""Nightly reconciliation core: snapshot frames in, classified findings with remedies out."""

from dealer_sync.reconcile.categories import CATEGORIES, Category, CategoryInfo, Severity
from dealer_sync.reconcile.classify import FINDING_SCHEMA, Findings, classify
from dealer_sync.reconcile.snapshot import Snapshots, SnapshotSchemaError, validate_schemas

__all__ = [
    "CATEGORIES",
    "FINDING_SCHEMA",
    "Category",
    "CategoryInfo",
    "Findings",
    "Severity",
    "SnapshotSchemaError",
    "Snapshots",
    "classify",
    "validate_schemas",
]
