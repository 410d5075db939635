"""Privacy that finds its own generalization: the engine chooses each quasi-identifier's level.

A table whose ``privetl:privacy`` has ``"search": {"metric": ...}`` and whose quasi-identifiers
(QIs) declare ``levels`` (``metadata.Levels``) is generalized to the combination of levels
that meets its targets within ``max_suppression`` with the least information loss — the true
optimum of the lattice (``lattice.py``). The data is read once:

1. **class statistics** (````choice.class_statistics``): one GROUP BY over the QIs and the sensitive
   attributes on the engine (DuckDB or Spark alike), stored there; its rows — one per
   distinct (QI values, sensitive values) with the record count — and, per QI, every level's
   label of each distinct value (computed on the stored statistics with the very
   expressions that publish them, ``hierarchy.py``) come into memory as NumPy codes;
2. **the search** (``lattice.Lattice.search``), in memory, never reading the data again;
3. **publishing**: ``choice.apply_levels`` generalizes the QIs to the chosen levels, and the
   privacy stage then suppresses and verifies as for hand-written generalizations.

A QI without ``levels`` keeps its value as the table has it (its own hand-written rule, if
any): a lattice dimension of one level.

The modules: ``rules`` (what a valid hierarchy is; pure Python, for ``validate``),
``hierarchy`` (levels as Ibis expressions), ``lattice`` (the in-memory search) and
``choice`` (the engine side: class statistics, choosing, applying the levels).
"""
