"""The nightly reconciliation report: findings in, CSV, chart, HTML and plain text out (no network)."""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

from dealer_sync.money import quantize
from dealer_sync.timeutil import require_utc

Severity = Literal["high", "medium", "low"]
SEVERITIES: Final[tuple[Severity, ...]] = ("high", "medium", "low")
_SEVERITY_RANK: Final[dict[str, int]] = {name: rank for rank, name in enumerate(SEVERITIES)}

TOP_FINDINGS_LIMIT: Final = 50
"""Findings listed in the email body; the CSV always carries all of them."""

CHART_MAX_ROWS: Final = 20

CSV_COLUMNS: Final[tuple[str, ...]] = (
    "category",
    "severity",
    "dealer_key",
    "dealer_name",
    "order_key",
    "invoice_key",
    "currency",
    "money_at_stake",
    "age_days",
    "detail",
    "remedy",
)

# Excel runs a cell that starts with one of these as a formula. Dealer names and details come
# from outside (dealers type them into the portal), so such cells are prefixed with a quote.
_FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Finding:
    """One mismatch the reconciliation found, with what it costs and how to fix it.

    ``money_at_stake`` is a Decimal in ``currency`` (never a float: it is money); ``remedy`` is a
    shell command or a sentence finance can act on without opening another system.
    """

    category: str
    severity: Severity
    currency: str
    money_at_stake: Decimal
    age_days: int
    remedy: str
    detail: str
    order_key: str | None = None
    invoice_key: str | None = None
    dealer_key: str | None = None
    dealer_name: str | None = None

    def __post_init__(self) -> None:
        if not self.category:
            raise ValueError("a finding needs a category")
        if self.severity not in _SEVERITY_RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        if not isinstance(self.money_at_stake, Decimal) or not self.money_at_stake.is_finite():
            raise ValueError(f"money_at_stake must be a finite Decimal, got {self.money_at_stake!r}")
        if len(self.currency) != 3 or not self.currency.isascii() or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code such as 'INR', got {self.currency!r}")
        if self.money_at_stake < 0:
            # Signed differences would cancel out in the totals; the direction belongs in ``detail``.
            raise ValueError(f"money_at_stake is an absolute amount, got {self.money_at_stake}")
        if self.age_days < 0:
            raise ValueError(f"age_days cannot be negative, got {self.age_days}")


@dataclass(frozen=True)
class CategorySummary:
    """Findings of one category in one currency (amounts in different currencies never add up)."""

    category: str
    currency: str
    count: int
    money_at_stake: Decimal
    high: int
    oldest_age_days: int


@dataclass(frozen=True)
class ReconciliationReport:
    """What one reconciliation run found over a business date (or an inclusive window of them).

    ``matched`` counts the records per source that reconciled cleanly (``{"portal": 1200, ...}``),
    so that a reader can tell 3 findings out of 20 from 3 out of 20,000.
    """

    window_start: date
    generated_at: datetime
    findings: Sequence[Finding]
    matched: Mapping[str, int] = field(default_factory=dict)
    window_end: date | None = None

    def __post_init__(self) -> None:
        end = self.window_end or self.window_start
        if end < self.window_start:
            raise ValueError(f"window ends ({end}) before it starts ({self.window_start})")
        object.__setattr__(self, "window_end", end)
        object.__setattr__(self, "generated_at", require_utc(self.generated_at))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "matched", MappingProxyType(dict(self.matched)))

    @property
    def last_date(self) -> date:
        """The window's inclusive end (equal to ``window_start`` for a nightly run)."""
        assert self.window_end is not None  # set in __post_init__
        return self.window_end

    @property
    def label(self) -> str:
        """``2024-05-01`` for one business date, ``2024-05-01_to_2024-05-07`` for a window."""
        if self.last_date == self.window_start:
            return self.window_start.isoformat()
        return f"{self.window_start.isoformat()}_to_{self.last_date.isoformat()}"

    @property
    def period_text(self) -> str:
        if self.last_date == self.window_start:
            return f"business date {self.window_start.isoformat()}"
        return f"business dates {self.window_start.isoformat()} to {self.last_date.isoformat()}"

    @property
    def summary(self) -> tuple[CategorySummary, ...]:
        """Counts and money per (category, currency), largest money at stake first."""
        groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for finding in self.findings:
            groups[(finding.category, finding.currency)].append(finding)
        rows = [
            CategorySummary(
                category=category,
                currency=currency,
                count=len(items),
                money_at_stake=sum((f.money_at_stake for f in items), Decimal(0)),
                high=sum(1 for f in items if f.severity == "high"),
                oldest_age_days=max(f.age_days for f in items),
            )
            for (category, currency), items in groups.items()
        ]
        rows.sort(key=lambda r: (-r.money_at_stake, -r.count, r.category, r.currency))
        return tuple(rows)

    @property
    def ranked_findings(self) -> tuple[Finding, ...]:
        """Every finding, the ones to act on first at the top: money, severity, then age."""
        return tuple(sorted(self.findings, key=_finding_rank))

    @property
    def severity_counts(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.findings)
        return {name: counts.get(name, 0) for name in SEVERITIES}

    @property
    def money_by_currency(self) -> dict[str, Decimal]:
        """Total money at stake per currency, in currency order."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for finding in self.findings:
            totals[finding.currency] += finding.money_at_stake
        return {currency: totals[currency] for currency in sorted(totals)}


@dataclass(frozen=True)
class ReportFiles:
    """Where ``write_report_files`` put the three files."""

    csv_path: Path
    html_path: Path
    chart_path: Path


def _finding_rank(finding: Finding) -> tuple[Decimal, int, int, str, str, str, str]:
    return (
        -finding.money_at_stake,
        _SEVERITY_RANK[finding.severity],
        -finding.age_days,
        finding.category,
        finding.dealer_key or "",
        finding.order_key or "",
        finding.invoice_key or "",
    )


def format_money(amount: Decimal, currency: str, *, grouped: bool = True) -> str:
    """``1,234.50`` (grouped, for people) or ``1234.50`` (plain, for spreadsheets), never ``1E+3``."""
    rounded = quantize(amount, currency)
    return format(rounded, ",f") if grouped else format(rounded, "f")


def report_basename(report: ReconciliationReport) -> str:
    """File name stem for the report's files; only ``[A-Za-z0-9._-]``, so it is safe on every OS."""
    return _safe_filename(f"reconciliation_{report.label}")


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "report"


