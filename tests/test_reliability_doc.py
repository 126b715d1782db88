"""docs/reliability.md's kill-point tables name tests that exist: a row whose test is renamed or gone fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "reliability.md").read_text()
TESTS = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))


def table_rows() -> list[str]:
    section = DOC[DOC.index("## Kill points"):DOC.index("## Chaos soak")]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| kill point")
            and not line.startswith("|---")]


def test_every_kill_point_row_names_a_test_that_exists():
    rows = table_rows()
    assert len(rows) >= 10, rows  # the flatten's five points and the five of entries, stops and the guard
    for row in rows:
        named = row.rstrip(" |").rsplit("|", 1)[-1]
        functions = re.findall(r"`(test_\w+)`", named)
        ids = re.findall(r"`\*-([\w-]+)`", named)
        assert functions or ids, f"a kill point without its test: {row}"
        for name in functions:
            assert re.search(rf"^def {name}\(", TESTS, re.M), f"{name} is not a test any more"
        for point in ids:
            assert f'"{point}"' in TESTS, f"no kill point {point!r} in the tests"


def test_every_row_of_the_orders_racing_a_press_table_names_a_test_that_exists():
    section = DOC[DOC.index("## Orders racing a press"):DOC.index("## Out of scope (freqtrade)")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| interleaving")]
    assert len(rows) >= 8, rows
    for row in rows:
        names = re.findall(r"`(test_\w+)`", row.rstrip(" |").rsplit("|", 1)[-1])
        assert names, f"an interleaving without its test: {row}"
        for name in names:
            assert re.search(rf"^def {name}\(", TESTS, re.M), f"{name} is not a test any more"
