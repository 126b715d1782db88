"""The corpus of real BingX answers under ``tests/fixtures/bingx/`` (see its README): loading and lookup."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).parent / "fixtures" / "bingx"
KINDS = ("recorded", "documentation")


@dataclass(frozen=True)
class Entry:
    """One answer of the corpus: which endpoint file, its name, kind, provenance, request and body."""

    endpoint: str  # the file's stem: "order", "positions", ...
    name: str
    kind: str
    source: dict[str, Any]
    request: dict[str, Any]
    response: Any
    notes: str = ""

    @property
    def id(self) -> str:
        return f"{self.endpoint}/{self.name}"

    def body(self) -> str:
        """The answer as BingX's bytes would carry it (big integers kept exact)."""
        return json.dumps(self.response)

    @property
    def data(self) -> Any:
        return self.response.get("data") if isinstance(self.response, dict) else None


@cache
def files() -> dict[str, dict[str, Any]]:
    """Every endpoint file, by stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(CORPUS_DIR.glob("*.json"))}


def entries(endpoint: str | None = None, kind: str | None = None) -> list[Entry]:
    found = []
    for stem, content in files().items():
        if endpoint is not None and stem != endpoint:
            continue
        for raw in content["entries"]:
            if kind is None or raw["kind"] == kind:
                found.append(Entry(stem, raw["name"], raw["kind"], raw["source"], raw["request"], raw["response"],
                                   raw.get("notes", "")))
    return found


def entry(endpoint: str, name: str) -> Entry:
    for e in entries(endpoint):
        if e.name == name:
            return e
    raise KeyError(f"no corpus entry {endpoint}/{name}")


def kind_of(value: Any) -> str:
    """A JSON value's type as the shape comparison sees it (int and float are one kind: a JSON number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def shape_differences(real: Any, ours: Any, path: str = "", subset: bool = False) -> list[str]:
    """Where ``ours`` (the simulator's answer) differs in shape from ``real``: field names, kinds, nesting.

    Lists are compared by their first elements (both empty or one empty: nothing to compare). With ``subset``
    (a documentation example, which BingX abridges) fields ``ours`` adds are not differences.
    A difference reads ``<path>: <what>``, e.g. ``data.order.postOnly: missing`` or
    ``data.order.orderId: string in BingX's answer, number in ours``.
    """
    real_kind, our_kind = kind_of(real), kind_of(ours)
    if real_kind != our_kind:
        # null in the real answer says nothing of the kind BingX sends otherwise
        return [] if real_kind == "null" else [f"{path or '.'}: {real_kind} in BingX's answer, {our_kind} in ours"]
    if real_kind == "object":
        out = []
        for key in real:
            where = f"{path}.{key}" if path else key
            if key not in ours:
                out.append(f"{where}: missing")
            else:
                out += shape_differences(real[key], ours[key], where, subset)
        if not subset:
            out += [f"{path}.{key}: extra" if path else f"{key}: extra" for key in ours if key not in real]
        return out
    if real_kind == "list" and real and ours:
        return shape_differences(real[0], ours[0], f"{path}[]", subset)
    return []
