"""Many BingX accounts, each its own simulator with its own key pair, and a freqtrade-style config for each:
what an operator with sub-accounts passes as ``--account`` (the tests of many accounts, and benchmarks/scale.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bingx_closeall_plugin.simulator import BingXSimulator
from bingx_closeall_plugin.simulator.markets import linear_contracts

POSITIONS, ORDERS = 5, 2  # per account: 5 positions, a stop and an entry order resting


class Fleet:
    """``count`` simulators, started; ``stop()`` stops every one."""

    def __init__(self, count: int, latency_ms: float = 0) -> None:
        self.keys = [(f"fleet-key-{i:03d}-7c1e", f"fleet-secret-{i:03d}-b94d2a") for i in range(count)]
        self.sims: list[BingXSimulator] = []
        try:
            for key, secret in self.keys:
                self.sims.append(BingXSimulator(api_key=key, api_secret=secret, latency_ms=latency_ms).start())
        except BaseException:
            self.stop()
            raise

    def seed(self) -> None:
        """Every account reset to 5 positions, a stop-market (protective) and a limit entry order resting."""
        contracts = linear_contracts()[:POSITIONS]
        for sim in self.sims:
            sim.reset()
            for index, contract in enumerate(contracts):
                sim.seed_position(contract["symbol"], "LONG" if index % 2 == 0 else "SHORT",
                                  float(contract["tradeMinQuantity"]) * 10)
            first, second = contracts[0], contracts[1]
            sim.seed_order(first["symbol"], "SELL", "STOP_MARKET", float(first["tradeMinQuantity"]) * 10,
                           stop_price=float(sim.account.prices[first["symbol"]]) * 0.5)
            # an entry that would add to the short: cancelled at once, beside the close
            sim.seed_order(second["symbol"], "SELL", "LIMIT", float(second["tradeMinQuantity"]),
                           price=float(sim.account.prices[second["symbol"]]) * 2, reduce_only=False)
            sim.clear_requests()

    def configs(self, directory: Path, wrong_secret: set[int] = frozenset(),  # type: ignore[assignment]
                more: Callable[[int], dict[str, Any]] | None = None) -> list[str]:
        """One freqtrade config per account (its key, its simulator's URL); ``wrong_secret``: those indexes' secret
        is not the simulator's; ``more(index)``: further sections of that account's config (a bot's api_server)."""
        paths = []
        for index, (sim, (key, secret)) in enumerate(zip(self.sims, self.keys, strict=True)):
            path = directory / f"account-{index:03d}.json"
            exchange = {"name": "bingx", "key": key, "secret": secret + "-wrong" if index in wrong_secret else secret,
                        "ccxt_config": {"urls": {"api": sim.base_url}}}
            path.write_text(json.dumps({"exchange": exchange, **(more(index) if more else {})}))
            paths.append(str(path))
        return paths

    def flat(self, index: int) -> bool:
        sim = self.sims[index]
        return not sim.positions() and not sim.open_orders()

    def stop(self) -> None:
        for sim in self.sims:
            sim.stop()
