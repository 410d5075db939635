"""Every mistake in a data module document, each with its JSON path; and loading a module.

Why not just pydantic: it stops a model at its first failing validator and knows nothing of
cross references (a key naming an unknown column, a foreign key to a missing table, a cycle
of foreign keys, a script for an unknown table, a transformation's SQL reading a table the
module lacks: each transformation goes through the SQL sandbox, ``privetl.engine.sandbox``,
so a valid document is one the engine will run). ``check_document`` reads the document
(``jsonld.read_document``: structure), validates it as a ``DataModule`` (types; pydantic's
locations translated back to the document's paths) and then runs the cross-reference checks
below on what could be read, defensively, so that one mistake never hides another. When a
check and pydantic find the same spot, the check's message (which says what to do) is kept.

Why loading lives here and not in ``jsonld``: loading a module means checking it in full,
and the checks build on the JSON-LD reader. With ``load_document`` in ``jsonld`` the two
modules imported each other; here the dependency runs one way (``validate`` -> ``jsonld``),
and the single check that decides whether a document is valid also hands back the
``DataModule`` it built, so a run validates its document exactly once.
"""

from __future__ import annotations

import codecs
import copy
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from privetl.engine.errors import MetadataError, Problem, TransformationError
from privetl.engine.generalization.rules import levels_problems
from privetl.engine.jsonld import Loc, Reading, build_module, read_document
from privetl.engine.metadata import ColumnType, DataModule, Levels
from privetl.engine.sandbox import check_sql

