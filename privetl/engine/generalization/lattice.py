"""The generalization lattice, in memory: the search for the least information loss.

A *node* gives every quasi-identifier (QI) a level of its hierarchy; the lattice holds every
combination (Samarati 2001; ARX, Kohlmayer et al. 2012). Each node is evaluated from the
level-0 class statistics alone — one row per distinct (QI values, sensitive values) with its
record count, computed once on the engine — by mapping every QI's level-0 code to its code
at the node's level and re-aggregating those rows with NumPy: the cost of a node depends on
the number of classes, never on the number of records.

Evaluating a node means what the pipeline then does to the published table: every class
smaller than ``k`` or not l-diverse (distinct, entropy, recursive (c, l)) is suppressed; the
node meets the targets when that is at most ``max_suppression`` of the records and the kept
classes are t-close to the kept table (``privetl.engine.privacy`` measures the same way).

The search is exact: it returns the node of least ``(metric, sum of levels, levels)``
among those meeting the targets — the same as evaluating every node (``exhaustive``, what
the tests compare it with). It visits the nodes bottom-up, layer by layer (a layer: nodes of
equal level sum), and prunes with a lower bound of the metric that never decreases when a
level rises (Σ|E|² over all classes for discernibility, records / (classes·k) for the
average class size, the levels' own generalization intensity for precision): once a node's
bound is above the best node found, neither it nor any more general node can be better, and
none is evaluated. This is ARX's predictive tagging in the form that stays exact with
suppression: a node that meets the targets *without* suppressing anything has its metric
equal to its bound, so every more general node is pruned once it is the best. A node is
rolled up from an evaluated direct predecessor's (smaller) rows rather than from level 0.

When the only diversity target is distinct l (with k, or alone) on one sensitive attribute,
the search keeps at most l rows per class: a class with l or more sensitive values keeps l
of them, the others' records counted on one it keeps (``_capped``). A merged class then has
at least l values exactly when the true one has, and its size is exact, so every node meets
or fails the targets, suppresses and costs exactly as with all rows — on rows several times
fewer (10M records, 8 diagnoses, l = 2: 1.6M rows at level 0 instead of 3.3M). Only the
smallest distinct l measured is capped at l, so the chosen node is evaluated again from all
its rows for the report.

A node with no evaluated node below it is rolled up from an *atom* below it — the node
with one quasi-identifier at level 1 and the others at level 0, computed from level 0 once
— instead of from level 0 each time: at 10M records, admissions by year instead of by month
is 237k rows, not 3.3M. An atom is computed only where it is the node itself or has fewer
possible keys than twice the level-0 rows (else it would cost a level-0 pass and save none).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Literal

import numpy as np
import numpy.typing as npt

Metric = Literal["discernibility", "average_class_size", "precision"]
METRICS: tuple[Metric, ...] = ("discernibility", "average_class_size", "precision")

Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]

TOLERANCE = 1e-12
"""Slack on the entropy and t-closeness comparisons, as ``privacy.py`` uses for t."""

ORDERED_CELLS_CAP = 20_000_000
"""As ``privacy.ORDERED_CELLS_CAP``: above kept classes x values, the equal ground distance."""

_RADIX_LIMIT = 2**62

_GATHERED_ROWS = 1_000_000
"""Up to this many level-0 rows, each dimension's codes per level are kept once computed."""

_CACHE_NODES = 256
"""Evaluated nodes whose rows are kept to roll up from."""


@dataclass(frozen=True)
class Dimension:
    """One quasi-identifier: the code of each level-0 row and its value's code per level.

    ``levels[j][v]`` is the level-``j`` code of level-0 value ``v`` (codes dense from 0);
    ``levels[0]`` is the identity. Level ``j + 1`` must be a function of level ``j`` (every
    class of level ``j`` lies in one class of level ``j + 1``): the hierarchy's monotonicity,
    on which the pruning rests (``Lattice`` checks it).
    """

    name: str
    codes: Int
    levels: tuple[Int, ...]
    names: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        """Levels above level 0."""
        return len(self.levels) - 1


