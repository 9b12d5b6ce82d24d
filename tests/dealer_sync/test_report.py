"""The reconciliation report renderers: CSV, HTML, chart, plain text and the files on disk."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dealer_sync.report import (
    CSV_COLUMNS,
    TOP_FINDINGS_LIMIT,
    Finding,
    ReconciliationReport,
    render_chart_png,
    render_csv,
    render_html,
    render_text,
    report_basename,
    write_report_files,
)

TRICKY = '<b>R&D "Motors"</b>'
DEVANAGARI = "शर्मा मोटर्स, पुणे"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def finding(**overrides: object) -> Finding:
    values: dict[str, object] = {
        "category": "missing_invoice",
        "severity": "high",
        "currency": "INR",
        "money_at_stake": Decimal("100.00"),
        "age_days": 2,
        "remedy": "dealer-sync replay --order PO-1",
        "detail": "no invoice",
        "order_key": "PO-1",
        "dealer_key": "D-1",
    }
    values.update(overrides)
    return Finding(**values)  # type: ignore[arg-type]


def report_of(findings: list[Finding], **overrides: object) -> ReconciliationReport:
    values: dict[str, object] = {
        "window_start": dt.date(2024, 5, 1),
        "generated_at": dt.datetime(2024, 5, 2, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        "findings": findings,
        "matched": {"portal": 10, "inventory": 9, "accounting": 8},
    }
    values.update(overrides)
    return ReconciliationReport(**values)  # type: ignore[arg-type]


@pytest.fixture
def report() -> ReconciliationReport:
    return report_of(
        [
            finding(money_at_stake=Decimal("50"), dealer_name=TRICKY, severity="medium"),
            finding(
                category="amount_mismatch",
                money_at_stake=Decimal("1234567.8"),
                dealer_name=DEVANAGARI,
                order_key="PO-2",
                invoice_key="INV-2",
                detail='portal says "10", books say 12',
                age_days=9,
            ),
            finding(category="amount_mismatch", money_at_stake=Decimal("50"), severity="high", age_days=30),
            finding(
                category="orphan_invoice",
                severity="low",
                money_at_stake=Decimal("0"),
                order_key=None,
                invoice_key="INV-3",
                dealer_name='=HYPERLINK("http://evil.example")',
            ),
            finding(
                category="fx", currency="USD", money_at_stake=Decimal("75.125"), dealer_name="Acme, Inc."
            ),
        ]
    )


# ---------------------------------------------------------------------------- model


def test_report_normalises_time_window_and_containers(report: ReconciliationReport) -> None:
    assert report.generated_at == dt.datetime(2024, 5, 2, 2, 0, tzinfo=dt.UTC)
    assert report.window_end == dt.date(2024, 5, 1)
    assert report.label == "2024-05-01"
    assert isinstance(report.findings, tuple)
    with pytest.raises(TypeError):
        report.matched["portal"] = 1  # type: ignore[index]
    window = report_of([], window_end=dt.date(2024, 5, 7))
    assert window.label == "2024-05-01_to_2024-05-07"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"money_at_stake": 1.5}, "Decimal"),
        ({"money_at_stake": Decimal("-1")}, "absolute"),
        ({"money_at_stake": Decimal("NaN")}, "finite"),
        ({"severity": "critical"}, "severity"),
        ({"currency": "rupees"}, "ISO 4217"),
        ({"age_days": -1}, "negative"),
    ],
)
def test_finding_refuses_bad_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        finding(**overrides)


def test_report_refuses_naive_time_and_backwards_window() -> None:
    with pytest.raises(ValueError, match="timezone"):
        report_of([], generated_at=dt.datetime(2024, 5, 2, 2, 0))
    with pytest.raises(ValueError, match="before"):
        report_of([], window_end=dt.date(2024, 4, 30))


def test_summary_groups_by_category_and_currency_sorted_by_money(report: ReconciliationReport) -> None:
    rows = [(r.category, r.currency, r.count, r.money_at_stake, r.high) for r in report.summary]
    assert rows == [
        ("amount_mismatch", "INR", 2, Decimal("1234617.8"), 2),
        ("fx", "USD", 1, Decimal("75.125"), 1),
        ("missing_invoice", "INR", 1, Decimal("50"), 0),
        ("orphan_invoice", "INR", 1, Decimal("0"), 0),
    ]
    assert report.severity_counts == {"high": 3, "medium": 1, "low": 1}
    assert report.money_by_currency == {"INR": Decimal("1234667.8"), "USD": Decimal("75.125")}


def test_findings_rank_by_money_then_severity_then_age(report: ReconciliationReport) -> None:
    ranked = report.ranked_findings
    assert [(f.category, f.money_at_stake, f.severity) for f in ranked] == [
        ("amount_mismatch", Decimal("1234567.8"), "high"),
        ("fx", Decimal("75.125"), "high"),
        ("amount_mismatch", Decimal("50"), "high"),  # same money: high before medium
        ("missing_invoice", Decimal("50"), "medium"),
        ("orphan_invoice", Decimal("0"), "low"),
    ]


# ------------------------------------------------------------------------------ CSV


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_round_trips_every_finding(report: ReconciliationReport) -> None:
    rows = read_csv(render_csv(report))

    assert len(rows) == len(report.findings)
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_money = report.ranked_findings
    assert [row["dealer_name"] for row in rows] == [
        DEVANAGARI,
        "Acme, Inc.",
        "",
        TRICKY,
        '\'=HYPERLINK("http://evil.example")',  # neutralised for Excel
    ]
    for row, item in zip(rows, by_money, strict=True):
        assert row["category"] == item.category
        assert row["order_key"] == (item.order_key or "")
        assert row["invoice_key"] == (item.invoice_key or "")
        assert row["currency"] == item.currency
        assert row["age_days"] == str(item.age_days)
        assert row["detail"] == item.detail
        assert row["remedy"] == item.remedy
    assert [row["money_at_stake"] for row in rows] == ["1234567.80", "75.13", "50.00", "50.00", "0.00"]


def test_csv_money_is_plain_even_for_exponent_decimals() -> None:
    rows = read_csv(render_csv(report_of([finding(money_at_stake=Decimal("1E+3"))])))
    assert rows[0]["money_at_stake"] == "1000.00"
    rows = read_csv(render_csv(report_of([finding(currency="JPY", money_at_stake=Decimal("1500"))])))
    assert rows[0]["money_at_stake"] == "1500"


def test_csv_of_no_findings_is_a_header() -> None:
    data = render_csv(report_of([]))
    assert data.decode("utf-8-sig") == ",".join(CSV_COLUMNS) + "\r\n"


# ----------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.code: list[str] = []
        self.img_src: list[str] = []
        self.links: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "code":
            self._in_code += 1
            self.code.append("")
        if tag == "img":
            self.img_src.append(values.get("src") or "")
        if tag in ("a", "link", "script", "iframe"):
            self.links.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_code:
            self.code[-1] += data


def parse_html(body: str) -> _Collector:
    collector = _Collector()
    collector.feed(body)
    collector.close()
    return collector


def test_html_escapes_names_and_shows_numbers(report: ReconciliationReport) -> None:
    body = render_html(report, "chart.123@dealer-sync")

    assert TRICKY not in body
    assert "&lt;b&gt;R&amp;D &quot;Motors&quot;&lt;/b&gt;" in body
    assert "portal says &quot;10&quot;" in body
    assert DEVANAGARI in body
    parsed = parse_html(body)
    text = "".join(parsed.text)
    assert TRICKY in text  # what a reader sees is the literal name
    assert "5 findings (3 high, 1 medium, 1 low)" in text
    assert "INR 1,234,667.80" in text  # headline total
    assert "USD 75.13" in text
    assert "INR 1,234,617.80" in text  # summary row
    assert "portal: 10" in text
    assert parsed.img_src == ["cid:chart.123@dealer-sync"]
    assert "dealer-sync replay --order PO-1" in parsed.code
    assert parsed.links == []
    assert "http://" not in body.replace("http://evil.example", "") and "https://" not in body


def test_html_cid_accepts_angle_brackets_and_escapes_it(report: ReconciliationReport) -> None:
    assert parse_html(render_html(report, "<abc@x>")).img_src == ["cid:abc@x"]
    body = render_html(report, 'a"onerror="x')
    assert 'src="cid:a&quot;onerror=&quot;x"' in body
    assert parse_html(render_html(report, None)).img_src == []


def test_html_lists_top_findings_most_money_first() -> None:
    findings = [finding(money_at_stake=Decimal(i), order_key=f"PO-{i:03d}") for i in range(1, 61)]
    body = render_html(report_of(findings), None)
    shown = re.findall(r"PO-(\d{3})", body)
    assert len(shown) == TOP_FINDINGS_LIMIT
    assert [int(n) for n in shown] == list(range(60, 10, -1))
    assert "10 more findings are in the attached CSV" in body


def test_html_of_no_findings() -> None:
    body = render_html(report_of([]), None)
    assert "every record matched" in body
    assert "<table" not in body


def test_text_alternative(report: ReconciliationReport) -> None:
    text = render_text(report)
    assert "5 findings (3 high, 1 medium, 1 low)" in text
    assert "Money at stake: INR 1,234,667.80" in text
    assert "remedy: dealer-sync replay --order PO-1" in text
    assert f"dealer D-1 ({TRICKY})" in text  # plain text needs no escaping


# ---------------------------------------------------------------------------- chart


def test_chart_is_a_png(report: ReconciliationReport) -> None:
    png = render_chart_png(report)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert render_chart_png(report) == png  # same report, same bytes
    empty = render_chart_png(report_of([]))
    assert empty.startswith(PNG_SIGNATURE)


# ---------------------------------------------------------------------------- files


def test_write_report_files(tmp_path: Path, report: ReconciliationReport) -> None:
    target = tmp_path / "reports" / "nested"

    files = write_report_files(report, target)

    assert files.csv_path == target / "reconciliation_2024-05-01.csv"
    assert files.html_path.name == "reconciliation_2024-05-01.html"
    assert files.chart_path.name == "reconciliation_2024-05-01.png"
    assert read_csv(files.csv_path.read_bytes()) == read_csv(render_csv(report))
    assert files.chart_path.read_bytes().startswith(PNG_SIGNATURE)
    html = files.html_path.read_text(encoding="utf-8")
    [src] = parse_html(html).img_src
    assert src.startswith("data:image/png;base64,")  # the file stands alone, like the email
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [files.csv_path.name, files.html_path.name, files.chart_path.name]
    )  # no temporary files left behind

    # a rerun replaces the files in place
    again = write_report_files(report_of([]), target)
    assert again == files
    assert read_csv(files.csv_path.read_bytes()) == []
    assert len(list(target.iterdir())) == 3


def test_file_names_are_safe_for_a_window() -> None:
    window = report_of([], window_end=dt.date(2024, 5, 7))
    name = report_basename(window)
    assert name == "reconciliation_2024-05-01_to_2024-05-07"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
