"""Reads and writes the SQL dealer portal; rows in, canonical models out (and back)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, Select, Table, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connectors.portal_sql import schema
from dealer_sync.models import (
    CreditNote,
    Dealer,
    DealerAccount,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PriceList,
)
from dealer_sync.money import Money
from dealer_sync.records import Rejected, describe
from dealer_sync.timeutil import business_date, utcnow


@dataclass(frozen=True)
class AvailabilityRow:
    """What the portal shows dealers for one SKU in one warehouse."""

    sku: str
    warehouse_code: str
    on_hand: Decimal
    committed: Decimal
    reserved: Decimal
    available: Decimal
    source_updated_at: datetime | None


def _orders_query(
    query: Select[Any],
    statuses: Sequence[OrderStatus],
    since: datetime | None,
    until: datetime | None,
    ids: Sequence[str] | None,
) -> Select[Any]:
    """Orders in ``statuses`` confirmed within [since, until) or with the given ids, oldest first."""
    o = schema.orders
    query = query.where(o.c.status.in_([s.value for s in statuses])).order_by(o.c.confirmed_at, o.c.id)
    if ids is not None:
        query = query.where(o.c.id.in_(list(ids)))
    if since is not None:
        query = query.where(o.c.confirmed_at >= since)
    if until is not None:
        query = query.where(o.c.confirmed_at < until)
    return query


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in row.items()}


class SqlPortal:
    """The portal's database as operations. Every read tolerates bad rows; writes are upserts."""

    def __init__(self, engine: Engine, business_timezone: str) -> None:
        self.engine = engine
        self.business_timezone = business_timezone

    # ----------------------------------------------------------------- reads
    def dealers(self) -> tuple[dict[str, Dealer], list[Rejected]]:
        good: dict[str, Dealer] = {}
        bad: list[Rejected] = []
        with self.engine.connect() as connection:
            for row in connection.execute(select(schema.dealers)).mappings():
                try:
                    good[row["code"]] = Dealer(
                        id=row["code"],
                        name=row["name"],
                        email=row["email"],
                        currency=row["currency"],
                        credit_limit=Money(amount=row["credit_limit"], currency=row["currency"]),
                        country=row["country"],
                        state=row["state"],
                        tax_registration=row["gstin"],
                        price_list_id=row["price_list_id"],
                        payment_terms_days=row["payment_terms_days"],
                        active=row["active"],
                    )
                except ValidationError as exc:
                    bad.append(Rejected("dealer", row["code"], _jsonable(dict(row)), describe(exc)))
        return good, bad

    def price_lists(self) -> dict[str, PriceList]:
        with self.engine.connect() as connection:
            lists = {r["id"]: r for r in connection.execute(select(schema.price_lists)).mappings()}
            prices: dict[str, dict[str, Money]] = defaultdict(dict)
            for r in connection.execute(select(schema.price_list_items)).mappings():
                currency = lists[r["price_list_id"]]["currency"]
                prices[r["price_list_id"]][r["sku"]] = Money(amount=r["unit_price"], currency=currency)
        return {
            pid: PriceList(id=pid, name=r["name"], currency=r["currency"], prices=prices.get(pid, {}))
            for pid, r in lists.items()
        }

    def hsn_codes(self) -> dict[str, str]:
        """SKU -> HSN/SAC code of the catalog's items: GST invoices print it on every line."""
        query = select(schema.catalog_items.c.sku, schema.catalog_items.c.hsn_or_sac)
        with self.engine.connect() as connection:
            return {sku: code for sku, code in connection.execute(query) if code}

    def orders(
        self,
        *,
        statuses: Sequence[OrderStatus] = (OrderStatus.CONFIRMED,),
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[Order], list[Rejected]]:
        """Orders in ``statuses`` confirmed within [since, until) or with the given ids."""
        query = _orders_query(select(schema.orders), statuses, since, until, ids)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            heads = [dict(r) for r in connection.execute(query).mappings()]
            lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
            if heads:
                line_query = (
                    select(schema.order_lines)
                    .where(schema.order_lines.c.order_id.in_([h["id"] for h in heads]))
                    .order_by(schema.order_lines.c.order_id, schema.order_lines.c.line_no)
                )
                for r in connection.execute(line_query).mappings():
                    lines[r["order_id"]].append(dict(r))
        good: list[Order] = []
        bad: list[Rejected] = []
        for head in heads:
            try:
                good.append(self._order(head, lines[head["id"]]))
            except ValidationError as exc:
                payload = _jsonable(head) | {"lines": [_jsonable(ln) for ln in lines[head["id"]]]}
                bad.append(Rejected("order", head["id"], payload, describe(exc), "order is well-formed"))
        return good, bad

    def order_ids(
        self,
        *,
        statuses: Sequence[OrderStatus] = (OrderStatus.CONFIRMED,),
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        """The ids ``orders`` would return, in its order: one column, so a window of many
        thousand orders is listed at once and read a batch at a time."""
        query = _orders_query(select(schema.orders.c.id), statuses, since, until, ids)
        with self.engine.connect() as connection:
            return [str(order_id) for order_id in connection.execute(query).scalars()]

    def _order(self, head: dict[str, Any], lines: list[dict[str, Any]]) -> Order:
        currency = head["currency"]

        def money(value: Decimal) -> Money:
            return Money(amount=value, currency=currency)

        stamp = head["confirmed_at"] or head["placed_at"]
        return Order(
            id=head["id"],
            number=head["number"],
            dealer_id=head["dealer_code"],
            status=OrderStatus(head["status"]),
            currency=currency,
            lines=tuple(
                OrderLine(
                    line_no=ln["line_no"],
                    sku=ln["sku"],
                    description=ln["description"],
                    quantity=ln["quantity"],
                    unit_price=money(ln["unit_price"]),
                    amount=money(ln["amount"]),
                    tax_rate=ln["tax_rate"],
                    tax_amount=money(ln["tax_amount"]),
                )
                for ln in lines
            ),
            subtotal=money(head["subtotal"]),
            tax_total=money(head["tax_total"]),
            total=money(head["total"]),
            placed_at=head["placed_at"],
            confirmed_at=head["confirmed_at"],
            business_date=business_date(stamp, self.business_timezone),
            price_list_id=head["price_list_id"],
            version=head["version"],
            updated_at=head["updated_at"],
        )

    def order_warehouses(self, order_ids: Sequence[str]) -> dict[str, str | None]:
        """The warehouse each order ships from (chosen by the dealer in the portal)."""
        if not order_ids:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.orders.c.id, schema.orders.c.warehouse_code).where(
                    schema.orders.c.id.in_(list(order_ids))
                )
            ).all()
        return {order_id: warehouse for order_id, warehouse in rows}

    def open_order_quantities(self, exclude_order_ids: Iterable[str] = ()) -> dict[tuple[str, str], Decimal]:
        """Quantities of confirmed, not yet invoiced orders by (SKU, warehouse).

        Lines without a positive quantity are malformed (their orders sit in quarantine) and
        hold nothing: a negative line must not free stock that other orders hold.
        """
        o, ln = schema.orders, schema.order_lines
        excluded = set(exclude_order_ids)
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        query = (
            select(o.c.id, o.c.warehouse_code, ln.c.sku, ln.c.quantity)
            .join(ln, ln.c.order_id == o.c.id)
            .where(and_(o.c.status == OrderStatus.CONFIRMED.value, o.c.warehouse_code.is_not(None)))
        )
        with self.engine.connect() as connection:
            for order_id, warehouse, sku, quantity in connection.execute(query):
                # compared here, not in SQL: on SQLite the column is text, which sorts above numbers
                if order_id not in excluded and quantity > 0:
                    totals[(sku, warehouse)] += quantity
        return dict(totals)

    def orders_for_reconciliation(
        self, since: datetime, until: datetime, numbers: Sequence[str] = ()
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Raw order heads (any status) confirmed in [since, until) or with these numbers, and lines.

        ``numbers`` are compared case-insensitively (the reconciliation case-folds its keys).

        Raw rows, not models: the reconciliation must see malformed orders too.
        """
        o, ln = schema.orders, schema.order_lines
        heads: dict[str, dict[str, Any]] = {}
        wanted = sorted({n.lower() for n in numbers})
        with self.engine.connect() as connection:
            in_window = and_(o.c.confirmed_at >= since, o.c.confirmed_at < until)
            for row in connection.execute(select(o).where(in_window)).mappings():
                heads[row["id"]] = dict(row)
            for start in range(0, len(wanted), 500):  # bounded IN lists (SQLite caps parameters)
                chunk = wanted[start : start + 500]
                for row in connection.execute(select(o).where(func.lower(o.c.number).in_(chunk))).mappings():
                    heads[row["id"]] = dict(row)
            ids = list(heads)
            lines: list[dict[str, Any]] = []
            for start in range(0, len(ids), 500):
                query = select(ln).where(ln.c.order_id.in_(ids[start : start + 500]))
                lines += [dict(r) for r in connection.execute(query).mappings()]
        return list(heads.values()), lines

    def order_ids_for_numbers(self, numbers: Sequence[str]) -> list[str]:
        """Portal order ids of these order numbers (compared case-insensitively)."""
        o = schema.orders
        wanted = sorted({n.lower() for n in numbers})
        ids: list[str] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                query = select(o.c.id).where(func.lower(o.c.number).in_(wanted[start : start + 500]))
                ids += list(connection.scalars(query))
        return ids

    def dealer_account_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(r) for r in connection.execute(select(schema.dealer_accounts)).mappings()]

    def outstanding_by_dealer(self) -> dict[str, Money]:
        """Open invoice balances per dealer, as the pullback last copied them from the ledger."""
        inv = schema.account_invoices
        totals: dict[str, Money] = {}
        query = select(inv.c.dealer_code, inv.c.currency, inv.c.balance).where(inv.c.status != "void")
        with self.engine.connect() as connection:
            for dealer, currency, balance in connection.execute(query):
                amount = Money(amount=balance, currency=currency)
                totals[dealer] = totals[dealer] + amount if dealer in totals else amount
        return totals

    def availability(self) -> dict[tuple[str, str], AvailabilityRow]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.availability)).mappings().all()
        fields = AvailabilityRow.__dataclass_fields__
        return {(r["sku"], r["warehouse_code"]): AvailabilityRow(**{f: r[f] for f in fields}) for r in rows}

    # ---------------------------------------------------------------- writes
    def upsert_availability(self, rows: Sequence[AvailabilityRow]) -> int:
        now = utcnow()
        return self._upsert(
            schema.availability,
            ["sku", "warehouse_code"],
            [
                {
                    "sku": r.sku,
                    "warehouse_code": r.warehouse_code,
                    "on_hand": r.on_hand,
                    "committed": r.committed,
                    "reserved": r.reserved,
                    "available": r.available,
                    "source_updated_at": r.source_updated_at,
                    "updated_at": now,
                }
                for r in rows
            ],
        )

    def mark_invoiced(self, invoiced: Sequence[tuple[str, int, str]]) -> int:
        """Set orders (id, version they had, invoice number) to invoiced.

        Only an order still confirmed at the version we read moves: one edited meanwhile in the
        portal is left for the next run to see as a new version.
        """
        moved = 0
        now = utcnow()
        o = schema.orders
        with self.engine.begin() as connection:
            for order_id, version, invoice_number in invoiced:
                result = connection.execute(
                    update(o)
                    .where(
                        o.c.id == order_id,
                        o.c.version == version,
                        o.c.status == OrderStatus.CONFIRMED.value,
                    )
                    .values(
                        status=OrderStatus.INVOICED.value,
                        invoice_number=invoice_number,
                        invoiced_at=now,
                        updated_at=now,
                    )
                )
                moved += int(result.rowcount)
        return moved

    def upsert_account(
        self,
        invoices: Sequence[Invoice],
        payments: Sequence[Payment],
        credit_notes: Sequence[CreditNote],
    ) -> int:
        """Copy ledger documents (already mapped to dealers) into the dealers' account pages."""
        written = self._upsert(
            schema.account_invoices,
            ["invoice_id"],
            [
                {
                    "invoice_id": i.id,
                    "dealer_code": i.dealer_id,
                    "number": i.number,
                    "order_number": i.reference,
                    "issue_date": i.issue_date,
                    "due_date": i.due_date,
                    "currency": i.currency,
                    "total": i.total.amount,
                    "balance": i.balance.amount,
                    "status": i.status.value,
                    "updated_at": i.updated_at,
                }
                for i in invoices
            ],
        )
        written += self._upsert(
            schema.account_payments,
            ["payment_id"],
            [
                {
                    "payment_id": p.id,
                    "dealer_code": p.dealer_id,
                    "paid_on": p.paid_on,
                    "currency": p.amount.currency,
                    "amount": p.amount.amount,
                    "unapplied": p.unapplied.amount,
                    "reference": p.reference,
                    "allocations": [
                        {"invoice_id": a.invoice_id, "amount": str(a.amount.amount)} for a in p.allocations
                    ],
                    "updated_at": p.updated_at,
                }
                for p in payments
            ],
        )
        written += self._upsert(
            schema.account_credit_notes,
            ["credit_note_id"],
            [
                {
                    "credit_note_id": c.id,
                    "dealer_code": c.dealer_id,
                    "number": c.number,
                    "invoice_id": c.invoice_id,
                    "issued_on": c.issued_on,
                    "currency": c.currency,
                    "total": c.total.amount,
                    "balance": c.balance.amount,
                    "status": c.status.value,
                    "updated_at": c.updated_at,
                }
                for c in credit_notes
            ],
        )
        return written

    def account_documents(self, dealer_codes: Sequence[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """All account rows of the given dealers, grouped by dealer then kind."""
        result: dict[str, dict[str, list[dict[str, Any]]]] = {
            code: {"invoices": [], "payments": [], "credit_notes": []} for code in dealer_codes
        }
        tables = {
            "invoices": schema.account_invoices,
            "payments": schema.account_payments,
            "credit_notes": schema.account_credit_notes,
        }
        with self.engine.connect() as connection:
            for kind, table in tables.items():
                query = select(table).where(table.c.dealer_code.in_(list(dealer_codes)))
                for row in connection.execute(query).mappings():
                    result[row["dealer_code"]][kind].append(dict(row))
        return result

    def upsert_dealer_accounts(self, accounts: Sequence[DealerAccount]) -> int:
        return self._upsert(
            schema.dealer_accounts,
            ["dealer_code"],
            [
                {
                    "dealer_code": a.dealer_id,
                    "currency": a.currency,
                    "credit_limit": a.credit_limit.amount,
                    "outstanding": a.outstanding.amount,
                    "overdue": a.overdue.amount,
                    "unapplied_credit": a.unapplied_credit.amount,
                    "available_credit": a.available_credit.amount,
                    "as_of": a.as_of,
                }
                for a in accounts
            ],
        )

    def _upsert(self, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={c: statement.excluded[c] for c in rows[0] if c not in keys},
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)
        return len(rows)
