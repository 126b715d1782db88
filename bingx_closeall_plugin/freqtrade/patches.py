"""The record of every change the plugin makes to objects it does not own: :class:`Patch`, :data:`PATCHES`.

A class attribute is replaced with :func:`patch_attribute` (the hooks :func:`~.install.install` applies), an
instance attribute with :func:`shadow` or :func:`attach`, a log filter with :func:`add_log_filter`. Each keeps the
original and is appended to :data:`PATCHES`, so :func:`revert` undoes one and :func:`~.install.uninstall` all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .compat import IncompatibleFreqtrade, plugin_version, versions

logger = logging.getLogger(__name__)

__all__ = ["LOCK", "MISSING", "PATCHES", "Patch", "add_log_filter", "announce_active", "attach", "is_patched",
           "patch_attribute", "revert", "shadow"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # Patch.original of an instance attribute that did not exist (it is deleted on undo)


@dataclass(frozen=True)
class Patch:
    """One change the plugin made to an object it does not own: where, what was there, what is there now, why.

    An attribute patch (``undo`` None) is undone by setting ``original`` back, or deleting the attribute when
    it was :data:`MISSING` (an instance attribute that shadowed its class's). Anything else (a log filter
    added) carries its own ``undo``.
    """

    target: Any  # the module, class or object changed
    attribute: str
    original: Any
    replacement: Any
    why: str
    undo: Callable[[], None] | None = None

    @property
    def name(self) -> str:
        return f"{getattr(self.target, '__name__', type(self.target).__name__)}.{self.attribute}"

    def restore(self) -> None:
        if self.undo is not None:
            self.undo()
            return
        if getattr(self.target, self.attribute, None) is not self.replacement:
            logger.warning("%s was changed by someone else after the plugin patched it; restoring anyway", self.name)
        if self.original is MISSING:
            if self.attribute in vars(self.target):
                delattr(self.target, self.attribute)
        else:
            setattr(self.target, self.attribute, self.original)


# Every change applied, in order: the hooks install() applies, then what the plugin changes at run time.
PATCHES: list[Patch] = []
# Held while PATCHES changes, and by install() and uninstall() around all of theirs (re-entrant).
LOCK = threading.RLock()


def patch_attribute(target: Any, attribute: str, replacement: Any, why: str) -> Patch:
    """Replace ``target.attribute``, which must exist, and record it (install() holds :data:`LOCK` meanwhile)."""
    if not hasattr(target, attribute):
        raise IncompatibleFreqtrade(
            f"cannot patch {getattr(target, '__name__', target)}.{attribute}: it does not exist ({versions()})"
        )
    patch = Patch(target, attribute, getattr(target, attribute), replacement, why)
    setattr(target, attribute, replacement)
    PATCHES.append(patch)
    logger.debug("bingx plugin patched %s (%s)", patch.name, why)
    return patch


def shadow(obj: Any, attribute: str, replacement: Any, why: str) -> Patch:
    """Set an instance attribute over its class's (which must exist) and record it; undone by deleting it."""
    with LOCK:
        if not hasattr(type(obj), attribute):
            raise IncompatibleFreqtrade(f"cannot shadow {type(obj).__name__}.{attribute}: the class has none "
                                        f"({versions()})")
        original = vars(obj).get(attribute, MISSING)
        patch = Patch(obj, attribute, original, replacement, why)
        setattr(obj, attribute, replacement)
        PATCHES.append(patch)
        return patch


def attach(obj: Any, attribute: str, value: Any, why: str) -> Patch:
    """Give ``obj`` (e.g. the bot) a new attribute of the plugin's, recorded; undone by deleting it."""
    with LOCK:
        if attribute in vars(obj) or hasattr(type(obj), attribute):
            raise IncompatibleFreqtrade(f"{type(obj).__name__} already has {attribute} ({versions()})")
        patch = Patch(obj, attribute, MISSING, value, why)
        setattr(obj, attribute, value)
        PATCHES.append(patch)
        return patch


def add_log_filter(holder: logging.Filterer, log_filter: logging.Filter, why: str) -> Patch | None:
    """``holder.addFilter(log_filter)`` (a handler or a logger), recorded; None when it was there already."""
    with LOCK:
        if log_filter in holder.filters:
            return None
        holder.addFilter(log_filter)
        patch = Patch(holder, "filters", None, log_filter, why, undo=lambda: holder.removeFilter(log_filter))
        PATCHES.append(patch)
        return patch


def revert(patch: Patch) -> None:
    """Undo one recorded change now (e.g. a filter needed only while freqtrade's main runs)."""
    with LOCK:
        if patch in PATCHES:
            PATCHES.remove(patch)
            patch.restore()


def is_patched(target: Any, attribute: str) -> bool:
    """True when ``target.attribute`` is the plugin's recorded replacement, still in place."""
    with LOCK:
        return any(p.target is target and p.attribute == attribute and getattr(target, attribute, None) is p.replacement
                   for p in PATCHES)


_announced = False


def announce_active() -> None:
    """One INFO line, once per process, that the plugin is active: its version, freqtrade's and ccxt's, and
    the patches applied. Called by the plugin's exchange class, which freqtrade builds after it has set up
    its logging (install() runs before that, when no handler would show it).

    Active means installed: freqtrade resolves ``bingx`` to the plugin's class (the first patch install()
    applies, undone by uninstall()), so this module, below install, needs no state of install's.
    """
    import freqtrade.exchange as ft_exchange

    global _announced
    with LOCK:
        if _announced or not is_patched(ft_exchange, "Bingx"):
            return
        _announced = True
        names = [p.name for p in PATCHES if p.undo is None and not isinstance(p.target, logging.Filterer)]
        logger.info("bingx-closeall-plugin %s active (%s); %d patches applied: %s", plugin_version(), versions(),
                    len(names), ", ".join(dict.fromkeys(names)))
