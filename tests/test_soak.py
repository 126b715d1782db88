"""The soak at CI size: 150 open-then-flatten cycles with a random fault each, zero invariant violations.

The cycles, faults and invariants live in benchmarks/soak.py (which prints the same figures for longer
manual runs); this test runs it on the module's simulator and holds it to its invariants.
"""

from __future__ import annotations

import ccxt
import pytest

from bingx_closeall_plugin import FlattenReport
from bingx_closeall_plugin.simulator import BingXSimulator

from conftest import load_benchmark

CI_CYCLES, CI_SEED = 150, 6




soak = load_benchmark("soak")


@pytest.fixture(scope="module")
def soak_sim():
    with BingXSimulator(api_key=soak.KEY, api_secret=soak.SECRET) as sim:
        yield sim


def test_ci_size_soak_has_no_invariant_violation_and_injects_every_fault_kind(soak_sim):
    figures = soak.run(CI_CYCLES, CI_SEED, sim=soak_sim)

    assert figures.violations == []
    assert figures.cycles == CI_CYCLES
    assert set(figures.faults) == set(soak.FAULTS)  # every kind of the matrix injected at least once
    assert figures.cancel_faults > 0 and figures.opened_by_order > 0
    assert figures.ended_flat + figures.ended_reported_open + figures.ended_error == CI_CYCLES
    # Each kind needs a known number of close requests; their sum is what went out, nothing more.
    assert figures.close_requests == sum(soak.FAULTS[kind][1] * n for kind, n in figures.faults.items())


def test_the_invariants_catch_a_reversed_position_and_an_extra_close(soak_sim):
    """The checker is not vacuous: a flip and a surplus close request are both reported."""
    soak_sim.reset()
    soak_sim.seed_position("BTC-USDT", "LONG", 0.01)
    cycle = soak.Cycle(opened={"BTC-USDT": ("LONG", 0.01)}, kind="none", closes=0)
    soak_sim.account.place_order("BTC-USDT", "SELL", "MARKET", 0.03, validate=False)  # flips to SHORT 0.02
    soak_sim.clear_requests()

    flipped = soak.check(soak_sim, cycle, FlattenReport(None, remaining_positions=soak_sim.positions()), 0)
    report = soak.flatten(soak.client_for(soak_sim))
    surplus = soak.check(soak_sim, cycle, report, 1)

    assert any("reversed or over-closed" in v for v in flipped)
    assert any("is -0.02, opened LONG" in v for v in flipped)
    assert any("1 close requests, the fault needs 0" in v for v in surplus)


def test_cli_flags_of_the_benchmark(capsys):
    with pytest.raises(SystemExit) as stopped:
        soak.main(["--cycles", "0"])
    assert stopped.value.code == 2
    assert soak.main(["--cycles", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "cycles: 3 (seed 1)" in out and "invariant violations: 0" in out and "wall time:" in out


def test_the_invariants_catch_a_stop_cancelled_while_its_position_is_open(soak_sim):
    """The checker is not vacuous for protection either: the old cancel-all beside a refused close is caught."""
    soak_sim.reset()
    soak_sim.seed_position("BTC-USDT", "LONG", 0.01)
    stop = soak_sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0)
    cycle = soak.Cycle(opened={"BTC-USDT": ("LONG", 0.01)}, kind="refusal", closes=0, raises=True,
                       protective={str(stop): "BTC-USDT"})
    soak_sim.account.cancel_all()  # what a cancel-all sent beside a refused close did

    violations = soak.check(soak_sim, cycle, ccxt.PermissionDenied("bingx 80020: risk forbidden"), 0)

    assert any(f"take-profit {stop} was cancelled" in v for v in violations)