# ---------------------------------------------------------------------------------------- CSV


def _csv_text(value: str | None) -> str:
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def render_csv(report: ReconciliationReport) -> bytes:
    """All findings, one row each, as UTF-8 with a BOM so that Excel reads Devanagari correctly.

    Money is a plain decimal in the currency's minor unit (``1234.50``), with the currency in its
    own column, so that a spreadsheet sums it without parsing.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for finding in report.ranked_findings:
        writer.writerow(
            [
                finding.category,
                finding.severity,
                _csv_text(finding.dealer_key),
                _csv_text(finding.dealer_name),
                _csv_text(finding.order_key),
                _csv_text(finding.invoice_key),
                finding.currency,
                format_money(finding.money_at_stake, finding.currency, grouped=False),
                str(finding.age_days),
                _csv_text(finding.detail),
                _csv_text(finding.remedy),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


# -------------------------------------------------------------------------------------- chart


def _chart_rows(report: ReconciliationReport) -> tuple[list[str], list[int], list[float], list[str]]:
    summary = report.summary[:CHART_MAX_ROWS]
    several_currencies = len({row.currency for row in report.summary}) > 1
    labels = [f"{row.category} ({row.currency})" if several_currencies else row.category for row in summary]
    counts = [row.count for row in summary]
    # Floats only to place bars on a picture; every number a reader sees is formatted from Decimal.
    amounts = [float(row.money_at_stake) for row in summary]
    amount_labels = [f"{row.currency} {format_money(row.money_at_stake, row.currency)}" for row in summary]
    return labels, counts, amounts, amount_labels


def render_chart_png(report: ReconciliationReport) -> bytes:
    """Two horizontal bar charts, findings per category and money at stake per category, as PNG.

    matplotlib is imported here, not at module level: it takes about a second to import and most
    users of this module (CSV, HTML) never draw. The object API with the Agg canvas is used
    instead of pyplot so that nothing global (backend, current figure) is touched, which keeps it
    safe in worker threads.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    labels, counts, amounts, amount_labels = _chart_rows(report)
    height = 1.6 + 0.42 * max(1, len(labels))
    figure = Figure(figsize=(10.0, height), dpi=100)
    FigureCanvasAgg(figure)
    title = f"Reconciliation findings, {report.period_text}"
    if len(report.summary) > CHART_MAX_ROWS:
        title += f" (top {CHART_MAX_ROWS} of {len(report.summary)} categories)"
    figure.suptitle(title, fontsize=11)
    count_axes, money_axes = figure.subplots(1, 2, sharey=True)
    if not labels:
        count_axes.text(0.5, 0.5, "No findings", ha="center", va="center", transform=count_axes.transAxes)
        money_axes.set_axis_off()
        count_axes.set_axis_off()
    else:
        positions = list(range(len(labels)))
        count_bars = count_axes.barh(positions, counts, color="#4c72b0")
        count_axes.bar_label(count_bars, labels=[str(c) for c in counts], padding=3, fontsize=8)
        count_axes.set_yticks(positions, labels=labels, fontsize=9)
        count_axes.invert_yaxis()  # the largest money at stake on top, as in the table
        count_axes.set_xlabel("findings")
        count_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        count_axes.margins(x=0.25)
        money_bars = money_axes.barh(positions, amounts, color="#dd8452")
        money_axes.bar_label(money_bars, labels=amount_labels, padding=3, fontsize=8)
        money_axes.set_xlabel("money at stake")
        money_axes.margins(x=0.45)
        money_axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        for axes in (count_axes, money_axes):
            axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No Software/date metadata: the same report gives the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# --------------------------------------------------------------------------------------- HTML


