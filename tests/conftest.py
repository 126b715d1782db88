"""Shared fixtures: the local BingX simulator (one per test module) and ccxt clients pointed at it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bingx_closeall_plugin import BingX
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator

import cli_runner

# A skipped freqtrade test fails the session (hooks picked up from this conftest's namespace).
from freqtrade_skips import (  # noqa: F401
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

API_KEY = "test-key-7f3c9a1e5b2d"
API_SECRET = "test-secret-c41d8e9f0a6b2e7d"



BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str) -> Any:
    """A script of benchmarks/ as a module (its soaks' steps and checks are what the CI-size tests run)."""
    spec = importlib.util.spec_from_file_location(f"bingx_benchmark_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module

@pytest.fixture(scope="module")
def simulator() -> Iterator[BingXSimulator]:
    """One simulator per test module; stopped at the module's end whatever happened."""
    sim = BingXSimulator(api_key=API_KEY, api_secret=API_SECRET).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(simulator: BingXSimulator) -> BingXSimulator:
    """The module's simulator, reset to a clean account for this test."""
    simulator.reset()
    return simulator


def make_client(cls: type, sim: BingXSimulator, **config: Any) -> Any:
    client = cls({"apiKey": API_KEY, "secret": API_SECRET, "timeout": 3000, **config})
    client.urls["api"] = api_urls(sim.base_url)
    return client


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port with a bound socket that never listens: connecting is refused at once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"


@pytest.fixture
def exchange(sim: BingXSimulator) -> BingX:
    """The plugin's sync ccxt subclass, pointed at the simulator."""
    return make_client(BingX, sim)


@pytest.fixture
def cli_env(sim: BingXSimulator) -> dict[str, str]:
    """Environment for running bingx-closeall against the simulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINGX_")}
    env.update(BINGX_API_KEY=API_KEY, BINGX_API_SECRET=API_SECRET, BINGX_BASE_URL=sim.base_url)
    return env


@pytest.fixture
def accounts_env() -> dict[str, str]:
    """Environment for bingx-closeall with --account configs: no key, secret or URL but what the configs give."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "FREQTRADE__"))}


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a child process (exit code, stdout and stderr as a user sees them).

    The child is forked from a process that has imported ccxt already (tests/cli_runner.py): the same
    process as ``python -m bingx_closeall_plugin.cli``, a second less of CPU each time.
    """
    return cli_runner.run_cli(args, env, stdin, timeout)


@pytest.fixture
def plugin() -> Any:
    """The plugin's freqtrade package; importing it installs the patches. Imported by the tests that use it and
    not by their modules: every xdist worker collects every module, and this import costs about 3 s of CPU."""
    pytest.importorskip("freqtrade")
    return importlib.import_module("bingx_closeall_plugin.freqtrade")


@pytest.fixture
def install_mod(plugin: Any) -> Any:
    """The plugin's install module (the package re-exports install(), which shadows the submodule's name)."""
    return importlib.import_module("bingx_closeall_plugin.freqtrade.install")


@pytest.fixture(scope="module")
def telegram_double() -> Iterator[Any]:
    """A local Telegram Bot API double (tests/telegram_double.py) for this module's bots; stopped at its end.

    Give a bot ``telegram=telegram_config(telegram_double)`` to point its real python-telegram-bot at it.
    """
    from telegram_double import TelegramDouble

    double = TelegramDouble().start()
    try:
        yield double
    finally:
        double.stop()


def telegram_config(double: Any) -> dict[str, Any]:
    """freqtrade's ``telegram`` section for a bot that talks to ``double`` (the plugin's ``bot_api_url``)."""
    return {"enabled": True, "token": double.token, "chat_id": str(double.chat_id), "bot_api_url": double.url}


@pytest.fixture(scope="module")
def start_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start real ``freqtrade-bingx trade`` processes for this module; every one is stopped at its end.

    ``start_bot(base_url, name="bot", wait=True, env=None, **config_overrides)`` returns a running
    :class:`freqtrade_bot.FreqtradeBot` (REST API up, state running), with this suite's key and secret and
    ccxt's throttle at the simulator's spacing (``rate_limit_ms=None`` for ccxt's own).
    """
    pytest.importorskip("freqtrade")
    from freqtrade_bot import SIMULATOR_RATE_LIMIT_MS, FreqtradeBot, make_config

    started: list[Any] = []

    def start(base_url: str, name: str = "bot", wait: bool = True, tmp: Path | None = None,
              strategy: str | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Any:
        directory = tmp or tmp_path_factory.mktemp(name)
        overrides.setdefault("rate_limit_ms", SIMULATOR_RATE_LIMIT_MS)
        # A loop every 2 s, not make_config's 1 s (the benchmarks'): an idle iteration costs a bot and the simulator
        # CPU, which the suite's ~70 bots on 2 cores are short of; every wait on the loop is for an event, bounded.
        overrides.setdefault("internals", {"process_throttle_secs": 2, "heartbeat_interval": 0})
        config = make_config(directory, base_url, key=API_KEY, secret=API_SECRET, **overrides)
        bot = FreqtradeBot(directory, config, env=env, **({"strategy": strategy} if strategy else {}))
        started.append(bot)
        return bot.start() if wait else bot.launch()

    try:
        yield start
    finally:
        for bot in started:
            bot.stop()


# The module-scoped fixtures that hold one running bot for their module's tests, and the modules that have one.
SHARED_BOTS = {"bot", "verbose_bot"}
SHARED_BOT_MODULES = {
    "test_fault_matrix_bot.py", "test_fault_matrix_bot_more.py", "test_flatten_bot.py", "test_flatten_edges_bot.py",
    "test_freqtrade_bot.py", "test_guard_bot.py", "test_loop_reads_bot.py", "test_loop_reads_vanished_stop_bot.py",
    "test_orders_racing_a_press_bot.py", "test_races_bot.py", "test_secrets_bot.py", "test_symbols_bot.py",
    "test_telegram_closeall.py",
}
# The modules that drive the plugin's freqtrade layer in-process: one unit of work together, so one worker pays
# for importing it (see the ``plugin`` fixture), not every worker that runs one of their tests.
IN_PROCESS_FREQTRADE_MODULES = {"test_corpus_freqtrade.py", "test_freqtrade_exchange.py", "test_loop_pass_waits.py",
                                "test_order_tags.py", "test_patches.py", "test_startup_sync.py"}

# Outside the bot tests, the modules whose tests take longest (real freqtrade processes, the in-process soak,
# waits for rate limits and ctrl-c): handed out next, so none of them is the last to start.
SLOW_MODULES = ["test_freqtrade_launcher.py", "test_soak.py", "test_cli_interrupt.py", "test_fault_matrix_flatten.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The bot tests take longest: they come first, then ``SLOW_MODULES``, so xdist hands them out first. A test
    that uses a module's shared bot must be in a module listed in ``SHARED_BOT_MODULES`` (one unit of work)."""
    unlisted = sorted({item.path.name for item in items
                       if SHARED_BOTS & set(item.fixturenames) and item.path.name not in SHARED_BOT_MODULES})
    if unlisted:
        raise pytest.UsageError(f"{', '.join(unlisted)} share(s) a bot: list it in conftest.SHARED_BOT_MODULES")
    slow = {name: rank for rank, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: (item.get_closest_marker("freqtrade") is None, slow.get(item.path.name, len(slow))))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collecting must not import the plugin's freqtrade layer: every xdist worker collects every module, and
    that import installs the plugin in the worker and costs about 3 s of CPU (the ``plugin`` fixture is where
    a test gets it)."""
    if "bingx_closeall_plugin.freqtrade" in sys.modules:
        raise pytest.UsageError("a test module imports bingx_closeall_plugin.freqtrade at collection: take it "
                                "from the plugin fixture (tests/conftest.py) instead")


@pytest.hookimpl(optionalhook=True)  # xdist's hook: pytest -p no:xdist runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """How ``pytest -n N`` (xdist's ``--dist load``) hands out the tests: a module in ``SHARED_BOT_MODULES`` is
    one unit, run whole by one worker on its one bot; the ``IN_PROCESS_FREQTRADE_MODULES`` together are one
    unit; every other test is a unit of its own, so the slow ones (a bot test that starts its own bots, a CLI
    run that waits out a rate limit) spread over the workers.

    Any other ``--dist`` is xdist's own (``--dist loadfile``: one unit per module).
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # A private hook of xdist's (3.5 to 3.8): if it is renamed, say so rather than silently scheduling by module.
    if not callable(getattr(LoadScopeScheduling, "_split_scope", None)):
        raise pytest.UsageError("pytest-xdist's LoadScopeScheduling._split_scope is gone: update "
                                "pytest_xdist_make_scheduler in tests/conftest.py for this xdist")

    class SharedBotModulesWhole(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if Path(module).name in IN_PROCESS_FREQTRADE_MODULES:
                return "freqtrade in-process"
            return module if Path(module).name in SHARED_BOT_MODULES else nodeid

    return SharedBotModulesWhole(config, log)
