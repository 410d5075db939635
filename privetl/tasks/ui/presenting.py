"""How a task's page lays out what the selectors return: its script lists with the lists each
button posts, and Release's refusal as one problem a line, each linked to what to fix.

Nothing here decides anything: the lists are what the editor would get by moving or removing
one script (the service checks them), and the links are to the scripts and connections the
service's messages name (``privetl.tasks.compile`` quotes every id with ``repr``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.urls import reverse

from privetl.scripts.models import ScriptKind
from privetl.scripts.selectors import ScriptView
from privetl.tasks.compile import SLOTS
from privetl.tasks.selectors import TaskView

SLOT_LABELS = {
    "extraction_script_ids": "Extractors",
    "field_rule_script_ids": "Field rules",
    "anonymization_script_ids": "Anonymization rules",
    "transformation_script_ids": "Transformations (run in this order)",
    "uploading_script_id": "Uploader",
}


@dataclass(frozen=True)
class Listed:
    """A script in one of the task's lists, and the list each of its buttons would post."""

    id: str
    script: ScriptView | None
    up: list[str] | None
    down: list[str] | None
    without: list[str]


@dataclass(frozen=True)
class Slot:
    """One of the task's five script lists."""

    name: str
    label: str
    kind: str
    single: bool
    ids: list[str]
    listed: list[Listed]
    addable: list[ScriptView]


def slot_ids(task: TaskView, slot: str) -> list[str]:
    """A slot's script ids (the uploader's slot holds at most one)."""
    if slot == "uploading_script_id":
        return [task.uploading_script_id] if task.uploading_script_id else []
    return list(getattr(task, slot))


def _moved(ids: list[str], n: int, by: int) -> list[str] | None:
    m = n + by
    if not 0 <= m < len(ids):
        return None
    moved = list(ids)
    moved[n], moved[m] = moved[m], moved[n]
    return moved


def slots_of(task: TaskView, scripts: Mapping[str, ScriptView]) -> list[Slot]:
    """The task's lists in the order a run uses them, each with the scripts it could take."""
    slots = []
    for name, (kind, _) in SLOTS.items():
        ids = slot_ids(task, name)
        listed = [
            Listed(
                id=script_id,
                script=scripts.get(script_id),
                up=_moved(ids, n, -1),
                down=_moved(ids, n, 1),
                without=[i for i in ids if i != script_id],
            )
            for n, script_id in enumerate(ids)
        ]
        addable = [s for s in scripts.values() if s.kind == kind and s.id not in ids]
        slots.append(
            Slot(
                name=name,
                label=SLOT_LABELS[name],
                kind=ScriptKind(kind).value,
                single=name == "uploading_script_id",
                ids=ids,
                listed=listed,
                addable=addable,
            )
        )
    return slots


@dataclass(frozen=True)
class Problem:
    """One thing Release found wrong, with links to the scripts and connections it names."""

    text: str
    links: list[tuple[str, str]] = field(default_factory=list)
    """(label, URL) of each script or connection to fix."""


_SCRIPT = re.compile(r"\bscripts? '([^']+)'(?: and '([^']+)')?")
_CONNECTION = re.compile(r"\b(?:connection|module) '([^']+)'")


_MISSING = {
    "has no uploader": ("New uploader", ScriptKind.UPLOADER),
    "has no extractor": ("New extractor", ScriptKind.EXTRACTOR),
}


def problems_of(message: str, *, task_id: str) -> list[Problem]:
    """Release's refusal, one problem a line ("- ..." lines, or "; "-joined missing grants);
    a missing extractor or uploader links to the form that creates one for the task."""
    lines = [line[2:] for line in message.splitlines() if line.startswith("- ")]
    if not lines:
        lines = re.split(r"; (?=you need )", message)
    problems = []
    for line in lines:
        links: list[tuple[str, str]] = []
        for match in _SCRIPT.finditer(line):
            for script_id in filter(None, match.groups()):
                links.append((f"script {script_id}", reverse("ui-script-detail", args=[script_id])))
        for match in _CONNECTION.finditer(line):
            connection_id = match.group(1)
            links.append(
                (
                    f"connection {connection_id}",
                    reverse("ui-connection", args=[connection_id]),
                )
            )
        for words, (label, kind) in _MISSING.items():
            if words in line:
                url = reverse("ui-script-create", args=[kind.value])
                links.append((label, f"{url}?task_id={task_id}"))
        problems.append(Problem(text=line, links=list(dict.fromkeys(links))))
    return problems