def _e(value: object) -> str:
    """Escape any value for HTML text and double- or single-quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def _cells(values: Iterable[str], *, header: bool = False, style: str = "") -> str:
    tag = "th" if header else "td"
    base = "border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;"
    return "".join(f'<{tag} style="{base}{style}">{value}</{tag}>' for value in values)


def _money_html(amount: Decimal, currency: str) -> str:
    return f'<span style="white-space:nowrap">{_e(currency)} {_e(format_money(amount, currency))}</span>'


def _headline_html(report: ReconciliationReport) -> str:
    severities = report.severity_counts
    money = report.money_by_currency
    money_text = ", ".join(_money_html(amount, currency) for currency, amount in money.items()) or "nothing"
    matched = ", ".join(f"{_e(source)}: {_e(count)}" for source, count in sorted(report.matched.items()))
    items = [
        f"<li><strong>{_e(len(report.findings))}</strong> findings "
        f"(<strong>{_e(severities['high'])}</strong> high, {_e(severities['medium'])} medium, "
        f"{_e(severities['low'])} low)</li>",
        f"<li>Money at stake: <strong>{money_text}</strong></li>",
    ]
    if matched:
        items.append(f"<li>Matched records: {matched}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _summary_html(report: ReconciliationReport) -> str:
    if not report.summary:
        return "<p>Nothing to reconcile: every record matched.</p>"
    header = _cells(("Category", "Findings", "High", "Money at stake", "Oldest (days)"), header=True)
    rows = [
        "<tr>"
        + _cells(
            (
                _e(row.category),
                _e(row.count),
                _e(row.high),
                _money_html(row.money_at_stake, row.currency),
                _e(row.oldest_age_days),
            )
        )
        + "</tr>"
        for row in report.summary
    ]
    return (
        '<table style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _keys_html(finding: Finding) -> str:
    parts = []
    if finding.dealer_key or finding.dealer_name:
        name = f" {_e(finding.dealer_name)}" if finding.dealer_name else ""
        parts.append(f"dealer <code>{_e(finding.dealer_key)}</code>{name}")
    if finding.order_key:
        parts.append(f"order <code>{_e(finding.order_key)}</code>")
    if finding.invoice_key:
        parts.append(f"invoice <code>{_e(finding.invoice_key)}</code>")
    return "<br>".join(parts)


_SEVERITY_COLOURS: Final = {"high": "#c0392b", "medium": "#d68910", "low": "#7f8c8d"}


def _findings_html(report: ReconciliationReport) -> str:
    ranked = report.ranked_findings
    if not ranked:
        return ""
    top = ranked[:TOP_FINDINGS_LIMIT]
    columns = ("Severity", "Category", "Keys", "Money at stake", "Age (days)", "Detail", "Remedy")
    header = _cells(columns, header=True)
    rows = []
    for finding in top:
        severity = (
            f'<span style="color:{_SEVERITY_COLOURS[finding.severity]};font-weight:bold">'
            f"{_e(finding.severity)}</span>"
        )
        remedy = f'<code style="white-space:pre-wrap">{_e(finding.remedy)}</code>'
        cells = (
            severity,
            _e(finding.category),
            _keys_html(finding),
            _money_html(finding.money_at_stake, finding.currency),
            _e(finding.age_days),
            _e(finding.detail),
            remedy,
        )
        rows.append("<tr>" + _cells(cells) + "</tr>")
    title = f"Top {len(top)} findings" if len(ranked) > len(top) else "Findings"
    more = (
        f"<p>{_e(len(ranked) - len(top))} more findings are in the attached CSV.</p>"
        if len(ranked) > len(top)
        else ""
    )
    return (
        f'<h2 style="font-size:16px">{_e(title)}, most money at stake first</h2>'
        '<table style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
    )


def render_html(
    report: ReconciliationReport,
    chart_cid: str | None = None,
    *,
    inline_chart_png: bytes | None = None,
) -> str:
    """A self-contained HTML body: headline, summary by category, top findings, the chart.

    Every value from the report goes through ``html.escape``; the markup around it is constant.
    The chart is referenced as ``cid:<chart_cid>`` (an inline part of the same email); for a file
    on disk pass ``inline_chart_png`` instead and it is embedded as a ``data:`` URI. Nothing is
    fetched from the network: mail clients block remote images and finance reads this offline.
    """
    source: str | None = None
    if chart_cid is not None:
        source = "cid:" + chart_cid.strip().removeprefix("<").removesuffix(">")
    elif inline_chart_png is not None:
        source = "data:image/png;base64," + base64.b64encode(inline_chart_png).decode("ascii")
    chart = (
        f'<p><img src="{_e(source)}" alt="Findings by category" style="max-width:100%"></p>' if source else ""
    )
    title = f"dealer-sync reconciliation, {report.period_text}"
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#222">\n'
        f'<h1 style="font-size:18px">{_e(title)}</h1>\n'
        f'<p style="color:#666">Generated {_e(generated)}.</p>\n'
        f"{_headline_html(report)}\n"
        f'<h2 style="font-size:16px">By category</h2>\n{_summary_html(report)}\n'
        f"{chart}\n"
        f"{_findings_html(report)}\n"
        "</body></html>\n"
    )


# --------------------------------------------------------------------------------------- text


def render_text(report: ReconciliationReport, *, limit: int = 20) -> str:
    """The plain-text alternative of the email, for clients that do not show HTML."""
    severities = report.severity_counts
    lines = [
        f"dealer-sync reconciliation, {report.period_text}",
        f"Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"{len(report.findings)} findings ({severities['high']} high, {severities['medium']} medium, "
        f"{severities['low']} low)",
    ]
    for currency, amount in report.money_by_currency.items():
        lines.append(f"Money at stake: {currency} {format_money(amount, currency)}")
    if report.matched:
        matched = ", ".join(f"{source}: {count}" for source, count in sorted(report.matched.items()))
        lines.append(f"Matched records: {matched}")
    if report.summary:
        lines += ["", "By category:"]
        width = max(len(row.category) for row in report.summary)
        for row in report.summary:
            lines.append(
                f"  {row.category:<{width}}  {row.count:>5}  {row.currency} "
                f"{format_money(row.money_at_stake, row.currency)}"
            )
    ranked = report.ranked_findings
    if ranked:
        lines += ["", f"Top {min(limit, len(ranked))} findings (all {len(ranked)} are in the attached CSV):"]
        for finding in ranked[:limit]:
            dealer = " ".join(
                v for v in (finding.dealer_key, finding.dealer_name and f"({finding.dealer_name})") if v
            )
            keys = ", ".join(
                f"{name} {value}"
                for name, value in (
                    ("dealer", dealer),
                    ("order", finding.order_key),
                    ("invoice", finding.invoice_key),
                )
                if value
            )
            lines.append(
                f"- [{finding.severity}] {finding.category} {finding.currency} "
                f"{format_money(finding.money_at_stake, finding.currency)}, {finding.age_days} days; {keys}"
            )
            lines.append(f"    {finding.detail}")
            lines.append(f"    remedy: {finding.remedy}")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers never see half a file."""
    descriptor, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp_path = Path(tmp_name)
    try:
        # mkstemp makes the file 0600; give it the mode an ordinary open() under umask 022 would.
        os.chmod(tmp_path, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_report_files(report: ReconciliationReport, directory: Path | str) -> ReportFiles:
    """Write the CSV, the chart and a standalone HTML (chart embedded) named after the window.

    A rerun for the same window replaces the files atomically, so a reader or a mail job never
    picks up a half-written report.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    stem = report_basename(report)
    files = ReportFiles(
        csv_path=target / f"{stem}.csv",
        html_path=target / f"{stem}.html",
        chart_path=target / f"{stem}.png",
    )
    chart = render_chart_png(report)
    _write_atomic(files.csv_path, render_csv(report))
    _write_atomic(files.chart_path, chart)
    _write_atomic(files.html_path, render_html(report, None, inline_chart_png=chart).encode("utf-8"))
    return files
