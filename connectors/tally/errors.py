"""Tally's error table: HTTP failures, import counts and LINEERROR texts mapped onto our error kinds.

Tally answers 200 even when it refuses an object; the refusal is in the body (apis.md 4.1, 4.3):
``ERRORS`` > 0 with one ``LINEERROR`` per failed object, next to ``CREATED`` / ``ALTERED`` counts,
flat in ``RESPONSE`` (legacy requests) or in ``BODY/DATA`` (version-1 requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import parse_retry_after
from connectors.tally.xml import XmlElement, text_of


class TallyError(ConnectorError):
    """Any failure talking to Tally."""


class TallyCompanyError(TallyError):
    """The company is not open in Tally (it answers nothing at all): configuration, fail the run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=ErrorKind.AUTH)


# A LINEERROR saying the object exists: a voucher number used by another voucher without our
# REMOTEID, or a master of that name (apis.md 7.2: an "already exists" style error) [S].
_DUPLICATE_WORDS = ("already exists", "already exist", "duplicate")


def tally_http_error(response: httpx.Response, body: Any) -> TallyError:
    """Classify a non-2xx answer. Tally itself answers 200; anything else came from the way there."""
    status = response.status_code
    text = f"Tally answered HTTP {status} {response.reason_phrase}".rstrip()
    if status == 429:
        retry = parse_retry_after(response.headers.get("Retry-After"))
        return TallyError(text, kind=ErrorKind.RATE_LIMITED, status_code=status, retry_after=retry)
    if status in (401, 403, 404, 407):  # a proxy or a wrong URL: Tally accepts any path
        return TallyError(text, kind=ErrorKind.AUTH, status_code=status)
    if status >= 500 or status == 408:
        return TallyError(text, kind=ErrorKind.RETRY, status_code=status)
    return TallyError(text, kind=ErrorKind.BAD_REQUEST, status_code=status)


@dataclass(frozen=True)
class ImportResult:
    """The counts of one import answer, and its line errors in order."""

    created: int = 0
    altered: int = 0
    deleted: int = 0
    combined: int = 0
    ignored: int = 0
    errors: int = 0
    cancelled: int = 0
    last_voucher_id: str | None = None  # LASTVCHID: MasterID of the last voucher created
    last_master_id: str | None = None
    line_errors: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.errors > 0 or bool(self.line_errors)


def _count(holder: XmlElement, tag: str) -> int:
    text = (text_of(holder, tag) or "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def import_result(root: XmlElement, *, write: bool = True) -> ImportResult:
    """Read either answer shape; an answer with no counts at all cannot be trusted either way."""
    holder = None
    for candidate in (*root.iter("IMPORTRESULT"), *root.iter("RESPONSE")):
        if candidate.find("CREATED") is not None or candidate.find("ERRORS") is not None:
            holder = candidate
            break
    if holder is None and root.find("CREATED") is not None:
        holder = root
    line_errors = tuple(str(e.text or "").strip() for e in root.iter("LINEERROR"))
    if holder is None:
        if line_errors:
            return ImportResult(errors=len(line_errors), line_errors=line_errors)
        raise TallyError(
            "Tally answered an import without CREATED/ALTERED/ERRORS counts",
            kind=ErrorKind.UNCERTAIN if write else ErrorKind.RETRY,
        )
    return ImportResult(
        created=_count(holder, "CREATED"),
        altered=_count(holder, "ALTERED"),
        deleted=_count(holder, "DELETED"),
        combined=_count(holder, "COMBINED"),
        ignored=_count(holder, "IGNORED"),
        errors=_count(holder, "ERRORS"),
        cancelled=_count(holder, "CANCELLED"),
        last_voucher_id=(text_of(holder, "LASTVCHID") or "").strip() or None,
        last_master_id=(text_of(holder, "LASTMID") or "").strip() or None,
        line_errors=line_errors,
    )


def line_error_kind(text: str) -> ErrorKind:
    lowered = text.lower()
    if any(word in lowered for word in _DUPLICATE_WORDS):
        return ErrorKind.DUPLICATE
    return ErrorKind.BAD_REQUEST


def raise_for_import(result: ImportResult, what: str) -> None:
    """Raise for an import of one object that did not simply create it.

    LINEERROR or ERRORS > 0 -> bad request carrying Tally's text (duplicate when the text says
    the object exists). ALTERED (or IGNORED) without CREATED -> duplicate: an object with our
    REMOTEID was already there and Tally altered it to this content instead of adding a second.
    """
    if result.failed:
        text = "; ".join(result.line_errors) or f"{result.errors} error(s) and no LINEERROR text"
        kind = line_error_kind(text)
        raise TallyError(f"Tally refused {what}: {text}", kind=kind, vendor_code="LINEERROR")
    if result.created:
        return
    if result.altered or result.ignored or result.combined:
        raise TallyError(
            f"{what} already exists in Tally (altered {result.altered}, ignored {result.ignored})",
            kind=ErrorKind.DUPLICATE,
        )
    raise TallyError(f"Tally created nothing for {what} and gave no reason", kind=ErrorKind.BAD_REQUEST)


def raise_for_export(root: XmlElement, what: str) -> None:
    """An export answer carrying LINEERROR means our request was wrong (unknown report, bad TDL)."""
    errors = [str(e.text or "").strip() for e in root.iter("LINEERROR")]
    if errors:
        raise TallyError(f"Tally refused {what}: {'; '.join(errors)}", kind=ErrorKind.BAD_REQUEST)
