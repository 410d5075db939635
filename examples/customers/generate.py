"""Generate the sample data module `customers` (deterministic; the output is committed).

    .venv/bin/python examples/customers/generate.py            # data files + module.json
    .venv/bin/python examples/customers/generate.py --sqlite   # also build customers_legacy.sqlite

Two tables, each fed by TWO sources whose troubles are all deliberate:

- customers: ``customers_crm.csv`` (priority 2) and the legacy database
  ``customers_legacy.sql`` (priority 1, loaded into SQLite; field names differ and are mapped).
  The sources share 50 ids with different values (primary-key conflicts resolved by source
  priority); some values are empty (zip, gender, e-mail), out of range (income below 0 or
  above 1,000,000; birth dates in 1850 or 2090) or not castable ("31/02/1980", "n/a").
- orders: ``orders_web.jsonl`` (priority 2) and ``orders_store.csv`` (priority 1), sharing
  some order ids (conflicts: every record of such an id is dropped), with dangling customer
  ids (no such customer), negative and huge amounts (clamped) and empty amounts (dropped).

Personal data (names, e-mails, birth dates, zip codes, income, diagnosis) is synthetic.
The SQLite database is built from the SQL script at run time (``--sqlite``, or by
``make demo``) so no binary file is committed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import sqlite3
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20240601

FIRST = ["Ada", "Ben", "Chloe", "Dan", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kira", "Liam", "Mona", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara"]
LAST = ["Adler", "Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
        "Jansen", "Kowalski", "Lund", "Moreau", "Novak", "Olsen", "Petrov"]
ZIP_PREFIXES = ["101", "102", "205"]          # three areas: classes big enough for k = 3
BIRTH_YEARS = [1961, 1972, 1980, 1988, 1995]  # five cohorts
GENDERS = ["F", "M"]
DIAGNOSES = ["asthma", "diabetes", "flu", "hypertension", "migraine", "none"]

CRM_IDS = range(1, 201)        # 200 customers in the CRM
LEGACY_IDS = range(151, 261)   # 110 in the legacy system; 151-200 conflict with the CRM


def _customer(rng: random.Random, cid: int, *, legacy: bool) -> dict[str, Any]:
    """One synthetic customer; the legacy system spells some values differently."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    year = rng.choice(BIRTH_YEARS)
    birth = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
    return {
        "id": cid,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{cid}@{'old.' if legacy else ''}example.org",
        "birth_date": birth.isoformat(),
        "zip": f"{rng.choice(ZIP_PREFIXES)}{rng.randrange(100):02d}",
        "gender": rng.choice(GENDERS),
        "income": round(rng.gauss(52000, 15000), 2),
        "diagnosis": rng.choice(DIAGNOSES),
    }


