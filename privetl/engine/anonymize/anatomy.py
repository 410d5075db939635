"""Anatomization (Xiao & Tao, "Anatomy: simple and effective privacy preservation", VLDB 2006).

A table is published as two: the quasi-identifier table (QIT: the quasi-identifiers plus a
group id) and the sensitive table (ST: group id, sensitive value, count). A
reader can link a record to its group, and the group to a multiset of at least ``l``
distinct sensitive values — never a record to its own value.

Xiao & Tao's group-creation step repeatedly takes one record from each of the ``l`` largest
remaining sensitive-value buckets. We compute an l-diverse partition of the same kind with
set operations (so it runs on every engine, at any size): with ``n`` records and
``g = floor(n / l)`` groups, order the records by (frequency of their sensitive value,
descending; the value; a keyed hash) and put the i-th record in group ``i mod g``. A value's
records are consecutive and, by the eligibility condition (no value on more than ``n / l``
records, the same condition Xiao & Tao require), there are at most ``g`` of them, so they
land in distinct groups: every group holds at least ``l`` records whose sensitive values are
pairwise distinct. When the condition fails, no l-diverse anatomy exists and the run fails.
The keyed hash keeps the order of records within a value secret, so group membership cannot
be predicted from the input order.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.anonymize.seeded import SeedKey, keyed_hash
from privetl.engine.backends import Backend
from privetl.engine.croissant import ANATOMY_COUNT, ANATOMY_GROUP
from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.metadata import Anatomize


def anatomize(
    backend: Backend,
    expr: ir.Table,
    rule: Anatomize,
    *,
    table_name: str,
    key: SeedKey,
    record: ir.IntegerValue,
) -> dict[str, ir.Table]:
    """``{<t>_qit, <t>_st}`` for ``expr``; raises ``PrivacyTargetNotMet`` when no l-diverse
    anatomy exists (a sensitive value on more than n/l records, or fewer than l records).

    The QIT holds the declared quasi-identifiers and the group id, as the version's
    Croissant metadata says; the table's other columns are not published."""
    s = rule.sensitive
    n = int(backend.count(expr))
    if n == 0:
        qit = expr.select(*rule.quasi_identifiers).mutate(
            **{ANATOMY_GROUP: ibis.literal(0, type=dt.int64)}
        ).limit(0)
        st = expr.select(
            ibis.literal(0, type=dt.int64).name(ANATOMY_GROUP), expr[s], ibis.literal(0, type=dt.int64).name(ANATOMY_COUNT)
        ).limit(0)
        return {f"{table_name}_qit": qit, f"{table_name}_st": st}
    groups = n // rule.l
    freq = expr.group_by(expr[s].name("_privetl_value")).aggregate(_privetl_freq=lambda t: t.count())
    top = backend.rows(freq.order_by(ibis.desc("_privetl_freq")).limit(1))
    most = int(top[0]["_privetl_freq"]) if top else 0
    if groups == 0 or most > groups:
        raise PrivacyTargetNotMet(
            f"table {table_name!r}: no {rule.l}-diverse anatomy exists: {n} record(s) make at most "
            f"{groups} group(s), and the most frequent value of {s!r} is on {most} record(s) "
            f"(an anatomy needs every value on at most n/l = {groups} records)"
        )
    t = expr.mutate(_privetl_rec=record, _privetl_value=expr[s])
    t = t.left_join(freq, t._privetl_value.identical_to(freq._privetl_value)).select(
        *expr.columns, "_privetl_rec", "_privetl_freq"
    )
    t = t.mutate(_privetl_order=keyed_hash(key, t._privetl_rec, s, "anatomy"))
    position = ibis.row_number().over(
        ibis.window(order_by=[ibis.desc(t._privetl_freq), t[s], t._privetl_order, t._privetl_rec])
    )
    # Spark's ROW_NUMBER is a 32-bit INT that Ibis types int64 (so a plain cast is elided):
    # the round trip through int32 makes both engines publish a 64-bit group id.
    t = t.mutate(**{ANATOMY_GROUP: (position % groups).cast(dt.int32).cast(dt.int64)})
    # Row order is published too: records were numbered in sensitive-value order, so the QIT
    # is stored by (group, keyed hash), which says nothing about a record's value.
    qit = t.order_by([t[ANATOMY_GROUP], t._privetl_order, t._privetl_rec]).select(*rule.quasi_identifiers, ANATOMY_GROUP)
    st = t.group_by([ANATOMY_GROUP, s]).aggregate(**{ANATOMY_COUNT: lambda g: g.count().cast(dt.int64)})
    st = st.order_by([ANATOMY_GROUP, s]).select(ANATOMY_GROUP, s, ANATOMY_COUNT)
    return {f"{table_name}_qit": qit, f"{table_name}_st": st}


def verify_anatomy(backend: Backend, st: ir.Table, rule: Anatomize, *, table_name: str) -> dict[str, int]:
    """Measure each group's distinct sensitive values on the published ST; fail below ``l``."""
    per_group = st.group_by(ANATOMY_GROUP).aggregate(
        n_distinct=st[rule.sensitive].nunique() + st[rule.sensitive].isnull().any().ifelse(1, 0),
        records=st[ANATOMY_COUNT].sum(),
    )
    stats = backend.rows(
        per_group.aggregate(
            groups=per_group.count(),
            min_l=per_group.n_distinct.min(),
            min_size=per_group.records.min(),
        )
    )[0]
    measured = {
        "groups": int(stats["groups"] or 0),
        "l": int(stats["min_l"] or 0),
        "min_group_size": int(stats["min_size"] or 0),
    }
    if measured["groups"] and measured["l"] < rule.l:
        raise PrivacyTargetNotMet(
            f"table {table_name!r}: anatomy group with {measured['l']} distinct value(s) of "
            f"{rule.sensitive!r}, below l = {rule.l}"
        )
    return measured
