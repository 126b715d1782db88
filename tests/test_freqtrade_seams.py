"""Every freqtrade name the plugin uses is in the list the start-up check runs over (freqtrade/seams.py).

The names are read from the plugin's own code (tests/freqtrade_names.py, with ``ast``): a call, override, wrap or
read of a freqtrade name that is not listed fails here, so a release that moved it is refused at start-up instead
of failing at the press (freqtrade 2026.6's ``Order.order_by_id`` took one argument where the plugin passed two).
"""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("freqtrade")

from freqtrade_names import CLASSES, PACKAGE, Use, freqtrade_class, used_names

pytestmark = pytest.mark.contract  # the release matrix runs this module on every supported freqtrade


def _home(cls: type, attribute: str) -> str:
    """The class of ``cls``'s MRO that defines ``attribute`` (as a class attribute, an annotation, or in its
    constructor), by name: a use on ``Trade`` and a listing on ``LocalTrade`` name the same seam."""
    mro = inspect.getmro(cls)
    for klass in mro:
        if attribute in vars(klass) or attribute in getattr(klass, "__annotations__", {}):
            return klass.__name__
    for klass in mro:
        init = vars(klass).get("__init__")
        try:
            if init is not None and f"self.{attribute}" in inspect.getsource(init):
                return klass.__name__
        except (OSError, TypeError):
            continue
    return ""  # not on this release (releases.CHANGES lists a seam a supported release lacks): matched by name


def _absent_here() -> set[str]:
    """The seams releases.CHANGES says the installed release does not have (nor the plugin use there)."""
    from bingx_closeall_plugin.freqtrade import releases

    return {c.qualname.rsplit(".", 1)[1] for c in releases.CHANGES if c.parameters(releases.installed_line()) is None}


def _listed() -> set[tuple[str, str]]:
    """Every seam of seams.py and releases.py, as (defining class or module, name)."""
    import importlib

    from bingx_closeall_plugin.freqtrade import releases, seams

    dotted = [(m, q) for m, q, _ in seams.SIGNATURES] + list(seams.ATTRIBUTES)
    dotted += [(c.module, c.qualname) for c in releases.CHANGES]
    listed = set()
    for module_name, qualname in dotted:
        if not module_name.startswith("freqtrade"):
            continue
        class_name, attribute = qualname.rsplit(".", 1)
        cls = getattr(importlib.import_module(module_name), class_name)
        listed.add((_home(cls, attribute), attribute))
    for module_name, class_name, attribute in seams.INSTANCE_ATTRIBUTES:
        listed.add((_home(getattr(importlib.import_module(module_name), class_name), attribute), attribute))
    listed |= set(seams.NAMES)
    return listed


def _key(use: Use) -> tuple[str, str]:
    if use.owner in CLASSES:
        return _home(freqtrade_class(use.owner), use.name), use.name
    if not use.name:  # `import freqtrade.x`: the module itself
        return use.owner, use.name
    module, _, name = use.owner.rpartition(".")
    if use.owner.startswith("freqtrade") and module and not _is_module(use.owner):
        return module, f"{name}.{use.name}"  # ExitType.FORCE_EXIT, Bingx._ft_has
    return use.owner, use.name


def _is_module(dotted: str) -> bool:
    import importlib

    try:
        importlib.import_module(dotted)
    except ImportError:
        return False
    return True


def unlisted(uses: list[Use]) -> list[Use]:
    listed = _listed()
    return [use for use in uses if use.name and _key(use) not in listed]


def test_every_freqtrade_name_the_plugin_uses_is_listed():
    uses = used_names()
    # the analysis sees what it must: the seam 2026.6 broke, a hook, an override, a column the plugin writes
    keys = {use.key for use in uses}
    assert {("Order", "order_by_id"), ("RPC", "_rpc_force_exit"), ("Exchange", "_init_ccxt"),
            ("Trade", "exit_reason"), ("FreqtradeBot", "_exit_lock")} <= keys

    missing = unlisted(uses)

    assert missing == [], "freqtrade names the plugin uses that seams.py does not list:\n" + "\n".join(
        f"  {use.owner}.{use.name} ({use.where})" for use in missing)


def _exists(cls: type, attribute: str) -> bool:
    for klass in inspect.getmro(cls):
        if attribute in vars(klass) or attribute in getattr(klass, "__annotations__", {}):
            return True
        try:
            if klass.__module__.startswith("freqtrade") and re.search(rf"self\.{attribute}\s*[:=]",
                                                                      inspect.getsource(klass)):
                return True
        except (OSError, TypeError):
            continue
    return False


def test_every_name_found_exists_on_the_installed_freqtrade():
    """The analysis's conventions (``ft`` is the bot, ``trade`` a trade) hold: nothing it reads as freqtrade's
    is something else's."""
    wrong = [use for use in used_names() if use.owner in CLASSES and use.name and use.name not in _absent_here()
             and not _exists(freqtrade_class(use.owner), use.name)]

    assert wrong == []


def test_a_planted_call_to_an_unlisted_freqtrade_method_fails_the_check(tmp_path):
    copy = tmp_path / "freqtrade_layer"
    shutil.copytree(PACKAGE, copy)
    books = copy / "books.py"
    books.write_text(books.read_text().replace("    ft = flattener.ft\n", "    ft = flattener.ft\n"
                                               "    ft.process_stopped()\n", 1))

    missing = unlisted(used_names(Path(copy)))

    assert [(use.owner, use.name) for use in missing] == [("FreqtradeBot", "process_stopped")]
    assert missing[0].where.startswith("books:")


def test_every_listed_seam_has_its_shape_on_the_installed_release(install_mod):
    assert install_mod.signature_problems() == []


def test_a_release_whose_listed_seam_moved_is_refused_before_anything_is_patched(mocker, plugin):
    """freqtrade 2026.6's one-argument order_by_id on a release that should have two: refused at install."""
    from freqtrade.persistence import Order

    from bingx_closeall_plugin.freqtrade import releases

    plugin.uninstall()
    try:
        mocker.patch.object(releases, "_installed", releases.NEWEST)
        mocker.patch.object(Order, "order_by_id", staticmethod(lambda order_id: None))
        moved = r"Order\.order_by_id: expected parameters \('order_id', 'pair'\), found \('order_id',\)"
        with pytest.raises(plugin.IncompatibleFreqtrade, match=moved):
            plugin.install()
        assert plugin.PATCHES == [] and not plugin.is_installed()
    finally:
        mocker.stopall()
        plugin.install()
    assert plugin.is_installed()


@pytest.mark.parametrize("line", [(2026, 3), (2026, 7), (2026, 8), (2026, 9)])
def test_each_release_expects_its_own_shape_of_a_seam_that_changed(line):
    from bingx_closeall_plugin.freqtrade import seams

    order_by_id = seams.expected_parameters("freqtrade.persistence.trade_model", "Order.order_by_id", line)

    assert order_by_id == (("order_id", "pair") if line >= (2026, 8) else ("order_id",))
