"""``dealer-sync tally``: Tally Prime without HTTP (file mode)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from dealer_sync.cli.backfill import parse_bound
from dealer_sync.cli.common import fail, load_settings, print_json
from dealer_sync.store import StoreNotMigratedError

if TYPE_CHECKING:
    from tasks.tally_file import TallyImportResult

app = typer.Typer(help="Tally Prime in file mode: import files for sites without HTTP.", no_args_is_help=True)


@app.command("write-import")
def write_import(
    since: Annotated[
        str,
        typer.Option(
            help="first business day: a date (2026-11-20, midnight in the business timezone) or "
            "that midnight as an ISO 8601 date-time with an offset (2026-11-20T00:00:00+05:30)"
        ),
    ],
    until: Annotated[
        str,
        typer.Option(
            help="end of the window, EXCLUSIVE, same forms: --since 2026-11-20 --until 2026-11-22 "
            "covers 20 and 21 November"
        ),
    ],
    order_id: Annotated[
        list[str] | None,
        typer.Option("--order-id", help="only these orders (still only if confirmed in the window)"),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="folder of the import files (default: <data_dir>/tally-import)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Write the Tally import file of the confirmed portal orders of [--since, --until).

    Orders pass the checks and mapping order-to-invoice applies for the tally target (customers
    are party ledgers, items stock items, GST rates sales ledgers), and each good one becomes a
    Sales voucher numbered INV-<order number>, the number HTTP mode gives it: importing the file
    again, or switching to HTTP mode later, alters those vouchers instead of doubling them.
    Nothing else changes: no portal status, outbox row or quarantine record. Rejected orders are
    listed with their reasons and left out of the file.

    There is one file per company and window (sales-<company>-<hash>-<first>-<last>.xml); a
    rerun replaces it atomically. With --order-id the file goes to a folder orders-<hash> of its
    own, so the whole window's file is not replaced by a part of it.

    Exit code 0 once the orders were read, even if some (or all) were rejected. When no order
    can be written no file is created, and a file already there for the window is replaced by
    one with no vouchers (so that orders since withdrawn are not imported from it). Exit code 2
    on bad input: dates, --until not after --since, no DEALER_SYNC_TALLY__COMPANY.
    """
    from tasks.tally_file import TallyImportError, write_tally_import

    first, end = parse_bound(since, "since"), parse_bound(until, "until")
    settings = load_settings()
    try:
        result = write_tally_import(settings, first, end, order_id or None, directory)
    except TallyImportError as exc:
        fail(str(exc), code=2)
    except StoreNotMigratedError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"cannot read the portal or the sync store: {getattr(exc, 'orig', None) or exc}")
    except OSError as exc:
        fail(f"cannot write the import file: {exc}")
    if as_json:
        print_json(result.as_dict())
        return
    _report(result)


def _report(result: TallyImportResult) -> None:
    days = (
        str(result.first_day)
        if result.first_day == result.last_day
        else f"{result.first_day}..{result.last_day}"
    )
    if result.path is None:
        typer.echo(f"no order of {days} could be written for {result.company}: no file was written")
    else:
        plural = "" if result.vouchers == 1 else "s"
        replaced = " (replaced the previous file for the window)" if result.replaced else ""
        typer.echo(f"wrote {result.vouchers} voucher{plural} of {days} to {result.path}{replaced}")
        if not result.vouchers:
            typer.echo("no order could be written: the file holds no vouchers")
    if result.rejected:
        count = len(result.rejected)
        typer.echo(f"rejected {count} order{'' if count == 1 else 's'} (left out of the file):")
        for r in result.rejected:
            name = f"{r.order_number} ({r.order_id})" if r.order_number else r.order_id
            reason = r.reason if r.check in r.reason else f"{r.check}: {r.reason}"
            typer.echo(f"  {name}: {reason}")


__all__ = ["app", "write_import"]
