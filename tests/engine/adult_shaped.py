"""Data in the shape of UCI Adult as ARX uses it (generated, never downloaded): 30,162
records, 8 quasi-identifiers with ARX-like hierarchies (4,320 combinations of levels), and
the salary class as the sensitive attribute. Shared by the tests and the bench."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from privetl.engine.metadata import Column, ColumnType, Levels, PrivacyTargets, Search, Table

RECORDS = 30_162

EDUCATION = {
    # value: (level 1, level 2)
    "Preschool": ("Primary school", "Primary education"),
    "1st-4th": ("Primary school", "Primary education"),
    "5th-6th": ("Primary school", "Primary education"),
    "7th-8th": ("Lower secondary", "Primary education"),
    "9th": ("Lower secondary", "Primary education"),
    "10th": ("Upper secondary", "Secondary education"),
    "11th": ("Upper secondary", "Secondary education"),
    "12th": ("Upper secondary", "Secondary education"),
    "HS-grad": ("High school", "Secondary education"),
    "Some-college": ("Undergraduate", "Higher education"),
    "Assoc-voc": ("Professional", "Higher education"),
    "Assoc-acdm": ("Professional", "Higher education"),
    "Bachelors": ("Undergraduate", "Higher education"),
    "Masters": ("Graduate", "Higher education"),
    "Prof-school": ("Graduate", "Higher education"),
    "Doctorate": ("Graduate", "Higher education"),
}
EDUCATION_P = [0.002, 0.005, 0.01, 0.02, 0.015, 0.028, 0.035, 0.012, 0.326, 0.221, 0.043, 0.033, 0.167, 0.054, 0.018, 0.011]

MARITAL = {
    "Married-civ-spouse": "spouse present",
    "Married-AF-spouse": "spouse present",
    "Never-married": "spouse not present",
    "Divorced": "spouse not present",
    "Separated": "spouse not present",
    "Widowed": "spouse not present",
    "Married-spouse-absent": "spouse not present",
}
MARITAL_P = [0.466, 0.001, 0.322, 0.14, 0.031, 0.027, 0.013]

WORKCLASS = {
    "Private": "Non-Government",
    "Self-emp-not-inc": "Non-Government",
    "Self-emp-inc": "Non-Government",
    "Federal-gov": "Government",
    "Local-gov": "Government",
    "State-gov": "Government",
    "Without-pay": "Unemployed",
}
WORKCLASS_P = [0.739, 0.083, 0.036, 0.031, 0.069, 0.042, 0.0]

OCCUPATIONS = [
    "Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales", "Other-service",
    "Machine-op-inspct", "Transport-moving", "Handlers-cleaners", "Farming-fishing", "Tech-support",
    "Protective-serv", "Priv-house-serv", "Armed-Forces",
]
OCCUPATION_P = [0.134, 0.134, 0.132, 0.123, 0.119, 0.106, 0.065, 0.052, 0.045, 0.033, 0.03, 0.021, 0.005, 0.001]

RACES = ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"]
RACE_P = [0.86, 0.093, 0.03, 0.01, 0.007]

COUNTRIES = {
    "United-States": "North America", "Mexico": "North America", "Canada": "North America",
    "Puerto-Rico": "North America", "Outlying-US(Guam-USVI-etc)": "North America",
    "Cuba": "Central America", "Jamaica": "Central America", "Dominican-Republic": "Central America",
    "El-Salvador": "Central America", "Guatemala": "Central America", "Haiti": "Central America",
    "Honduras": "Central America", "Nicaragua": "Central America", "Trinadad&Tobago": "Central America",
    "Columbia": "South America", "Ecuador": "South America", "Peru": "South America",
    "Philippines": "Asia", "India": "Asia", "China": "Asia", "Japan": "Asia", "Vietnam": "Asia",
    "Taiwan": "Asia", "Iran": "Asia", "Thailand": "Asia", "Cambodia": "Asia", "Laos": "Asia",
    "Hong": "Asia", "South": "Asia",
    "Germany": "Europe", "England": "Europe", "Italy": "Europe", "Poland": "Europe", "Portugal": "Europe",
    "France": "Europe", "Greece": "Europe", "Ireland": "Europe", "Yugoslavia": "Europe",
    "Hungary": "Europe", "Scotland": "Europe", "Holand-Netherlands": "Europe",
}


def hierarchy(mapping: dict[str, Any]) -> list[list[str]]:
    """An ARX hierarchy table: [value, level 1, ..., '*'] per value."""
    rows = []
    for value, up in mapping.items():
        levels = list(up) if isinstance(up, tuple) else [up]
        rows.append([value, *levels, "*"])
    return rows


QUASI_IDENTIFIERS: dict[str, Levels] = {
    "age": Levels(bands=[5, 10, 20, "*"]),  # 5 levels
    "education": Levels(hierarchy=hierarchy(EDUCATION)),  # 4
    "marital_status": Levels(hierarchy=hierarchy(MARITAL)),  # 3
    "native_country": Levels(hierarchy=hierarchy(COUNTRIES)),  # 3
    "race": Levels(hierarchy=hierarchy({r: () for r in RACES})),  # 2
    "sex": Levels(hierarchy=hierarchy({"Male": (), "Female": ()})),  # 2
    "workclass": Levels(hierarchy=hierarchy(WORKCLASS)),  # 3
    "occupation": Levels(hierarchy=hierarchy({o: () for o in OCCUPATIONS})),  # 2
}
"""5 x 4 x 3 x 3 x 2 x 2 x 3 x 2 = 4,320 combinations."""


def adult_table(
    *,
    k: int | None = 5,
    max_suppression: float = 0.01,
    metric: str = "discernibility",
    quasi_identifiers: list[str] | None = None,
    **targets: Any,
) -> Table:
    """The Adult-shaped table's metadata with a search for ``metric`` (over all 8 QIs, or
    the ``quasi_identifiers`` named)."""
    qis = quasi_identifiers or list(QUASI_IDENTIFIERS)
    columns = [
        Column(name=name, type=ColumnType.INTEGER if name == "age" else ColumnType.STRING, anonymize=levels)
        for name, levels in QUASI_IDENTIFIERS.items()
        if name in qis
    ]
    columns.append(Column(name="salary", type=ColumnType.STRING))
    return Table(
        name="adult",
        columns=columns,
        privacy=PrivacyTargets(
            quasi_identifiers=qis,
            sensitive=["salary"] if (targets.get("l") or targets.get("t") or targets.get("entropy_l") or targets.get("recursive")) else [],
            k=k,
            max_suppression=max_suppression,
            search=Search(metric=metric),  # type: ignore[arg-type]
            **targets,
        ),
    )


def adult_records(records: int = RECORDS, seed: int = 2012) -> pa.Table:
    """Seeded records with Adult's value distributions (roughly; the shape is what counts)."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str], p: list[float]) -> np.ndarray[Any, Any]:
        weights = np.asarray(p, dtype=float)
        weights = np.where(weights > 0, weights, 0.0005)
        return rng.choice(np.asarray(values, dtype=object), size=records, p=weights / weights.sum())

    age = np.clip(np.round(rng.gamma(5.5, 7.0, size=records) + 12), 17, 90).astype(np.int64)
    countries = list(COUNTRIES)
    country_p = [0.912, 0.02] + [0.068 / (len(countries) - 2)] * (len(countries) - 2)
    salary = np.where(rng.random(records) < 0.249, ">50K", "<=50K")
    return pa.table(
        {
            "age": age,
            "education": pick(list(EDUCATION), EDUCATION_P),
            "marital_status": pick(list(MARITAL), MARITAL_P),
            "native_country": pick(countries, country_p),
            "race": pick(RACES, RACE_P),
            "sex": pick(["Male", "Female"], [0.675, 0.325]),
            "workclass": pick(list(WORKCLASS), WORKCLASS_P),
            "occupation": pick(OCCUPATIONS, OCCUPATION_P),
            "salary": salary.astype(object),
        }
    )
