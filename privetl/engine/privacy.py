"""Privacy verification (feature 7): measure what the output promises, enforce k and l.

For a table's declared quasi-identifiers (QIs) and sensitive attributes, on the data about
to be published (after anonymization):

- **k-anonymity**: the smallest equivalence class (records sharing all QI values; an empty
  value is a value like any other);
- **l-diversity** (distinct l-diversity): per sensitive attribute, the fewest distinct
  values in a class; the reported ``l`` is the minimum over the attributes;
- **t-closeness**: per sensitive attribute, the largest Earth Mover's Distance between a
  class's value distribution and the whole table's (Li, Li & Venkatasubramanian 2007, §4.2):
  the ordered ground distance for numbers and dates, the equal one (half the L1 distance)
  otherwise; the reported ``t`` is the maximum;
- **re-identification risk** (prosecutor model): the largest risk ``1/k``, the average
  (classes / records), and the fraction of records in classes smaller than the target k.

``enforce_and_measure`` first suppresses (drops) every record of a class that is smaller
than ``k`` or has fewer than ``l`` distinct values of a sensitive attribute. Dropping whole
classes never changes another class, so one pass meets both targets. When that would drop
more than ``max_suppression`` of the records, or ``t`` is still above its target, the run
fails with ``PrivacyTargetNotMet`` and nothing is published.

Because suppression removes whole classes, the output's classes are exactly the kept rows
of the class statistics: everything is measured from one aggregate over the input (plus one
per sensitive attribute for t-closeness), never by reading the output again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.backends import Backend
from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.metadata import ColumnType, PrivacyTargets, Table

_SIZE = "_privetl_class_size"
_RECORDS = "_privetl_class_records"
RECORDS_KEPT_LIMIT = 64
"""Most record keys the class statistics keep per class (``k - 1``, see ``enforce``)."""
TOLERANCE = 1e-12
"""Slack on the entropy comparison (a class of l equally frequent values has entropy ln l)."""


@dataclass
class PrivacyReport:
    """The measures of one published table, before and after enforcement."""

    quasi_identifiers: list[str]
    sensitive: list[str]
    records_in: int
    records_suppressed: int
    records_out: int
    classes: int
    k: int | None
    l: int | None  # noqa: E741
    t: float | None
    max_risk: float | None
    average_risk: float | None
    records_at_risk: float | None
    k_before: int | None
    targets: dict[str, Any] = field(default_factory=dict)
    per_attribute: dict[str, dict[str, Any]] = field(default_factory=dict)
    entropy_l: float | None = None
    """Entropy l-diversity, exactly: exp of the least class entropy of a sensitive attribute
    (distinct values in a class with every value equally frequent give exactly that number)."""
    recursive_c: float | None = None
    """Recursive (c, l)-diversity: the least c a class would need, the largest r_1 / (r_l + ... + r_m)
    (None without a recursive target)."""
    search: dict[str, Any] | None = None
    """What the generalization search chose and how (``generalization.LevelChoice.report``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, scalars first (the run summary prints those)."""
        return asdict(self)


def _keys(expr: ir.Table, qis: list[str]) -> list[ir.Value]:
    """QI columns as grouping keys where null is a value (engines group nulls together)."""
    return [expr[q] for q in qis]


def _join_on_qis(left: ir.Table, right: ir.Table, qis: list[str]) -> list[ir.BooleanValue]:
    """Null-safe equality on the QIs (a class with an empty QI value is still a class)."""
    return [left[q].identical_to(right[q]) for q in qis]


@dataclass(frozen=True)
class Enforced:
    """What enforcement produced: the table to publish, its measures, and the records it
    suppressed (None when none was): a table that references this one drops its records
    pointing at those."""

    table: ir.Table
    report: PrivacyReport
    suppressed: ir.Table | None


def enforce_and_measure(backend: Backend, expr: ir.Table, table: Table) -> tuple[ir.Table, PrivacyReport]:
    """Suppress records to meet k and l, verify t, measure everything; see the module doc."""
    enforced = enforce(backend, expr, table)
    return enforced.table, enforced.report


def enforce(backend: Backend, expr: ir.Table, table: Table, *, record: str | None = None) -> Enforced:
    """``enforce_and_measure``, also returning the suppressed records.

    ``record`` names a column of ``expr`` whose values identify its records uniquely (a
    cleaned primary key). The suppressed records are then found once and stored by it — at
    most ``max_suppression`` of the table, with the primary key for the tables that
    reference this one — and removed by a narrow anti-join on it, instead of every later
    read of the table recomputing the generalized quasi-identifiers to join them with the
    small classes (bench, 10M rows: ~0.6 s of the publish). Without it the suppressed
    records stay a lazy expression.
    """
    targets = table.privacy
    if targets is None:
        raise ValueError(f"table {table.name!r} declares no privacy targets")
    missing = [c for c in [*targets.quasi_identifiers, *targets.sensitive] if c not in expr.columns]
    if missing:
        raise PrivacyTargetNotMet(
            f"table {table.name!r}: privacy columns {missing} are not in the published table"
        )
    qis = list(targets.quasi_identifiers)
    sensitive = list(targets.sensitive)
    key = None if record is None else (table.primary_key.column if table.primary_key is not None else record)
    cap = _records_kept_per_class(table, targets, record)
    smallest = None if cap is None else backend.smallest(expr[record], cap)
    stats = backend.materialize(
        _class_stats(expr, qis, sensitive, targets, records=smallest), f"privetl_privacy_{table.name}"
    )
    bad = _failing(stats, targets)
    row = _one_row(
        backend,
        stats.aggregate(
            n=stats[_SIZE].sum(),
            k=stats[_SIZE].min(),
            suppressed=stats[_SIZE].sum(where=bad),
            largest=stats[_SIZE].max(where=bad),
        ),
    )
    records_in = int(row["n"] or 0)
    k_before = None if row["k"] is None else int(row["k"])
    suppressed = int(row["suppressed"] or 0)
    allowed = int(targets.max_suppression * records_in)
    if suppressed > allowed:
        raise PrivacyTargetNotMet(
            f"table {table.name!r}: meeting {_target_text(targets)} on quasi-identifiers {qis} needs "
            f"{suppressed} of {records_in} record(s) suppressed ({_pct(suppressed, records_in)}), above "
            f"max_suppression {targets.max_suppression:.2%} ({allowed} record(s)); measured k = {k_before}. "
            "Generalize the quasi-identifiers more, or raise max_suppression"
        )
    kept_classes = stats.filter(~bad)
    removed: ir.Table | None = None
    if suppressed:
        small = stats.filter(bad).select(*qis)
        removed = expr.semi_join(small, _join_on_qis(expr, small, qis))
        if record is not None and key is not None:
            if cap is not None and smallest is not None and int(row["largest"] or 0) <= cap:
                # every failing class is small enough that its records were kept by the
                # class statistics: no second pass over the table
                removed = _kept_records(stats.filter(bad), record, key, expr[key].type())
            else:
                removed = removed.select(*dict.fromkeys([record, key]))
            removed = backend.materialize(removed, f"privetl_suppressed_{table.name}")
            out = expr.anti_join(removed, expr[record] == removed[record])
        else:
            out = expr.anti_join(small, _join_on_qis(expr, small, qis))
    else:
        out = expr
    report = _report(backend, kept_classes, expr, targets)
    report.records_in = records_in
    report.records_suppressed = suppressed
    report.k_before = k_before
    if targets.t is not None and report.t is not None and report.t > targets.t + 1e-12:
        raise PrivacyTargetNotMet(
            f"table {table.name!r}: t-closeness {report.t:.4f} is above the target t = {targets.t} "
            "(suppression cannot lower it; generalize the quasi-identifiers more)"
        )
    return Enforced(table=out, report=report, suppressed=removed)


def shortfalls(report: PrivacyReport, targets: PrivacyTargets) -> list[str]:
    """How measured data falls short of ``targets`` (empty: they hold), one phrase each,
    e.g. ``"k = 2 is below the target k = 3"``. An empty table holds every target."""
    if not report.records_out:
        return []
    found = []
    if targets.k is not None and (report.k is None or report.k < targets.k):
        found.append(f"k = {report.k} is below the target k = {targets.k}")
    if targets.l is not None and (report.l is None or report.l < targets.l):
        found.append(f"l = {report.l} is below the target l = {targets.l}")
    if targets.t is not None and report.t is not None and report.t > targets.t + 1e-12:
        found.append(f"t = {report.t:.4f} is above the target t = {targets.t}")
    if targets.entropy_l is not None and report.entropy_l is not None and report.entropy_l < targets.entropy_l * (1 - 1e-12):
        found.append(f"entropy l = {report.entropy_l:.6g} is below the target entropy l = {targets.entropy_l}")
    if targets.recursive is not None and report.recursive_c is not None and not report.recursive_c < targets.recursive.c:
        found.append(
            f"recursive (c, l): a class needs c = {report.recursive_c:.6g}, not below the target c = {targets.recursive.c} (l = {targets.recursive.l})"
        )
    return found


def _one_row(backend: Backend, expr: ir.Table) -> dict[str, Any]:
    """The single row of an aggregate, as a dict."""
    return backend.rows(expr)[0]


def _target_text(targets: PrivacyTargets) -> str:
    parts = []
    if targets.k is not None:
        parts.append(f"k = {targets.k}")
    if targets.l is not None:
        parts.append(f"l = {targets.l}")
    if targets.entropy_l is not None:
        parts.append(f"entropy l = {targets.entropy_l}")
    if targets.recursive is not None:
        parts.append(f"recursive (c, l) = ({targets.recursive.c}, {targets.recursive.l})")
    return " and ".join(parts) or "the targets"


def _pct(part: int, whole: int) -> str:
    return f"{(part / whole if whole else 0):.2%}"


def _class_stats(
    expr: ir.Table,
    qis: list[str],
    sensitive: list[str],
    targets: PrivacyTargets | None = None,
    *,
    records: ir.Value | None = None,
) -> ir.Table:
    """One row per equivalence class: its size and, per sensitive attribute, distinct values
    (and, for entropy or recursive diversity targets, its entropy and recursive ratio).
    ``records``: an aggregate of each class's smallest record keys (``Backend.smallest``),
    kept as column ``_privetl_class_records``."""
    aggs: dict[str, Any] = {_SIZE: expr.count()}
    if records is not None:
        aggs[_RECORDS] = records
    for s in sensitive:
        # an empty sensitive value counts as one more distinct value
        aggs[f"_l_{s}"] = expr[s].nunique() + expr[s].isnull().any().ifelse(1, 0)
    stats = expr.group_by(_keys(expr, qis)).aggregate(**aggs)
    if targets is None or (targets.entropy_l is None and targets.recursive is None):
        return stats
    for s in sensitive:
        diversity = _diversity(expr, qis, s, targets)
        stats = stats.join(diversity, _join_on_qis(stats, diversity, qis)).select(
            *[stats[c] for c in stats.columns], *[diversity[c] for c in diversity.columns if c not in qis]
        )
    return stats


def _diversity(expr: ir.Table, qis: list[str], s: str, targets: PrivacyTargets) -> ir.Table:
    """Per class, the entropy (nats) of ``s``'s values, ``ln n - Σ c ln c / n``, and the
    recursive ratio ``r_1 / (r_l + ... + r_m)`` (infinite when fewer than l values)."""
    cells = expr.group_by([*_keys(expr, qis), expr[s].name("_privetl_value")]).aggregate(_c=expr.count())
    count = cells._c.cast(dt.float64)
    aggs: dict[str, Any] = {}
    if targets.entropy_l is not None:
        aggs[f"_h_{s}"] = count.sum().ln() - (count * count.ln()).sum() / count.sum()
    if targets.recursive is not None:
        rank = ibis.row_number().over(ibis.window(group_by=[cells[q] for q in qis], order_by=[ibis.desc(cells._c)]))
        cells = cells.mutate(_rank=rank)
        count = cells._c.cast(dt.float64)
        tail = count.sum(where=cells._rank >= targets.recursive.l - 1)
        aggs[f"_rc_top_{s}"] = count.max()
        aggs[f"_rc_tail_{s}"] = tail.fill_null(0.0)
    return cells.group_by([cells[q] for q in qis]).aggregate(**aggs)


def _records_kept_per_class(table: Table, targets: PrivacyTargets, record: str | None) -> int | None:
    """How many record keys the class statistics keep per class so that the suppressed records
    need no second pass over the table: ``k - 1`` (a class failing k has fewer records), when
    the records are identified by ``record`` and their stored key is that same value (an
    integer primary key no rule changes, or no primary key). None where it does not apply or
    ``k - 1`` would be large (the kept keys are a per-class state of the aggregate)."""
    if record is None or targets.k is None or not 1 < targets.k <= RECORDS_KEPT_LIMIT + 1:
        return None
    pk = table.primary_key
    if pk is not None:
        column = table.column(pk.column)
        if column.type is not ColumnType.INTEGER or column.anonymize is not None:
            return None
    return targets.k - 1


def _kept_records(failing: ir.Table, record: str, key: str, key_type: dt.DataType) -> ir.Table:
    """The records of the ``failing`` classes, from the keys their statistics kept: the
    record column and the primary key (the same value, in the key's own type)."""
    keys = failing.select(_r=failing[_RECORDS].unnest())
    columns = {record: keys._r}
    if key != record:
        columns[key] = keys._r.cast(key_type)
    return keys.select(**columns)


def _failing(stats: ir.Table, targets: PrivacyTargets) -> ir.BooleanValue:
    """Whether a class fails a target that suppression enforces (k, l, entropy l, recursive)."""
    bad: ir.BooleanValue = ibis.literal(False)
    if targets.k is not None:
        bad = bad | (stats[_SIZE] < targets.k)
    for s in targets.sensitive:
        if targets.l is not None:
            bad = bad | (stats[f"_l_{s}"] < targets.l)
        if targets.entropy_l is not None:
            bad = bad | (stats[f"_h_{s}"] < math.log(targets.entropy_l) - TOLERANCE)
        if targets.recursive is not None:
            bad = bad | ~(stats[f"_rc_top_{s}"] < targets.recursive.c * stats[f"_rc_tail_{s}"])
    return bad


def measure(backend: Backend, expr: ir.Table, targets: PrivacyTargets) -> PrivacyReport:
    """k, l, t and the re-identification risks of ``expr`` (no enforcement)."""
    qis = list(targets.quasi_identifiers)
    stats = backend.materialize(
        _class_stats(expr, qis, list(targets.sensitive), targets), "privetl_privacy_measure"
    )
    return _report(backend, stats, expr, targets)


def _report(backend: Backend, stats: ir.Table, expr: ir.Table, targets: PrivacyTargets) -> PrivacyReport:
    """The measures of the records of ``expr`` in the classes of ``stats`` (its kept classes)."""
    qis = list(targets.quasi_identifiers)
    sensitive = list(targets.sensitive)
    summary_aggs: dict[str, Any] = {
        "n": stats[_SIZE].sum(),
        "classes": stats.count(),
        "k": stats[_SIZE].min(),
    }
    if targets.k is not None:
        summary_aggs["at_risk"] = stats[_SIZE].sum(where=stats[_SIZE] < targets.k)
    for s in sensitive:
        summary_aggs[f"l_{s}"] = stats[f"_l_{s}"].min()
        if targets.entropy_l is not None:
            summary_aggs[f"h_{s}"] = stats[f"_h_{s}"].min()
        if targets.recursive is not None:
            ratio = stats[f"_rc_top_{s}"] / stats[f"_rc_tail_{s}"].nullif(0.0)
            summary_aggs[f"rc_{s}"] = ratio.max()
            summary_aggs[f"rc_inf_{s}"] = (stats[f"_rc_tail_{s}"] == 0).any()
    row = _one_row(backend, stats.aggregate(**summary_aggs))
    n = int(row["n"] or 0)
    classes = int(row["classes"] or 0)
    k = None if row["k"] is None else int(row["k"])
    per_attribute: dict[str, dict[str, Any]] = {}
    for s in sensitive:
        distance, ground = _t_closeness(backend, expr, stats, qis, s, n) if n else (None, None)
        per_attribute[s] = {
            "l": None if row[f"l_{s}"] is None else int(row[f"l_{s}"]),
            "t": distance,
            "t_ground_distance": ground,
        }
    entropies = [math.exp(float(row[f"h_{s}"])) for s in sensitive if row.get(f"h_{s}") is not None]
    ratios = [
        math.inf if row.get(f"rc_inf_{s}") else float(row[f"rc_{s}"])
        for s in sensitive
        if row.get(f"rc_inf_{s}") or row.get(f"rc_{s}") is not None
    ]
    for s in sensitive:
        if row.get(f"h_{s}") is not None:
            per_attribute[s]["entropy_l"] = math.exp(float(row[f"h_{s}"]))
    ls = [v["l"] for v in per_attribute.values() if v["l"] is not None]
    ts = [v["t"] for v in per_attribute.values() if v["t"] is not None]
    at_risk = int(row.get("at_risk") or 0)
    return PrivacyReport(
        quasi_identifiers=qis,
        sensitive=sensitive,
        records_in=n,
        records_suppressed=0,
        records_out=n,
        classes=classes,
        k=k,
        l=min(ls) if ls else None,
        t=max(ts) if ts else None,
        max_risk=(1.0 / k) if k else None,
        average_risk=(classes / n) if n else None,
        records_at_risk=(at_risk / n) if (n and targets.k is not None) else None,
        k_before=k,
        targets={
            "k": targets.k,
            "l": targets.l,
            "t": targets.t,
            "max_suppression": targets.max_suppression,
            **({"entropy_l": targets.entropy_l} if targets.entropy_l is not None else {}),
            **({"recursive": targets.recursive.model_dump()} if targets.recursive is not None else {}),
        },
        per_attribute=per_attribute,
        entropy_l=min(entropies) if entropies else None,
        recursive_c=max(ratios) if ratios else None,
    )


ORDERED_CELLS_CAP = 20_000_000
"""Largest classes x distinct-values grid the ordered distance is computed over; beyond it
the equal distance is used and the report says so."""


def _t_closeness(
    backend: Backend, expr: ir.Table, classes: ir.Table, qis: list[str], s: str, n: int
) -> tuple[float, str]:
    """The t-closeness of attribute ``s`` over the records of ``expr`` in ``classes`` (``n``
    of them), and the ground distance used.

    Li, Li & Venkatasubramanian (2007) measure a class's distance to the whole table with the
    Earth Mover's Distance, whose ground distance follows the attribute: for a numeric or
    date attribute the *ordered* distance (§4.2: values ``v_1 < ... < v_m``, moving mass from
    ``v_i`` to ``v_j`` costs ``|i - j| / (m - 1)``; the EMD is
    ``1/(m-1) · Σ_i |Σ_{j<=i} (p_j - q_j)|``), for any other the *equal* distance (half the
    L1 distance). An empty value is ordered before every value.
    """
    value_type = expr[s].type()
    ordered = value_type.is_numeric() or value_type.is_temporal()
    marker = "\x00null"
    if ordered:
        value = expr[s]
    else:
        value = expr[s].cast(dt.string).fill_null(marker)
    t = expr.mutate(_privetl_v=value)
    cells = t.group_by([*[t[q] for q in qis], t._privetl_v]).aggregate(_c_n=lambda g: g.count())
    cells = cells.semi_join(classes, _join_on_qis(cells, classes, qis))
    cells = backend.materialize(cells, f"privetl_privacy_cells_{s}")
    overall = cells.group_by("_privetl_v").aggregate(_q_n=cells._c_n.sum())
    total = ibis.literal(n, type=dt.float64).cast(dt.float64)
    if ordered:
        overall = backend.materialize(overall, f"privetl_privacy_values_{s}")
        counts = backend.rows(overall.aggregate(m=overall.count()))[0]
        values = int(counts["m"] or 0)
        class_count = int(backend.rows(classes.aggregate(c=classes.count()))[0]["c"] or 0)
        if values <= 1:
            return 0.0, "ordered"
        if values * class_count <= ORDERED_CELLS_CAP:
            return _ordered_emd(backend, cells, overall, classes, qis, total, values), "ordered"
        ground = f"equal (the ordered distance needs {values * class_count:,} cells, above {ORDERED_CELLS_CAP:,})"
    else:
        ground = "equal"
    joined = cells.join(overall, cells._privetl_v.identical_to(overall._privetl_v))
    joined = joined.join(classes, _join_on_qis(joined, classes, qis)).select(
        *[joined[q] for q in qis], joined._c_n, joined._q_n, classes[_SIZE]
    )
    p = joined._c_n.cast(dt.float64) / joined[_SIZE].cast(dt.float64)
    q = joined._q_n.cast(dt.float64) / total
    per_class = joined.group_by([joined[q_] for q_ in qis]).aggregate(
        diff=(p - q).abs().sum(), covered=q.sum()
    )
    half = ibis.literal(0.5, type=dt.float64).cast(dt.float64)
    distance = (per_class.diff + (ibis.literal(1.0, type=dt.float64).cast(dt.float64) - per_class.covered)) * half
    result = _one_row(backend, per_class.aggregate(t=distance.max()))["t"]
    return float(result or 0.0), ground


def _ordered_emd(
    backend: Backend,
    cells: ir.Table,
    overall: ir.Table,
    classes: ir.Table,
    qis: list[str],
    total: ir.FloatingValue,
    values: int,
) -> float:
    """max over classes of the ordered-distance EMD, over the grid classes x values."""
    ranked = overall.mutate(
        _rank=ibis.row_number().over(order_by=[overall._privetl_v.isnull().ifelse(0, 1), overall._privetl_v])
    )
    grid = classes.select(*qis, _SIZE).cross_join(ranked)
    grid = grid.left_join(
        cells, [*_join_on_qis(grid, cells, qis), grid._privetl_v.identical_to(cells._privetl_v)]
    ).select(*[grid[q] for q in qis], grid[_SIZE], grid._rank, grid._q_n, cells._c_n)
    diff = grid._c_n.fill_null(0).cast(dt.float64) / grid[_SIZE].cast(dt.float64) - grid._q_n.cast(
        dt.float64
    ) / total
    window = ibis.cumulative_window(group_by=[grid[q] for q in qis], order_by=grid._rank)
    grid = grid.mutate(_cum=diff.sum().over(window))
    per_class = grid.group_by([grid[q] for q in qis]).aggregate(emd=grid._cum.abs().sum())
    scale = ibis.literal(float(values - 1), type=dt.float64).cast(dt.float64)
    result = _one_row(backend, per_class.aggregate(t=(per_class.emd / scale).max()))["t"]
    return float(result or 0.0)