@dataclass(frozen=True)
class SensitiveAttribute:
    """One sensitive attribute: each level-0 row's value code, and whether its values are
    ordered (numbers and dates: the ordered ground distance of t-closeness, with ``rank``
    the position of each code in value order, an empty value first)."""

    name: str
    codes: Int
    rank: Int | None = None


@dataclass(frozen=True)
class Targets:
    """The privacy targets a node must meet (see ``metadata.PrivacyTargets``)."""

    k: int | None = None
    l: int | None = None  # noqa: E741
    entropy_l: float | None = None
    recursive: tuple[float, int] | None = None
    t: float | None = None
    max_suppression: float = 0.0

    @property
    def monotone_with_suppression(self) -> bool:
        """k and distinct l: a node meeting them within the suppression limit has every
        more general node meet them too (entropy, recursive diversity and t, measured
        after suppression, do not promise that)."""
        return self.entropy_l is None and self.recursive is None and self.t is None


@dataclass(frozen=True)
class Evaluation:
    """What the pipeline would publish at one node, and its information loss."""

    levels: tuple[int, ...]
    satisfied: bool
    suppressed: int
    classes: int
    """Classes kept (published)."""
    metric: float
    lower_bound: float
    k: int | None
    """Smallest kept class."""
    l: int | None  # noqa: E741
    entropy_l: float | None
    t: float | None

    @property
    def order(self) -> tuple[float, int, tuple[int, ...]]:
        """The search's total order: least metric, then least generalization."""
        return (self.metric, sum(self.levels), self.levels)


@dataclass
class SearchResult:
    """The chosen node (None when no node meets the targets) and how the search went."""

    best: Evaluation | None
    metric: Metric
    nodes: int
    evaluated: int
    pruned: int
    seconds: float
    dimensions: list[str] = field(default_factory=list)


@dataclass
class _Rows:
    """A node's rows: sorted unique keys (QI key x sensitive combination) and counts."""

    keys: Int
    counts: Int


