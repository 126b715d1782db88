"""The ccxt static lane: ccxt's own static request/response tests for bingx, run by ccxt's own harness.

The harness is the one shipped in the installed ccxt (``ccxt/test/tests_sync.py``, ``tests_async.py``,
``tests_helpers.py``; ``tests_init.py`` is its command line, which runs the same ``run_static_tests``), not a
copy. The fixtures are ccxt's, vendored under ``tests/fixtures/ccxt_static`` (PROVENANCE.md says from where).
Each flavour (sync, async) runs in its own child interpreter, on stock ``ccxt.bingx`` and on the plugin's
subclass, because the harness is configured at import: it parses ``sys.argv`` (``--sync``), replaces
``sys.excepthook`` and refuses to run from a path containing ``site-packages``. The child gives it the argv it
expects, restores argv and the hook once it is imported, imports the installed ccxt through a symlink in a
temporary folder (the same files, a path without ``site-packages``), and points the harness's ``ROOT_DIR`` at the
vendored fixtures. The one patch: the harness module's ``init_exchange`` answers ``bingx`` with the plugin's class
for the subclass half (checked for shape, restored after). Every socket connect and name lookup in the child
raises and is counted: the lane asserts none happened.

``python tests/ccxt_static_lane.py`` prints the table; ``tests/test_ccxt_static_lane.py`` runs it in the suite.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "ccxt_static"
TYPES = ("request", "response")
FLAVOURS = ("sync", "async")
CLASSES = ("stock", "subclass")

# Tests that pass on stock ccxt.bingx and fail on the subclass on purpose: (type, method, description) -> why.
# docs/ccxt.md names each. Empty: the subclass passes everything stock ccxt passes.
DELIBERATE: dict[tuple[str, str, str], str] = {}

# Every override of ccxt.bingx in the plugin's classes, and where it is tested. "lane" entries are asserted to be
# called while the subclass runs that lane's tests; the others are asserted NOT reached by the lane (the reason says
# why) and name the suite test that covers them instead (asserted to exist).
OVERRIDES: dict[str, dict[str, str]] = {
    "fetch": {
        "lane": "request",
        "why": "every static request test goes through the subclass's fetch (ccxt raises InvalidProxySettings there, "
               "masked, class kept); the response tests replace fetch entirely (tests_helpers.set_fetch_response), "
               "so the masking of a real request's error is covered by the suite test",
        "suite": "tests/test_secrets.py::test_plugin_client_errors_carry_no_signature",
    },
    "nonce": {
        "lane": "request",
        "why": "signs every static request; the fixtures skip the timestamp (skipKeys), so options['timeDifference'], "
               "the part that differs from ccxt, is covered by the suite test",
        "suite": "tests/test_error_table.py::test_timestamp_refusals_resync_and_retry_once",
    },
    "handle_errors": {
        "lane": "",
        "why": "not reached: request tests stop before a response, response tests replace fetch (which is what calls "
               "handle_errors) and hold no error answers",
        "suite": "tests/test_error_table.py::test_refusal_raises_the_right_class_with_code_and_message",
    },
    "log": {
        "lane": "",
        "why": "not reached: ccxt calls log() only with verbose=True, which the harness leaves off",
        "suite": "tests/test_secrets.py::test_api_debug_log_and_verbose_trace_carry_no_secret",
    },
    "close_all_positions": {
        "lane": "request,response",
        "why": "ccxt's closeAllPositions request (USDT-M, coin-M by subType) and response fixtures",
        "suite": "tests/test_ccxt_contract.py::test_close_all_positions_is_a_list_of_ccxt_position_structures_"
                 "carrying_everything",
    },
    "close_position": {
        "lane": "request",
        "why": "ccxt's closePosition request fixtures (USDT-M, coin-M); there is no closePosition response fixture",
        "suite": "tests/test_ccxt_params.py",
    },
}


def plugin_classes() -> dict[str, type]:
    from bingx_closeall_plugin import AsyncBingX, BingX
    return {"sync": BingX, "async": AsyncBingX}


def overrides_of(cls: type, base: type) -> set[str]:
    """Names the plugin's class defines over ccxt's bingx (its own and its mixin's)."""
    # ccxt's constructor adds camelCase aliases to the instance's class (closeAllPositions = close_all_positions):
    # only functions defined under their own name in the plugin's modules count.
    own = set()
    for klass in cls.__mro__:
        own |= {name for name, value in vars(klass).items()
                if not name.startswith("__") and callable(value) and hasattr(base, name)
                and getattr(value, "__name__", "") == name
                and getattr(value, "__module__", "").split(".")[0] == "bingx_closeall_plugin"}
    return own


# ----------------------------------------------------------------------------------------------- the child side

class _NoNetwork:
    """Every connect and name lookup raises, and is counted."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __enter__(self) -> _NoNetwork:
        self.saved = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

        def refuse(*args: Any, **kwargs: Any) -> Any:
            self.attempts.append(repr(args[1:] if args and isinstance(args[0], socket.socket) else args)[:200])
            raise OSError("the ccxt static lane never reaches the network")
        socket.socket.connect = refuse  # type: ignore[method-assign]
        socket.socket.connect_ex = refuse  # type: ignore[method-assign]
        socket.getaddrinfo = refuse
        return self

    def __exit__(self, *exc: Any) -> None:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = self.saved  # type: ignore[method-assign]


def _import_harness(flavour: str, link_root: Path) -> Any:
    """ccxt's harness module for the flavour, imported as its command line would, argv and excepthook restored."""
    import importlib.util
    spec = importlib.util.find_spec("ccxt")
    assert spec is not None and spec.origin is not None, "ccxt is not installed"
    installed = Path(spec.origin).parent
    link = link_root / "ccxt"
    link.symlink_to(installed, target_is_directory=True)
    harness_dir = link / "test"
    for name in ("tests_helpers.py", f"tests_{flavour}.py", "tests_init.py"):
        if not (harness_dir / name).is_file():
            raise RuntimeError(f"ccxt {installed} ships no test/{name}: the static lane needs ccxt's harness")
    sys.path[:0] = [str(link_root), str(harness_dir)]
    saved_argv, saved_hook = sys.argv, sys.excepthook
    sys.argv = [f"tests_{flavour}.py", "bingx"] + (["--sync"] if flavour == "sync" else [])
    try:
        helpers = __import__("tests_helpers")
        harness = __import__(f"tests_{flavour}")
    finally:
        sys.argv, sys.excepthook = saved_argv, saved_hook
    import ccxt
    assert str(Path(ccxt.__file__).parent) == str(link), "ccxt was imported from elsewhere before the harness"
    assert helpers.is_sync() is (flavour == "sync"), "the harness read another flavour from argv"
    if not hasattr(helpers, "ROOT_DIR") or not callable(getattr(harness, "init_exchange", None)):
        raise RuntimeError("ccxt's harness changed shape (tests_helpers.ROOT_DIR / init_exchange)")
    if list(inspect.signature(harness.init_exchange).parameters) != ["exchangeId", "args", "is_ws"]:
        raise RuntimeError("ccxt's harness changed shape: init_exchange(exchangeId, args, is_ws)")
    helpers.ROOT_DIR = str(FIXTURES) + "/"
    assert helpers.get_root_dir() == str(FIXTURES) + "/"
    return harness


def _recording_main(harness: Any) -> Any:
    """ccxt's testMainClass, recording each static test's verdict (the harness only prints failures). An error
    other than the InvalidProxySettings the harness expects escapes ccxt's test method and would end ccxt's whole
    run; here it fails that one test."""
    base = harness.testMainClass
    is_async = inspect.iscoroutinefunction(base.test_request_statically)

    class Recording(base):  # type: ignore[misc, valid-type]
        records: list[dict[str, Any]]
        _failed_before = False

        def _verdict(self, kind: str, method: str, data: dict[str, Any], out: io.StringIO,
                     error: BaseException | None) -> None:
            failed = bool(getattr(self, f"{kind}_tests_failed")) or error is not None
            # the harness's own flag, as ccxt's run would leave it: failed once any test failed
            setattr(self, f"{kind}_tests_failed", failed or self._failed_before)
            message = out.getvalue().strip() + (f" {type(error).__name__}: {error}" if error is not None else "")
            self.records.append({"type": kind, "method": method, "description": data.get("description", ""),
                                 "ok": not failed, "message": message[-1500:] if failed else ""})

    def checked(kind: str, run: Any) -> Any:
        if is_async:
            async def method(self: Any, exchange: Any, name: str, *rest: Any) -> Any:
                self._failed_before = bool(getattr(self, f"{kind}_tests_failed"))
                setattr(self, f"{kind}_tests_failed", False)
                out, error = io.StringIO(), None
                with contextlib.redirect_stdout(out):
                    try:
                        await run(self, exchange, name, *rest)
                    except Exception as e:  # noqa: BLE001 - recorded as this test's failure
                        error = e
                self._verdict(kind, name, rest[0] if kind == "request" else rest[1], out, error)
                return True
        else:
            def method(self: Any, exchange: Any, name: str, *rest: Any) -> Any:
                self._failed_before = bool(getattr(self, f"{kind}_tests_failed"))
                setattr(self, f"{kind}_tests_failed", False)
                out, error = io.StringIO(), None
                with contextlib.redirect_stdout(out):
                    try:
                        run(self, exchange, name, *rest)
                    except Exception as e:  # noqa: BLE001 - recorded as this test's failure
                        error = e
                self._verdict(kind, name, rest[0] if kind == "request" else rest[1], out, error)
                return True
        return method

    # ccxt's signatures: test_request_statically(exchange, method, data, type, skip_keys),
    # test_response_statically(exchange, method, skip_keys, data)
    Recording.test_request_statically = checked("request", base.test_request_statically)  # type: ignore[method-assign]
    Recording.test_response_statically = checked("response", base.test_response_statically)  # type: ignore[method-assign]
    return Recording


@contextlib.contextmanager
def _bingx_is(harness: Any, cls: type | None) -> Any:
    """The harness's init_exchange, answering 'bingx' with ``cls`` (None: ccxt's own), restored after."""
    original = harness.init_exchange

    def init_exchange(exchangeId: str, args: Any, is_ws: bool = False) -> Any:  # noqa: N803 - the harness's names
        return cls(args) if cls is not None and exchangeId == "bingx" else original(exchangeId, args, is_ws)
    harness.init_exchange = init_exchange
    try:
        yield
    finally:
        harness.init_exchange = original


class _CallCounter:
    """How often each override's code runs (a profile hook: the class under test stays untouched)."""

    def __init__(self, cls: type, names: set[str]) -> None:
        codes = {}
        for name in names:
            function = next(vars(k)[name] for k in cls.__mro__ if name in vars(k))
            codes[function.__code__] = name
        self.codes, self.counts = codes, dict.fromkeys(names, 0)

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in self.codes:
            self.counts[self.codes[frame.f_code]] += 1


def child(flavour: str, out: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ccxt-static-lane-") as link_root:
        assert "site-packages" not in link_root
        harness = _import_harness(flavour, Path(link_root))
        import ccxt
        import ccxt.async_support
        plugin = plugin_classes()[flavour]
        base = ccxt.bingx if flavour == "sync" else ccxt.async_support.bingx
        main_class = _recording_main(harness)
        report: dict[str, Any] = {"ccxt": ccxt.__version__, "runs": {}, "calls": {}, "harness_exit": {}}
        with _NoNetwork() as net:
            for which, cls in (("stock", None), ("subclass", plugin)):
                for kind in TYPES:
                    main = main_class()
                    main.records = []
                    main.parse_cli_args_and_props()
                    counter = _CallCounter(plugin, overrides_of(plugin, base))
                    with _bingx_is(harness, cls):
                        if cls is not None:
                            sys.setprofile(counter)
                        exit_code = 0
                        try:
                            run = main.run_static_tests(kind, "bingx")
                            if inspect.isawaitable(run):
                                import asyncio
                                asyncio.run(run)
                        except SystemExit as e:  # the harness's verdict: exit_script(1) once a test failed
                            exit_code = int(e.code or 0)
                        finally:
                            sys.setprofile(None)
                    report["harness_exit"][f"{kind}/{which}"] = exit_code
                    report["runs"][f"{kind}/{which}"] = main.records
                    if cls is not None:
                        report["calls"][kind] = counter.counts
        report["network_attempts"] = net.attempts
        Path(out).write_text(json.dumps(report))


# ---------------------------------------------------------------------------------------------- the parent side

def run_lane() -> dict[str, Any]:
    """Both flavours, each in its own child (run side by side): {flavour: the child's report}."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for flavour in FLAVOURS:
            out = os.path.join(tmp, f"{flavour}.json")
            procs[flavour] = (out, subprocess.Popen(
                [sys.executable, __file__, "--child", flavour, out], cwd=Path(__file__).parent.parent,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        reports = {}
        for flavour, (out, proc) in procs.items():
            try:
                output, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
            if proc.returncode != 0:
                raise RuntimeError(f"the {flavour} child failed ({proc.returncode}):\n{output[-4000:]}")
            reports[flavour] = json.loads(Path(out).read_text())
        return reports


def table(reports: dict[str, Any]) -> list[tuple[str, str, str, int, int, int]]:
    rows = []
    for kind in TYPES:
        for flavour in FLAVOURS:
            for which in CLASSES:
                records = reports[flavour]["runs"][f"{kind}/{which}"]
                passed = sum(r["ok"] for r in records)
                rows.append((kind, flavour, which, len(records), passed, len(records) - passed))
    return rows


def regressions(reports: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per flavour: tests that pass on stock ccxt.bingx and fail on the subclass (deliberate ones included)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for flavour in FLAVOURS:
        for kind in TYPES:
            def key(r: dict[str, Any]) -> tuple[str, str, str]:
                return r["type"], r["method"], r["description"]
            stock = {key(r): r["ok"] for r in reports[flavour]["runs"][f"{kind}/stock"]}
            for record in reports[flavour]["runs"][f"{kind}/subclass"]:
                if stock.get(key(record)) and not record["ok"]:
                    found.setdefault(flavour, []).append(record)
    return found


def render(reports: dict[str, Any]) -> str:
    lines = [f"ccxt {reports['sync']['ccxt']} static tests for bingx (fixtures: tests/fixtures/ccxt_static)", "",
             "| type | flavour | class | run | pass | fail |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {k} | {f} | {c} | {n} | {p} | {x} |" for k, f, c, n, p, x in table(reports)]
    found = regressions(reports)
    lines += ["", f"pass on stock, fail on the subclass: {sum(map(len, found.values()))}"]
    for flavour, records in found.items():
        lines += [f"  {flavour} {r['type']} {r['method']}: {r['description']}" for r in records]
    lines += ["network attempts: " + str(sum(len(r["network_attempts"]) for r in reports.values()))]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        print(render(run_lane()))