def customers(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The CRM and legacy customer records, with their deliberate defects."""
    crm = [_customer(rng, cid, legacy=False) for cid in CRM_IDS]
    legacy = [_customer(rng, cid, legacy=True) for cid in LEGACY_IDS]
    for row in rng.sample(crm, 12):
        row["zip"] = ""                     # empty -> fill "00000"
    for row in rng.sample(crm, 6):
        row["email"] = ""                   # empty -> pass (then suppressed anyway)
    for row in rng.sample(crm, 5):
        row["gender"] = ""                  # empty -> drop
    for row in rng.sample(crm, 6):
        row["income"] = rng.choice([-250.0, -1.0, 2_500_000.0, 1_000_001.0])  # -> clamp
    for row, value in zip(rng.sample(crm, 4), ["1850-03-01", "2090-01-01", "31/02/1980", "n/a"], strict=True):
        row["birth_date"] = value           # out of range -> drop; not a date -> empty -> drop
    for row in rng.sample(legacy, 6):
        row["zip"] = None
    for row in rng.sample(legacy, 4):
        row["income"] = None                # empty -> fill 0
    for row in rng.sample(legacy, 3):
        row["income"] = -75.5
    return crm, legacy


def orders(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Web (JSON lines) and store (CSV) orders, with conflicts and dangling customers."""
    start = dt.datetime(2024, 1, 1, 8, 0, 0)  # noqa: DTZ001 - local shop time, no zone on purpose

    def order(oid: int) -> dict[str, Any]:
        customer = rng.randrange(1, 261)
        if rng.random() < 0.05:
            customer = rng.randrange(900, 999)          # dangling foreign key
        return {
            "id": oid,
            "customer_id": customer,
            "amount": round(rng.lognormvariate(3.5, 0.8), 2),
            "ordered_at": (start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 300))).isoformat(sep=" "),
        }

    web = [order(oid) for oid in range(1, 241)]
    store = [order(oid) for oid in range(1001, 1161)] + [order(oid) for oid in range(231, 241)]  # 231-240 conflict
    for row in rng.sample(web, 5):
        row["amount"] = rng.choice([-20.0, -0.01, 25000.0])   # -> clamp to [0, 10000]
    for row in rng.sample(store, 4):
        row["amount"] = None                                   # empty -> drop
    return web, store


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """CSV with a header; None and '' both become an empty field."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """One JSON object per line."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=False) + "\n")


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def write_sql(path: Path, rows: list[dict[str, Any]]) -> None:
    """The legacy system's dump: its own column names (mapped in the module)."""
    renamed = [
        {"customer_no": r["id"], "full_name": r["name"], "mail": r["email"], "born": r["birth_date"],
         "postcode": r["zip"], "sex": r["gender"], "yearly_income": r["income"], "diagnosis": r["diagnosis"]}
        for r in rows
    ]
    lines = [
        "-- Legacy customer database (synthetic). Built into customers_legacy.sqlite by generate.py --sqlite.",
        "CREATE TABLE legacy_customers (customer_no INTEGER, full_name TEXT, mail TEXT, born TEXT,",
        "  postcode TEXT, sex TEXT, yearly_income REAL, diagnosis TEXT);",
    ]
    for r in renamed:
        values = ", ".join(_sql_literal(v) for v in r.values())
        lines.append(f"INSERT INTO legacy_customers VALUES ({values});")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_sqlite(directory: Path = HERE) -> Path:
    """Build ``customers_legacy.sqlite`` from ``customers_legacy.sql`` (replacing it)."""
    target = directory / "customers_legacy.sqlite"
    target.unlink(missing_ok=True)
    with sqlite3.connect(target) as conn:
        conn.executescript((directory / "customers_legacy.sql").read_text(encoding="utf-8"))
    conn.close()
    return target