class Lattice:
    """The lattice of ``dimensions`` over the level-0 rows (``counts``), for ``targets``."""

    def __init__(
        self,
        counts: Int,
        dimensions: Sequence[Dimension],
        sensitive: Sequence[SensitiveAttribute] = (),
        *,
        targets: Targets,
        metric: Metric = "discernibility",
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        self.counts = np.asarray(counts, dtype=np.int64)
        self.dimensions = list(dimensions)
        self.sensitive = list(sensitive)
        self.targets = targets
        self.metric: Metric = metric
        self.records = int(self.counts.sum())
        self.allowed = int(targets.max_suppression * self.records)
        self.heights = tuple(d.height for d in self.dimensions)
        self._up = [self._up_maps(d) for d in self.dimensions]
        # codes per level of each dimension: a node's rows are keyed in the radix of its
        # own levels' code counts (sensitive combination lowest), so that keys stay small
        # up the lattice and group by counting instead of sorting
        self._level_cards = [[int(m.max(initial=-1)) + 1 for m in d.levels] for d in self.dimensions]
        self._compose = [self._composed(d) for d in range(len(self.dimensions))]
        self._identity = [
            np.array_equal(d.levels[0], np.arange(len(d.levels[0]))) for d in self.dimensions
        ]
        combos, inverse = _combinations([s.codes for s in self.sensitive], len(self.counts))
        self._combo = inverse
        self._combos = combos
        self._per_attribute = [
            np.asarray(s.codes, dtype=np.int64)[_first_of(inverse, combos)] if combos else np.zeros(0, np.int64)
            for s in self.sensitive
        ]
        self._radix = self._space(tuple(0 for _ in self.dimensions)) < _RADIX_LIMIT
        self._nodes: list[tuple[int, ...]] | None = None
        self._gathered: dict[tuple[int, int], Int] = {}
        # precision: level / height summed with a common denominator, so that bounds
        # and metrics compare exactly (an integer numerator over one denominator)
        heights = [h for h in self.heights if h > 0]
        self._lcm = math.lcm(*heights) if heights else 1
        self._qis = len(heights)
        capped = targets.entropy_l is None and targets.recursive is None and targets.t is None
        capped = capped and len(self.sensitive) == 1 and self._radix
        self._cap = max(targets.l or 1, 1) if capped else None
        """Rows kept per class while searching (see the module docstring); None: all."""

    # -- the lattice -------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of nodes."""
        return math.prod(h + 1 for h in self.heights)

    def nodes(self) -> list[tuple[int, ...]]:
        """Every node, layer by layer (level sum), lexicographic within a layer."""
        if self._nodes is None:
            self._nodes = [node for layer in range(sum(self.heights) + 1) for node in _layer(self.heights, layer)]
        return self._nodes

    # -- evaluating a node -------------------------------------------------------------------

    def _space(self, levels: tuple[int, ...]) -> int:
        """How many keys a node's radix can name."""
        return math.prod(max(c[level], 1) for c, level in zip(self._level_cards, levels, strict=True)) * max(self._combos, 1)

    def _strides(self, levels: tuple[int, ...]) -> list[int]:
        """Each dimension's place in the keys of node ``levels``."""
        strides, total = [], max(self._combos, 1)
        for cards, level in zip(reversed(self._level_cards), reversed(levels), strict=True):
            strides.append(total)
            total *= max(cards[level], 1)
        return list(reversed(strides))

    def rows_at(self, levels: tuple[int, ...]) -> _Rows:
        """The rows of ``levels`` computed from level 0."""
        if self._radix:
            key = self._combo.copy()
            scaled = np.empty_like(key)
            for d, (level, stride) in enumerate(zip(levels, self._strides(levels), strict=True)):
                key += np.multiply(self._codes_at(d, level), stride, out=scaled)
            return _grouped(key, self.counts, self._space(levels))
        # keys too wide for one int64: fold the codes pairwise, densifying each time
        key = np.zeros(len(self.counts), dtype=np.int64)
        for d, level in enumerate(levels):
            code = self._codes_at(d, level)
            key = np.unique(key * (int(code.max(initial=0)) + 1) + code, return_inverse=True)[1].reshape(-1).astype(np.int64)
        key = key * max(self._combos, 1) + self._combo
        return _grouped(key, self.counts, None)

    def _codes_at(self, d: int, level: int) -> Int:
        """The level-``level`` code of every level-0 row in dimension ``d`` (kept once asked)."""
        if level == 0 and self._identity[d]:
            return np.asarray(self.dimensions[d].codes, dtype=np.int64)
        codes = self._gathered.get((d, level))
        if codes is None:
            dimension = self.dimensions[d]
            codes = dimension.levels[level][dimension.codes]
            if len(codes) <= _GATHERED_ROWS:
                self._gathered[(d, level)] = codes
        return codes

    def raise_rows(self, rows: _Rows, source: tuple[int, ...], node: tuple[int, ...]) -> _Rows:
        """The rows of ``node`` from those of ``source``, a node below it (radix keys only).

        Only the digits from the first to the last raised quasi-identifier are decoded: the
        ones after them keep their places (the low part of the key), and the ones before
        them move as one number (the high part), their radix unchanged.
        """
        keys = rows.keys
        raised = [d for d in range(len(node)) if node[d] != source[d]]
        if not raised:
            return rows
        first, last = raised[0], raised[-1]
        strides_from, strides_to = self._strides(source), self._strides(node)
        key = keys % strides_from[last]  # the digits after the last raised one, as they are
        for d in range(first, last + 1):
            digit = (keys // strides_from[d]) % max(self._level_cards[d][source[d]], 1)
            if node[d] != source[d]:
                digit = self._compose[d][source[d]][node[d]][digit]
            key += digit * strides_to[d]
        if first > 0:
            above = strides_from[first] * max(self._level_cards[first][source[first]], 1)
            moved = strides_to[first] * max(self._level_cards[first][node[first]], 1)
            key += (keys // above) * moved
        return _grouped(key, rows.counts, self._space(node))

    def _capped(self, rows: _Rows) -> _Rows:
        """``rows`` with at most ``_cap`` rows (sensitive values) per class; the records of
        the rows left out are added to the class's first row, so class sizes stay exact."""
        assert self._cap is not None
        combos = max(self._combos, 1)
        first = _boundaries(rows.keys // combos)
        starts = np.flatnonzero(first)
        if len(starts) * self._cap >= len(rows.keys):
            return rows  # no class has more rows than the cap
        runs = np.diff(np.append(starts, len(first)))
        rank = np.arange(len(rows.keys), dtype=np.int64) - np.repeat(starts, runs)
        dropped = rank >= self._cap
        counts = rows.counts.copy()
        counts[starts] += np.add.reduceat(np.where(dropped, counts, 0), starts)
        kept = ~dropped
        return _Rows(keys=rows.keys[kept], counts=counts[kept])

    def evaluate(self, levels: tuple[int, ...], rows: _Rows | None = None) -> Evaluation:
        """The node ``levels``: suppression, the targets, the metric and its lower bound."""
        if rows is None:
            rows = self.rows_at(levels)
        combos = max(self._combos, 1)
        qi_key = rows.keys // combos
        starts = _starts(qi_key)
        sizes = np.add.reduceat(rows.counts, starts) if len(starts) else np.zeros(0, np.int64)
        row_class = np.cumsum(_boundaries(qi_key)) - 1 if self.sensitive else np.zeros(0, np.int64)
        targets = self.targets
        bad = np.zeros(len(sizes), dtype=bool)
        if targets.k is not None:
            bad |= sizes < targets.k
        cells_of = [self._cells(rows, row_class, a) for a in range(len(self.sensitive))]
        entropies: list[Float] = []
        distincts: list[Int] = []
        for cell_class, _, cell_count in cells_of:
            distinct = np.bincount(cell_class, minlength=len(sizes))
            if targets.l is not None:
                bad |= distinct < targets.l
            if targets.entropy_l is not None:
                entropy = _entropy(cell_class, cell_count, sizes)
                entropies.append(entropy)
                bad |= entropy < math.log(targets.entropy_l) - TOLERANCE
            if targets.recursive is not None:
                bad |= ~_recursive(cell_class, cell_count, len(sizes), *targets.recursive)
            distincts.append(distinct)
        suppressed = int(sizes[bad].sum())
        kept = ~bad
        classes = int(kept.sum())
        t_value: float | None = None
        satisfied = suppressed <= self.allowed
        if targets.t is not None and classes:
            t_value = max(
                _t_closeness(cell_class, cell_value, cell_count, kept, sizes, self.sensitive[a].rank)
                for a, (cell_class, cell_value, cell_count) in enumerate(cells_of)
            )
            if t_value > targets.t + TOLERANCE:
                satisfied = False
        metric, bound = self._loss(levels, sizes, kept, suppressed, classes)
        return Evaluation(
            levels=levels,
            satisfied=satisfied,
            suppressed=suppressed,
            classes=classes,
            metric=metric,
            lower_bound=bound,
            k=int(sizes[kept].min()) if classes else None,
            l=min(int(d[kept].min()) for d in distincts) if (classes and distincts) else None,
            entropy_l=min(float(math.exp(e[kept].min())) for e in entropies) if (classes and entropies) else None,
            t=t_value,
        )

    def _cells(self, rows: _Rows, row_class: Int, attribute: int) -> tuple[Int, Int, Int]:
        """(class, value, count) of one sensitive attribute at a node."""
        combos = max(self._combos, 1)
        value = self._per_attribute[attribute][rows.keys % combos]
        if len(self.sensitive) == 1:
            return row_class, value, rows.counts
        m = int(value.max(initial=0)) + 1
        grouped = _grouped(row_class * m + value, rows.counts, (int(row_class.max(initial=0)) + 1) * m)
        return grouped.keys // m, grouped.keys % m, grouped.counts

    def _loss(self, levels: tuple[int, ...], sizes: Int, kept: npt.NDArray[np.bool_], suppressed: int, classes: int) -> tuple[float, float]:
        """The metric at a node and its lower bound (which never decreases up the lattice)."""
        n = self.records
        if self.metric == "discernibility":
            all_squares = int((sizes * sizes).sum())
            kept_squares = int((sizes[kept] * sizes[kept]).sum())
            return float(kept_squares + suppressed * n), float(all_squares)
        if self.metric == "average_class_size":
            k = self.targets.k or 1
            effective = classes + (1 if suppressed else 0)
            return (n / (effective * k) if effective else 0.0), (n / (len(sizes) * k) if len(sizes) else 0.0)
        numerator = sum(
            level * (self._lcm // h) for level, h in zip(levels, self.heights, strict=True) if h > 0
        )
        denominator = self._qis * self._lcm
        if not denominator or not n:
            return 0.0, 0.0
        metric = ((n - suppressed) * numerator + suppressed * denominator) / (n * denominator)
        return metric, (n * numerator) / (n * denominator)

    # -- searching ---------------------------------------------------------------------------

    def search(self) -> SearchResult:
        """The optimum, exactly (see the module docstring)."""
        start = time.perf_counter()
        self._evaluations: dict[tuple[int, ...], Evaluation] = {}
        self._rows_cache: dict[tuple[int, ...], _Rows] = {}
        self._atoms: dict[tuple[int, ...], _Rows] = {}
        monotone = self.targets.monotone_with_suppression or self.allowed == 0
        nodes = self.nodes()
        self._index = {node: i for i, node in enumerate(nodes)}
        self._array = np.asarray(nodes, dtype=np.int64).reshape(len(nodes), len(self.heights))
        self._status = np.zeros(len(nodes), dtype=np.int8)  # 1 meets, -1 fails, 0 unknown
        self._bounds = np.full(len(nodes), -math.inf)  # lower bounds of the evaluated nodes
        best: Evaluation | None = None
        bound: dict[tuple[int, ...], float] = {}
        pruned: set[tuple[int, ...]] = set()
        for i, node in enumerate(nodes):
            parents = [node[:d] + (node[d] - 1,) + node[d + 1 :] for d in range(len(node)) if node[d] > 0]
            inherited = max((bound[p] for p in parents), default=-math.inf)
            if any(p in pruned for p in parents) or (best is not None and (inherited, sum(node), node) > best.order):
                pruned.add(node)
                bound[node] = inherited
                continue
            if monotone and self._status[i] == 0:
                best = self._binary_search(node, best)
            if monotone and self._status[i] < 0:
                # fails the targets (a more general node failed): no metric needed
                evaluated = self._evaluations.get(node)
                bound[node] = inherited if evaluated is None else max(inherited, evaluated.lower_bound)
                continue
            result = self._evaluate_near(node)
            bound[node] = max(result.lower_bound, inherited)
            if result.satisfied and (best is None or result.order < best.order):
                best = result
        if self._cap is not None and best is not None:
            best = self.evaluate(best.levels)  # the smallest distinct l, uncapped, for the report
        return SearchResult(
            best=best,
            metric=self.metric,
            nodes=self.size,
            evaluated=len(self._evaluations),
            pruned=self.size - len(self._evaluations),
            seconds=time.perf_counter() - start,
            dimensions=[d.name for d in self.dimensions],
        )

    def _binary_search(self, node: tuple[int, ...], best: Evaluation | None) -> Evaluation | None:
        """Tell whether ``node`` meets the (monotone) targets, and many nodes more, from few
        evaluations: FLASH's binary search along a path upwards from it (Kohlmayer et al.
        2012), each evaluated node tagging every more general node when it meets them and
        every less general one when it fails them (predictive tagging). Returns the best
        node known afterwards (the path's nodes that meet the targets are candidates too)."""
        heights = np.maximum(np.asarray(self.heights, dtype=np.float64), 1.0)
        path = [node]
        while True:
            here = path[-1]
            ups = [here[:d] + (here[d] + 1,) + here[d + 1 :] for d in range(len(here)) if here[d] < self.heights[d]]
            ups = [u for u in ups if self._status[self._index[u]] == 0]
            if not ups:
                break
            path.append(min(ups, key=lambda u: (float((np.asarray(u) / heights).max()), u)))
        low, high = 0, len(path) - 1
        while low <= high:
            middle = (low + high) // 2
            i = self._index[path[middle]]
            if self._status[i] == 0:
                here = self._array[i]
                result = self._evaluate_near(path[middle])
                if result.satisfied:
                    self._status[(self._array >= here).all(axis=1)] = 1
                    if best is None or result.order < best.order:
                        best = result
                else:
                    self._status[(self._array <= here).all(axis=1)] = -1
            if self._status[i] > 0:
                high = middle - 1
            else:
                low = middle + 1
        return best

    def _evaluate_near(self, node: tuple[int, ...]) -> Evaluation:
        """Evaluate ``node`` (once), rolled up from the evaluated node below it with the
        fewest rows (the capped level-0 rows, or level 0, when there is none)."""
        done = self._evaluations.get(node)
        if done is not None:
            return done
        rows = None
        if self._radix and self._rows_cache:
            cached = list(self._rows_cache)
            positions = np.fromiter((self._index[z] for z in cached), dtype=np.int64, count=len(cached))
            below = np.flatnonzero((self._array[positions] <= self._array[self._index[node]]).all(axis=1))
            if len(below):
                source = min((cached[i] for i in below), key=lambda z: len(self._rows_cache[z].keys))
                rows = self.raise_rows(self._rows_cache[source], source, node)
        atom = self._atom_below(node) if rows is None and self._radix else None
        if atom is not None:
            rows = self._atom_rows(atom)
            if atom != node:
                rows = self.raise_rows(rows, atom, node)
        if rows is None:
            rows = self.rows_at(node)
        result = self.evaluate(node, rows)
        self._evaluations[node] = result
        self._bounds[self._index[node]] = result.lower_bound
        self._rows_cache[node] = rows if self._cap is None else self._capped(rows)
        if len(self._rows_cache) > _CACHE_NODES:
            # keep the most general (smallest) ones: they serve the most nodes above them
            for old in sorted(self._rows_cache, key=lambda z: -len(self._rows_cache[z].keys))[: _CACHE_NODES // 4]:
                del self._rows_cache[old]
        return result

    def _atom_below(self, node: tuple[int, ...]) -> tuple[int, ...] | None:
        """The atom (one level-1 quasi-identifier) to roll ``node`` up from: one computed
        already, of fewest rows; else ``node`` itself if it is one; else the one of fewest
        possible keys, if they are fewer than twice the level-0 rows (an atom that merges
        little would cost a level-0 pass and save none). None: from level 0."""
        size = len(node)
        atoms = [tuple(int(e == d) for e in range(size)) for d in range(size) if node[d] > 0]
        if not atoms:
            return None
        computed = [a for a in atoms if a in self._atoms]
        if computed:
            return min(computed, key=lambda atom: (len(self._atoms[atom].keys), atom))
        if node in atoms:
            return node
        smallest = min(atoms, key=lambda atom: (self._space(atom), atom))
        return smallest if self._space(smallest) < 2 * len(self.counts) else None

    def _atom_rows(self, atom: tuple[int, ...]) -> _Rows:
        """An atom's rows (capped when the search caps), computed from level 0 once."""
        rows = self._atoms.get(atom)
        if rows is None:
            rows = self.rows_at(atom)
            if self._cap is not None:
                rows = self._capped(rows)
            self._atoms[atom] = rows
        return rows

    def exhaustive(self, *, roll_up: bool = False) -> SearchResult:
        """Every node evaluated: the reference the search is tested against. Each node's rows
        come from level 0, or with ``roll_up`` from a direct predecessor's (the same rows,
        faster on large lattices)."""
        start = time.perf_counter()
        best: Evaluation | None = None
        evaluated = 0
        previous: dict[tuple[int, ...], _Rows] = {}
        for layer in range(sum(self.heights) + 1):
            current: dict[tuple[int, ...], _Rows] = {}
            for node in _layer(self.heights, layer):
                parent = next((node[:i] + (node[i] - 1,) + node[i + 1 :] for i in range(len(node)) if node[i] > 0), None)
                if roll_up and self._radix and parent is not None:
                    rows = self.raise_rows(previous[parent], parent, node)
                else:
                    rows = self.rows_at(node)
                if roll_up:
                    current[node] = rows
                result = self.evaluate(node, rows)
                evaluated += 1
                if result.satisfied and (best is None or result.order < best.order):
                    best = result
            previous = current
        return SearchResult(
            best=best,
            metric=self.metric,
            nodes=self.size,
            evaluated=evaluated,
            pruned=0,
            seconds=time.perf_counter() - start,
            dimensions=[d.name for d in self.dimensions],
        )

    def _composed(self, d: int) -> list[list[Int]]:
        """``compose[a][b][c]``: the level-``b`` code of level-``a`` code ``c`` (a <= b)."""
        up = self._up[d]
        height = self.dimensions[d].height
        composed: list[list[Int]] = []
        for a in range(height + 1):
            row = [np.arange(self._level_cards[d][a], dtype=np.int64)]
            for b in range(a, height):
                row.append(up[b][row[-1]])
            composed.append([np.zeros(0, np.int64)] * a + row)
        return composed

    def _up_maps(self, dimension: Dimension) -> list[Int]:
        """``up[j][c]``: the level-``j + 1`` code of level-``j`` code ``c``; a hierarchy whose
        level ``j + 1`` splits a class of level ``j`` is refused (the search needs it)."""
        maps = []
        for j in range(dimension.height):
            lower = np.asarray(dimension.levels[j], dtype=np.int64)
            upper = np.asarray(dimension.levels[j + 1], dtype=np.int64)
            up = np.full(int(lower.max(initial=-1)) + 1, -1, dtype=np.int64)
            up[lower] = upper
            if not np.array_equal(up[lower], upper):
                name = dimension.names[j + 1] if len(dimension.names) > j + 1 else str(j + 1)
                raise ValueError(
                    f"quasi-identifier {dimension.name!r}: level {j + 1} ({name}) splits values that level {j} "
                    "puts together; each level must only merge the classes of the level before"
                )
            maps.append(up)
        return maps


def _layer(heights: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
    """Nodes whose levels sum to ``total``, lexicographic."""
    if not heights:
        if total == 0:
            yield ()
        return
    rest = sum(heights[1:])
    for first in range(max(0, total - rest), min(heights[0], total) + 1):
        for tail in _layer(heights[1:], total - first):
            yield (first, *tail)


def _grouped(key: Int, counts: Int, space: int | None) -> _Rows:
    """Rows with equal keys merged (counts added), keys sorted; by counting when the keys
    lie in a ``space`` not much larger than the rows, else by sorting."""
    if not len(key):
        return _Rows(keys=key, counts=counts)
    if space is not None and space <= max(8 * len(key), 1 << 16):
        total = np.bincount(key, weights=counts, minlength=space)
        present = np.flatnonzero(total)
        counts = total[present].astype(np.int64)
        return _Rows(keys=present.astype(np.int64, copy=False), counts=counts)
    bits = int(counts.max()).bit_length()
    if (space if space is not None else int(key.max()) + 1).bit_length() + bits <= 62:
        # one sort of key and count packed in an int64: several times faster than argsort
        packed = np.sort((key << bits) | counts)
        sorted_keys, sorted_counts = packed >> bits, packed & ((1 << bits) - 1)
    else:
        order = np.argsort(key)
        sorted_keys, sorted_counts = key[order], counts[order]
    starts = _starts(sorted_keys)
    return _Rows(keys=sorted_keys[starts], counts=np.add.reduceat(sorted_counts, starts))


def _boundaries(sorted_keys: Int) -> npt.NDArray[np.bool_]:
    """Whether each of sorted keys starts a run of equal keys."""
    first = np.empty(len(sorted_keys), dtype=bool)
    if len(sorted_keys):
        first[0] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return first


def _starts(sorted_keys: Int) -> Int:
    """Where each run of equal keys starts."""
    return np.flatnonzero(_boundaries(sorted_keys))


def _combinations(codes: Sequence[Int], rows: int) -> tuple[int, Int]:
    """Codes of the rows' combinations of sensitive values (0 for none) and how many codes
    there are: one attribute's own codes, or several folded pairwise and made dense."""
    if not codes:
        return 0, np.zeros(rows, dtype=np.int64)
    combined = np.asarray(codes[0], dtype=np.int64)
    for more in codes[1:]:
        code = np.asarray(more, dtype=np.int64)
        combined = np.unique(combined * (int(code.max(initial=0)) + 1) + code, return_inverse=True)[1].reshape(-1)
    return int(combined.max(initial=-1)) + 1, combined.astype(np.int64)


def _first_of(inverse: Int, combos: int) -> Int:
    """For each combination, the index of a row that has it."""
    first = np.zeros(combos, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return first


def _entropy(cell_class: Int, cell_count: Int, sizes: Int) -> Float:
    """Per class, the entropy (nats) of its sensitive values: ln n - Σ c ln c / n."""
    c = cell_count.astype(np.float64)
    terms = np.bincount(cell_class, weights=c * np.log(c), minlength=len(sizes))
    n = sizes.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy: Float = np.where(n > 0, np.log(np.maximum(n, 1)) - terms / np.maximum(n, 1), 0.0)
    return entropy


def _recursive(cell_class: Int, cell_count: Int, classes: int, c: float, l: int) -> npt.NDArray[np.bool_]:  # noqa: E741
    """Per class, recursive (c, l)-diversity: r_1 < c (r_l + ... + r_m)."""
    order = np.lexsort((-cell_count, cell_class))
    klass, count = cell_class[order], cell_count[order]
    starts = _starts(klass)
    rank = np.arange(len(klass)) - np.repeat(starts, np.diff(np.append(starts, len(klass))))
    top = np.zeros(classes, dtype=np.int64)
    top[klass[starts]] = count[starts]
    tail = np.bincount(klass[rank >= l - 1], weights=count[rank >= l - 1].astype(np.float64), minlength=classes)
    ok: npt.NDArray[np.bool_] = top < c * tail
    return ok


def _t_closeness(
    cell_class: Int,
    cell_value: Int,
    cell_count: Int,
    kept: npt.NDArray[np.bool_],
    sizes: Int,
    rank: Int | None,
) -> float:
    """The largest EMD of a kept class to the kept records' distribution (as privacy.py)."""
    keep = kept[cell_class]
    klass, value, count = cell_class[keep], cell_value[keep], cell_count[keep].astype(np.float64)
    n = float(count.sum())
    values, dense = np.unique(value, return_inverse=True)
    m = len(values)
    kept_index = np.cumsum(kept) - 1
    klass = kept_index[klass]
    classes = int(kept.sum())
    size = sizes[kept].astype(np.float64)
    q = np.bincount(dense, weights=count, minlength=m) / n
    p = count / size[klass]
    if rank is not None and m <= 1:
        return 0.0
    if rank is not None and m * classes <= ORDERED_CELLS_CAP:
        order = np.argsort(np.asarray(rank)[values], kind="stable")
        position = np.empty(m, dtype=np.int64)
        position[order] = np.arange(m)
        grid = np.zeros((classes, m), dtype=np.float64)
        np.add.at(grid, (klass, position[dense]), p)
        grid -= q[order][None, :]
        emd = np.abs(np.cumsum(grid, axis=1)).sum(axis=1) / (m - 1)
        return float(emd.max(initial=0.0))
    diff = np.bincount(klass, weights=np.abs(p - q[dense]), minlength=classes)
    covered = np.bincount(klass, weights=q[dense], minlength=classes)
    return float(((diff + (1.0 - covered)) * 0.5).max(initial=0.0))


def every_node(heights: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every node of a lattice of these heights (for tests and the bench)."""
    return product(*(range(h + 1) for h in heights))
