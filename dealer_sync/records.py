"""A source record that could not become a canonical model, kept whole for quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Rejected:
    """What a tolerant reader returns instead of raising: the batch goes on, the record is kept."""

    entity: str
    key: str
    payload: dict[str, Any]
    reason: str
    failed_check: str | None = field(default=None)


def describe(error: ValidationError) -> str:
    """A one-line reason from a pydantic error, naming the fields (never the whole input)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(p) for p in item["loc"])
        parts.append(f"{location}: {item['msg']}" if location else item["msg"])
    return "; ".join(parts)