def module_definition() -> dict[str, Any]:
    """The data module, as the typed model's fields (turned into JSON-LD by module_to_document)."""
    return {
        "id": "customers",
        "name": "Customers and orders (sample)",
        "description": "Synthetic customers and their orders from two systems each; cleaned, anonymized and published.",
        "version": 1,
        "seed": 42,
        "tables": [
            {
                "name": "customers",
                "description": "A customer of the shop.",
                "primary_key": {"column": "id", "on_conflict": "source_priority"},
                "columns": [
                    {"name": "id", "type": "integer", "description": "Customer number.",
                     "empty": {"strategy": "drop"}},
                    {"name": "name", "type": "string", "description": "Full name.",
                     "anonymize": {"op": "suppress", "mask": "***"}},
                    {"name": "email", "type": "string", "description": "E-mail address.",
                     "anonymize": {"op": "suppress", "mask": "***"}},
                    {"name": "birth_date", "type": "date", "description": "Date of birth.",
                     "empty": {"strategy": "drop"},
                     "range": {"min": "1900-01-01", "max": "2025-12-31", "on_violation": "drop"},
                     "anonymize": {"op": "generalize", "granularity": "year"}},
                    {"name": "zip", "type": "string", "description": "Postal code.",
                     "empty": {"strategy": "fill", "value": "00000"},
                     "anonymize": {"op": "generalize", "truncate": 3}},
                    {"name": "gender", "type": "string", "description": "Gender as recorded.",
                     "empty": {"strategy": "drop"}},
                    {"name": "income", "type": "double", "description": "Yearly income.",
                     "empty": {"strategy": "fill", "value": 0},
                     "range": {"min": 0, "max": 1000000, "on_violation": "clamp"},
                     "anonymize": {"op": "generalize", "band": 25000}},
                    {"name": "diagnosis", "type": "string", "description": "Last diagnosis (sensitive).",
                     "anonymize": {"op": "permute", "within": ["zip"]}},
                ],
                "privacy": {"quasi_identifiers": ["birth_date", "zip", "gender"], "sensitive": ["diagnosis"],
                            "k": 3, "l": 2, "max_suppression": 0.25},
            },
            {
                "name": "orders",
                "description": "An order placed by a customer.",
                "primary_key": {"column": "id", "on_conflict": "drop_all"},
                "foreign_keys": [{"column": "customer_id", "references_table": "customers",
                                  "references_column": "id"}],
                "columns": [
                    {"name": "id", "type": "integer", "description": "Order number.",
                     "empty": {"strategy": "drop"}},
                    {"name": "customer_id", "type": "integer", "description": "The customer who ordered."},
                    {"name": "amount", "type": "double", "description": "Order total.",
                     "empty": {"strategy": "drop"},
                     "range": {"min": 0, "max": 10000, "on_violation": "clamp"},
                     "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 2.0, "round": 2}},
                    {"name": "ordered_at", "type": "datetime", "description": "When the order was placed.",
                     "anonymize": {"op": "generalize", "granularity": "day"}},
                ],
            },
        ],
        "collection_protocol": [
            {"id": "customers_crm", "table": "customers", "priority": 2,
             "source": {"kind": "file", "path": "customers_crm.csv", "format": "csv"}},
            {"id": "customers_legacy", "table": "customers", "priority": 1,
             "mapping": {"id": "customer_no", "name": "full_name", "email": "mail", "birth_date": "born",
                         "zip": "postcode", "gender": "sex", "income": "yearly_income"},
             "source": {"kind": "sql", "connection": "sqlite:///customers_legacy.sqlite",
                        "query": "SELECT * FROM legacy_customers"}},
            {"id": "orders_web", "table": "orders", "priority": 2,
             "source": {"kind": "file", "path": "orders_web.jsonl", "format": "jsonl"}},
            {"id": "orders_store", "table": "orders", "priority": 1,
             "source": {"kind": "file", "path": "orders_store.csv", "format": "csv"}},
        ],
        "upload": {"destination": {"kind": "directory", "path": "../../var/customers-published"},
                   "rewrite_protocol": True},
    }


def write_module(directory: Path = HERE) -> Path:
    """Write module.json (Croissant JSON-LD) from the typed definition."""
    from privetl.engine.jsonld import module_to_document
    from privetl.engine.metadata import DataModule

    module = DataModule.model_validate(module_definition())
    path = directory / "module.json"
    path.write_text(json.dumps(module_to_document(module), indent=2, default=str) + "\n", encoding="utf-8")
    return path


def generate(directory: Path = HERE) -> None:
    """Write every data file of the sample module (same bytes on every run)."""
    rng = random.Random(SEED)
    crm, legacy = customers(rng)
    web, store = orders(rng)
    write_csv(directory / "customers_crm.csv", crm)
    write_sql(directory / "customers_legacy.sql", legacy)
    write_jsonl(directory / "orders_web.jsonl", web)
    write_csv(directory / "orders_store.csv", store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true", help="also build customers_legacy.sqlite")
    parser.add_argument("--no-module", action="store_true", help="do not rewrite module.json")
    args = parser.parse_args(argv)
    generate()
    if not args.no_module:
        write_module()
    if args.sqlite:
        build_sqlite()
    print(f"sample module written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