_NUMERIC = {ColumnType.INTEGER.value, ColumnType.DOUBLE.value}
_TEMPORAL = {ColumnType.DATE.value, ColumnType.DATETIME.value}


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a document: every problem, and the module when there is none."""

    problems: list[Problem]
    module: DataModule | None
    """The ``DataModule`` the document describes; None exactly when ``problems`` is not empty."""


def check_document(doc: Any) -> Checked:
    """Check ``doc`` in full (structure, types, cross references) and build its module."""
    reading = read_document(doc)
    if not isinstance(doc, dict):
        return Checked(reading.problems, None)
    checks = _Checks(reading)
    checks.run()
    covered = {p.path for p in reading.problems} | {p.path for p in checks.problems}
    module, typing_problems = build_module(reading, checks.sanitized())
    typed = [p for p in typing_problems if p.path not in covered]
    seen: set[Problem] = set()
    result = []
    for problem in [*reading.problems, *typed, *checks.problems]:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return Checked(result, None if result else module)


def validate_document(doc: Any) -> list[Problem]:
    """Every problem of ``doc`` (structure, types, cross references); empty when it is valid."""
    return check_document(doc).problems


def load_document(path: Path) -> tuple[dict[str, Any], DataModule]:
    """Read, check and parse a document file, checking it once; ``MetadataError`` lists
    every mistake. A JSON syntax error is reported with its line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError([Problem("$", f"cannot read {path}: {exc}")]) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(
            [Problem("$", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
        ) from exc
    checked = check_document(doc)
    if checked.module is None:
        raise MetadataError(checked.problems)
    return doc, checked.module


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _castable(value: Any, column_type: str) -> bool:
    """Whether a rule's literal (fill value, range bound) fits a column type."""
    if column_type == ColumnType.INTEGER:
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if column_type == ColumnType.DOUBLE:
        return _is_number(value)
    if column_type == ColumnType.BOOLEAN:
        return isinstance(value, bool)
    if column_type == ColumnType.STRING:
        return isinstance(value, str)
    if isinstance(value, dt.datetime):
        return column_type == ColumnType.DATETIME
    if isinstance(value, dt.date):
        return True
    if not isinstance(value, str):
        return False
    try:
        (dt.datetime if column_type == ColumnType.DATETIME else dt.date).fromisoformat(value)
    except ValueError:
        return False
    return True


_EXPECTED = {
    "integer": "an integer",
    "double": "a number",
    "boolean": "true or false",
    "string": "a string",
    "date": 'an ISO date such as "2024-01-31"',
    "datetime": 'an ISO date-time such as "2024-01-31T12:00:00"',
}


class _Checks:
    """The cross-reference checks over ``reading.data`` (any part of it may be malformed)."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.data = reading.data
        self.problems: list[Problem] = []
        self.dropped_ranges: list[Loc] = []
        self.tables: dict[str, tuple[int, dict[str, Any]]] = {}
        self.columns: dict[str, dict[str, str]] = {}
        """table -> column -> type (only well-formed names and types)."""

    def report(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.reading.path(loc), message))

    def run(self) -> None:
        self.index_tables()
        for i, table in _dicts(self.data.get("tables")):
            self.check_table(i, table)
        self.check_foreign_keys()
        self.check_scripts()
        self.check_transformations()

    def sanitized(self) -> dict[str, Any]:
        """The data for pydantic without the ranges the checks already reported as mistyped.

        The model compares a range's bounds; bounds of different kinds (a number and a
        date) would make that comparison raise instead of report.
        """
        if not self.dropped_ranges:
            return self.data
        data = copy.deepcopy(self.data)
        for loc in self.dropped_ranges:
            _, i, _, j, _ = loc
            data["tables"][i]["columns"][j].pop("range", None)
        return data

    # -- tables and columns --------------------------------------------------------------------

    def index_tables(self) -> None:
        for i, table in _dicts(self.data.get("tables")):
            name = table.get("name")
            if not isinstance(name, str):
                continue
            if name in self.tables:
                first = self.reading.path(("tables", self.tables[name][0]))
                self.report(("tables", i, "name"), f"duplicate table {name!r} (also the record set at {first})")
                continue
            self.tables[name] = (i, table)
            columns: dict[str, str] = {}
            for j, column in _dicts(table.get("columns")):
                col = column.get("name")
                if not isinstance(col, str):
                    continue
                if col in columns:
                    self.report(("tables", i, "columns", j, "name"), f"duplicate column {col!r} in table {name!r}")
                    continue
                col_type = column.get("type")
                columns[col] = col_type if isinstance(col_type, str) else ""
            self.columns[name] = columns

    def column_names(self, table: Any) -> dict[str, str]:
        return self.columns.get(table, {}) if isinstance(table, str) else {}

    def check_table(self, i: int, table: dict[str, Any]) -> None:
        name = table.get("name") if isinstance(table.get("name"), str) else None
        columns = self.column_names(name) if name is not None and self.tables.get(name, (None,))[0] == i else {}
        loc: Loc = ("tables", i)
        primary = table.get("primary_key")
        if isinstance(primary, dict) and isinstance(primary.get("column"), str) and primary["column"] not in columns:
            self.report((*loc, "primary_key", "column"), self.unknown(name, primary["column"], "the key"))
        for j, column in _dicts(table.get("columns")):
            self.check_column((*loc, "columns", j), name, column, columns)
            if (
                isinstance(primary, dict)
                and primary.get("on_conflict") == "regenerate"
                and column.get("name") == primary.get("column")
                and isinstance(column.get("range"), dict)
                and column["range"].get("max") is not None
            ):
                self.report(
                    (*loc, "columns", j, "range"),
                    f"key {primary['column']!r} is regenerated on conflict (new keys above the largest one), "
                    "so it cannot also have a maximum: drop the range's max or choose another on_conflict",
                )
        self.check_column_list((*loc, "privacy", "quasi_identifiers"), table.get("privacy"), "quasi_identifiers", name, columns)
        privacy = table.get("privacy")
        if isinstance(privacy, dict):
            self.check_column_list((*loc, "privacy", "sensitive"), privacy, "sensitive", name, columns)
            qis = {q for _, q in _strings(privacy.get("quasi_identifiers"))}
            for s, sensitive in _strings(privacy.get("sensitive")):
                if sensitive in qis:
                    self.report(
                        (*loc, "privacy", "sensitive", s),
                        f"{sensitive!r} is both a quasi-identifier and a sensitive attribute; it can only be one",
                    )
            for target in ("l", "t", "entropy_l", "recursive"):
                if privacy.get(target) is not None and not privacy.get("sensitive"):
                    self.report((*loc, "privacy", target), f"target {target!r} is measured on sensitive attributes; list them in 'sensitive'")
        self.check_search(loc, table)
        anatomize = table.get("anatomize")
        if isinstance(anatomize, dict):
            self.check_column_list((*loc, "anatomize", "quasi_identifiers"), anatomize, "quasi_identifiers", name, columns)
            anatomy_sensitive = anatomize.get("sensitive")
            if isinstance(anatomy_sensitive, str):
                if anatomy_sensitive not in columns:
                    self.report((*loc, "anatomize", "sensitive"), self.unknown(name, anatomy_sensitive, "the sensitive column"))
                anatomy_qis = anatomize.get("quasi_identifiers")
                if isinstance(anatomy_qis, list) and anatomy_sensitive in anatomy_qis:
                    self.report(
                        (*loc, "anatomize", "sensitive"),
                        f"the sensitive column {anatomy_sensitive!r} is also a quasi-identifier; anatomization publishes "
                        "them in separate tables, so remove it from quasi_identifiers",
                    )
            if isinstance(name, str):
                for suffix in ("_qit", "_st"):
                    if f"{name}{suffix}" in self.tables:
                        self.report(
                            (*loc, "anatomize"),
                            f"anatomizing {name!r} publishes table {name + suffix!r}, which is already a table of this module",
                        )

    def check_column_list(self, loc: Loc, holder: Any, key: str, table: Any, columns: dict[str, str]) -> None:
        if not isinstance(holder, dict):
            return
        for k, column in _strings(holder.get(key)):
            if column not in columns:
                self.report((*loc, k), self.unknown(table, column, f"{key} entry"))

    def unknown(self, table: Any, column: Any, what: str) -> str:
        known = ", ".join(sorted(self.column_names(table))) or "none"
        return f"{what} names column {column!r}, which table {table!r} does not have (its columns: {known})"

    def check_column(self, loc: Loc, table: Any, column: dict[str, Any], columns: dict[str, str]) -> None:
        column_type = column.get("type")
        rule = column.get("range")
        if isinstance(rule, dict) and column_type not in _NUMERIC | _TEMPORAL:
            # Without a usable type the bounds cannot be checked; bounds of different kinds
            # would make the model's min <= max comparison raise, so pydantic skips them.
            kinds = {_is_number(rule.get(b)) for b in ("min", "max") if rule.get(b) is not None}
            if len(kinds) > 1:
                self.dropped_ranges.append(loc + ("range",))
        if not isinstance(column_type, str) or column_type not in _EXPECTED:
            return
        name = column.get("name")
        empty = column.get("empty")
        if isinstance(empty, dict) and empty.get("strategy") == "fill":
            if empty.get("value") is None:
                self.report((*loc, "empty"), "strategy 'fill' needs a 'value' to put into empty fields")
            elif not _castable(empty["value"], column_type):
                self.report((*loc, "empty", "value"), f"the fill value of {column_type} column {name!r} must be {_EXPECTED[column_type]}")
        rule = column.get("range")
        if isinstance(rule, dict):
            if column_type not in _NUMERIC | _TEMPORAL:
                self.report(
                    (*loc, "range"),
                    f"a range applies to numeric and date columns only; {name!r} is a {column_type} column — remove privetl:range",
                )
                self.dropped_ranges.append(loc + ("range",))
            else:
                bad = False
                for bound in ("min", "max"):
                    value = rule.get(bound)
                    if value is not None and not _castable(value, column_type):
                        bad = True
                        self.report((*loc, "range", bound), f"the {bound} of {column_type} column {name!r} must be {_EXPECTED[column_type]}")
                if bad:
                    self.dropped_ranges.append(loc + ("range",))
        op = column.get("anonymize")
        if isinstance(op, dict):
            self.check_anonymization((*loc, "anonymize"), name, column_type, op, columns)

    def check_anonymization(self, loc: Loc, name: Any, column_type: str, op: dict[str, Any], columns: dict[str, str]) -> None:
        kind = op.get("op")
        fits: dict[str, tuple[Callable[[str], bool], str]] = {
            "band": (lambda t: t in _NUMERIC, "numeric (integer, double)"),
            "granularity": (lambda t: t in _TEMPORAL, "date and datetime"),
            "truncate": (lambda t: t == ColumnType.STRING, "string"),
            "hierarchy": (lambda t: t in (ColumnType.STRING, ColumnType.INTEGER), "string and integer"),
        }
        if kind == "generalize":
            for key, (fit, allowed) in fits.items():
                if op.get(key) is not None and not fit(column_type):
                    self.report((*loc, key), f"generalize by {key} applies to {allowed} columns; {name!r} is a {column_type} column")
        elif kind == "perturb":
            if column_type not in _NUMERIC:
                self.report(loc, f"perturb (noise) applies to numeric columns; {name!r} is a {column_type} column")
        elif kind == "suppress":
            if op.get("keep") and column_type != ColumnType.STRING:
                self.report((*loc, "keep"), f"keep applies to string columns; {name!r} is a {column_type} column (omit keep)")
        elif kind == "pseudonymize":
            if column_type not in (ColumnType.STRING, ColumnType.INTEGER):
                self.report(loc, f"pseudonymize applies to identifiers, string and integer columns; {name!r} is a {column_type} column")
            elif op.get("keep_type") and column_type != ColumnType.INTEGER:
                self.report(
                    (*loc, "keep_type"),
                    f"keep_type gives integer tokens to integer columns; {name!r} is a {column_type} column, "
                    "whose tokens are text anyway (remove keep_type)",
                )
        elif kind == "levels":
            self.check_levels(loc, column_type, op)
        elif kind == "permute":
            for w, other in _strings(op.get("within")):
                if other not in columns:
                    self.report((*loc, "within", w), f"permute within names column {other!r}, which this table does not have")
                elif other == name:
                    self.report((*loc, "within", w), f"permuting {name!r} within groups of itself changes nothing; remove it from within")

    def check_levels(self, loc: Loc, column_type: str, op: dict[str, Any]) -> None:
        """A ``levels`` rule fits its column and is a hierarchy (each level merging whole
        classes of the one before), which the search's pruning relies on."""
        try:
            levels = Levels.model_validate(op)
        except ValidationError:
            return  # the structure check reports it
        for option, message in levels_problems(ColumnType(column_type), levels):
            self.report((*loc, option), message)

    def check_search(self, loc: Loc, table: dict[str, Any]) -> None:
        """Columns with ``levels`` are quasi-identifiers of a table whose privacy asks for a
        ``search``, and a search has levels to choose from."""
        privacy = table.get("privacy")
        search = privacy.get("search") if isinstance(privacy, dict) else None
        qis = {q for _, q in _strings(privacy.get("quasi_identifiers"))} if isinstance(privacy, dict) else set()
        with_levels = [
            (j, column.get("name"))
            for j, column in _dicts(table.get("columns"))
            if isinstance(column.get("anonymize"), dict) and column["anonymize"].get("op") == "levels"
        ]
        for j, name in with_levels:
            where = (*loc, "columns", j, "anonymize")
            if search is None:
                self.report(where, f"levels on {name!r} are chosen by a search: add \"search\": {{\"metric\": ...}} to the table's privacy")
            elif name not in qis:
                self.report(where, f"levels apply to quasi-identifiers; add {name!r} to the privacy's quasi_identifiers or use generalize")
            if table.get("anatomize") is not None:
                self.report(where, "an anatomized table publishes its quasi-identifiers as they are: remove the levels or the anatomize")
        if search is not None and not with_levels:
            self.report((*loc, "privacy", "search"), "the search chooses the levels of quasi-identifiers that declare levels; none does")

    # -- foreign keys --------------------------------------------------------------------------

    def check_foreign_keys(self) -> None:
        edges: dict[str, list[tuple[str, Loc]]] = {}
        for i, table in _dicts(self.data.get("tables")):
            name = table.get("name")
            for k, fk in _dicts(table.get("foreign_keys")):
                loc: Loc = ("tables", i, "foreign_keys", k)
                target, target_column = fk.get("references_table"), fk.get("references_column")
                if not isinstance(target, str) or target not in self.tables:
                    known = ", ".join(sorted(self.tables)) or "none"
                    self.report((*loc, "references_table"), f"foreign key to table {target!r}, which is not in this module (tables: {known})")
                    continue
                if not isinstance(target_column, str) or target_column not in self.columns[target]:
                    self.report((*loc, "references_column"), self.unknown(target, target_column, "the foreign key"))
                    continue
                own_column = fk.get("column")
                own = self.column_names(name).get(own_column) if isinstance(own_column, str) else None
                theirs = self.columns[target][target_column]
                if own and theirs and own != theirs:
                    self.report(
                        loc, f"foreign key {name}.{fk.get('column')} ({own}) references {target}.{target_column} ({theirs}); the types must match"
                    )
                self.check_pseudonymized_reference(loc, name, own_column, target, target_column)
                if isinstance(name, str):
                    edges.setdefault(name, []).append((target, loc))
        for cycle, loc in _cycles(edges):
            self.report(loc, "foreign keys form a cycle: " + " -> ".join(cycle) + "; tables are cleaned in dependency order, so break the cycle")

    def anonymization_of(self, table: Any, column: Any) -> dict[str, Any] | None:
        """The anonymize rule (as given) of ``table.column``, None without one."""
        entry = self.tables.get(table) if isinstance(table, str) else None
        for _, candidate in _dicts(entry[1].get("columns")) if entry else []:
            if candidate.get("name") == column and isinstance(candidate.get("anonymize"), dict):
                rule: dict[str, Any] = candidate["anonymize"]
                return rule
        return None

    def check_pseudonymized_reference(self, loc: Loc, table: Any, column: Any, target: str, target_column: str) -> None:
        """A foreign key and the column it references are pseudonymized alike, or neither is:
        else the published tokens no longer join (or the raw key leaks beside its tokens)."""
        own = self.anonymization_of(table, column)
        theirs = self.anonymization_of(target, target_column)
        own_pseudonym = own if own is not None and own.get("op") == "pseudonymize" else None
        their_pseudonym = theirs if theirs is not None and theirs.get("op") == "pseudonymize" else None
        if own_pseudonym is None and their_pseudonym is None:
            return
        if own_pseudonym is None or their_pseudonym is None:
            which = f"{target}.{target_column}" if own_pseudonym is None else f"{table}.{column}"
            other = f"{table}.{column}" if own_pseudonym is None else f"{target}.{target_column}"
            self.report(
                loc,
                f"{which} is pseudonymized but {other}, which joins it, is not: give both the same "
                'privetl:anonymize {"op": "pseudonymize", ...} so the published tokens still join',
            )
            return
        options = ("keep_type", "min", "max")
        if any(own_pseudonym.get(o) != their_pseudonym.get(o) for o in options):
            self.report(
                loc,
                f"{table}.{column} and {target}.{target_column} are pseudonymized with different options "
                f"({', '.join(options)}): the same value would get different tokens, so give both the same",
            )

    # -- scripts and transformations -----------------------------------------------------------

    def check_scripts(self) -> None:
        seen: dict[str, int] = {}
        scripted: set[str] = set()
        for s, script in _dicts(self.data.get("collection_protocol")):
            loc: Loc = ("collection_protocol", s)
            script_id = script.get("id")
            if isinstance(script_id, str):
                if script_id in seen:
                    self.report((*loc, "id"), f"duplicate script id {script_id!r} (also {self.reading.path(('collection_protocol', seen[script_id]))})")
                seen.setdefault(script_id, s)
            table = script.get("table")
            if not isinstance(table, str):
                continue
            scripted.add(table)
            if table not in self.tables:
                known = ", ".join(sorted(self.tables)) or "none"
                self.report((*loc, "table"), f"script for table {table!r}, which is not in this module (tables: {known})")
                continue
            mapping = script.get("mapping")
            if isinstance(mapping, dict):
                for column in mapping:
                    if column not in self.columns[table]:
                        self.report((*loc, "mapping", column), self.unknown(table, column, "the mapping"))
            absent = script.get("absent")
            for a, column in enumerate(absent if isinstance(absent, list) else []):
                if not isinstance(column, str):
                    continue
                if column not in self.columns[table]:
                    self.report((*loc, "absent", a), self.unknown(table, column, "absent"))
                elif isinstance(mapping, dict) and column in mapping:
                    self.report((*loc, "absent", a), f"column {column!r} is both mapped and declared absent; keep one")
            source = script.get("source")
            if isinstance(source, dict) and "csv" in source:
                if source.get("format") != "csv":
                    self.report((*loc, "source", "csv"), f"CSV options apply to format 'csv', not {source.get('format')!r}")
                options = source["csv"]
                encoding = options.get("encoding") if isinstance(options, dict) else None
                if isinstance(encoding, str):
                    try:
                        codecs.lookup(encoding)
                    except LookupError:
                        self.report((*loc, "source", "csv", "encoding"), f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)")
        produced = {
            t["target"] for _, t in _dicts(self.data.get("transformations"))
            if t.get("type") == "merge" and isinstance(t.get("target"), str)
        }
        for name, (i, _) in self.tables.items():
            if name not in scripted and name not in produced:
                self.report(
                    ("tables", i),
                    f"table {name!r} has no script in privetl:collectionProtocol (nor a merge transformation producing it)",
                )

    def check_transformations(self) -> None:
        names: dict[str, int] = {}
        for n, transformation in _dicts(self.data.get("transformations")):
            loc: Loc = ("transformations", n)
            name = transformation.get("name")
            if isinstance(name, str):
                if name in names:
                    self.report((*loc, "name"), f"duplicate transformation name {name!r}")
                names.setdefault(name, n)
            target = transformation.get("target")
            if isinstance(target, str) and target not in self.tables:
                known = ", ".join(sorted(self.tables)) or "none"
                self.report(
                    (*loc, "target"),
                    f"transformation target {target!r} is not a table of this module (tables: {known}); declare its "
                    "record set so its columns and types are known",
                )
            sql = transformation.get("sql")
            if isinstance(sql, str):
                try:
                    check_sql(name if isinstance(name, str) else f"#{n}", sql, set(self.tables))
                except TransformationError as exc:
                    self.report((*loc, "sql"), str(exc))


def _cycles(edges: dict[str, list[tuple[str, Loc]]]) -> list[tuple[list[str], Loc]]:
    """Each foreign-key cycle once, as table names from its first-declared table, with the
    location of the foreign key that leaves that table."""
    cycles: list[tuple[list[str], Loc]] = []
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[tuple[str, Loc | None]] = []

    def visit(node: str, via: Loc | None) -> None:
        state[node] = 1
        stack.append((node, via))
        for target, loc in edges.get(node, []):
            if state.get(target) == 1:
                start = next(n for n, (name, _) in enumerate(stack) if name == target)
                members = [name for name, _ in stack[start:]]
                if frozenset(members) not in reported:
                    reported.add(frozenset(members))
                    first_loc = stack[start + 1][1] if start + 1 < len(stack) else loc
                    cycles.append(([*members, target], first_loc or loc))
            elif state.get(target) is None:
                visit(target, loc)
        stack.pop()
        state[node] = 2

    for node in list(edges):
        if state.get(node) is None:
            visit(node, None)
    return cycles
