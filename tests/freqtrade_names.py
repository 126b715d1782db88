"""Every freqtrade name the plugin's code uses, read from that code with ``ast`` (tests/test_freqtrade_seams.py).

What counts as a use of freqtrade: a name imported from a ``freqtrade`` module; an attribute read or called on one
(``Trade.commit``, ``ExitType.FORCE_EXIT``); an attribute of a freqtrade object (the bot, its exchange, a trade, an
order, the RPC objects), or of ``self`` inside a method the plugin hooks into a freqtrade class or inherits from one;
``super().method`` in a subclass of freqtrade's ``Bingx``; a method of freqtrade's a plugin class overrides.

Which variable holds which freqtrade object is read from the code's own conventions, listed here once
(:data:`VARIABLES`, :data:`ATTRIBUTE_TYPES`): the plugin passes the bot as ``ft`` or ``freqtrade``, trades as
``trade`` or ``t``, orders as ``o`` or ``order_obj``. A name the plugin binds differently is not seen, so the
conventions are checked too: every use found must exist on the installed freqtrade.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "bingx_closeall_plugin" / "freqtrade"

# freqtrade's classes by the name the analysis gives them, and where they are defined.
CLASSES = {
    "FreqtradeBot": ("freqtrade.freqtradebot", "FreqtradeBot"),
    "Exchange": ("freqtrade.exchange.bingx", "Bingx"),  # the bot's exchange is (a subclass of) freqtrade's Bingx
    "Trade": ("freqtrade.persistence", "Trade"),
    "Order": ("freqtrade.persistence", "Order"),
    "IStrategy": ("freqtrade.strategy.interface", "IStrategy"),
    "Wallets": ("freqtrade.wallets", "Wallets"),
    "RPC": ("freqtrade.rpc.rpc", "RPC"),
    "RPCManager": ("freqtrade.rpc.rpc_manager", "RPCManager"),
    "Telegram": ("freqtrade.rpc.telegram", "Telegram"),
    "ApiServer": ("freqtrade.rpc.api_server.webserver", "ApiServer"),
    "CustomDataWrapper": ("freqtrade.persistence.custom_data", "CustomDataWrapper"),
    "_CustomData": ("freqtrade.persistence.custom_data", "_CustomData"),
}
# Variable names that hold a freqtrade object wherever the plugin uses them (a parameter or a local).
VARIABLES = {"ft": "FreqtradeBot", "freqtrade": "FreqtradeBot", "trade": "Trade", "t": "Trade",
             "order_obj": "Order", "o": "Order", "rpc": "RPC"}
# Attributes of freqtrade objects that are freqtrade objects themselves (and the plugin's holders of the bot).
ATTRIBUTE_TYPES = {
    ("FreqtradeBot", "exchange"): "Exchange", ("FreqtradeBot", "strategy"): "IStrategy",
    ("FreqtradeBot", "wallets"): "Wallets", ("FreqtradeBot", "rpc"): "RPCManager",
    ("RPCManager", "_rpc"): "RPC", ("RPC", "_freqtrade"): "FreqtradeBot", ("Telegram", "_rpc"): "RPC",
    ("Flattener", "ft"): "FreqtradeBot", ("RunningFlatten", "ft"): "FreqtradeBot",
}
# Plugin variables holding the plugin's own objects that carry the bot.
PLUGIN_VARIABLES = {"flattener": "Flattener", "self.ft": "FreqtradeBot"}


@dataclass(frozen=True, order=True)
class Use:
    """One use: ``owner`` is a freqtrade class name of :data:`CLASSES` or a module path; ``name`` what is used."""

    owner: str
    name: str
    where: str  # module:line, for the failure message

    @property
    def key(self) -> tuple[str, str]:
        return self.owner, self.name


def freqtrade_class(owner: str) -> Any:
    module, name = CLASSES[owner]
    return getattr(importlib.import_module(module), name)


def _annotation_type(node: ast.expr | None, imported: dict[str, tuple[str, str]]) -> str | None:
    """``Trade`` -> "Trade"; ``list[Trade]`` -> "list:Trade"."""
    if isinstance(node, ast.Name) and node.id in imported and imported[node.id][1] in CLASSES:
        return imported[node.id][1]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "list":
        inner = _annotation_type(node.slice, imported)
        return f"list:{inner}" if inner and not inner.startswith("list:") else None
    return None


class _Module(ast.NodeVisitor):
    def __init__(self, path: Path, plugin_classes: dict[str, str]) -> None:
        self.where = path.stem
        self.uses: list[Use] = []
        self.imported: dict[str, tuple[str, str]] = {}  # alias -> (freqtrade module, name); name "" for a module
        self.plugin_classes = plugin_classes  # plugin class -> the freqtrade class it extends
        self.scopes: list[dict[str, str]] = [{}]
        self.hooked: dict[str, str] = {}  # hooks.py: nested function name -> the class patch_attribute puts it on
        self.class_stack: list[str] = []

    # -- imports --------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "freqtrade":
                self.uses.append(Use(alias.name, "", self._at(node)))
                # `import freqtrade.x` binds "freqtrade" (the package), `import freqtrade.x as y` binds y
                self.imported[alias.asname or "freqtrade"] = (alias.name if alias.asname else "freqtrade", "")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module or node.module.split(".")[0] != "freqtrade":
            return
        for alias in node.names:
            self.imported[alias.asname or alias.name] = (node.module, alias.name)
            self.uses.append(Use(node.module, alias.name, self._at(node)))

    # -- scopes ---------------------------------------------------------------------------------------------
    def _at(self, node: ast.AST) -> str:
        return f"{self.where}:{getattr(node, 'lineno', 0)}"

    def _bind(self, name: str, kind: str | None) -> None:
        if kind:
            self.scopes[-1][name] = kind

    def _lookup(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name] or None  # "": bound to something else (a loop over dicts, a lambda's argument)
        if name in self.imported:
            return None
        return VARIABLES.get(name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_stack.append(node.name)
        self.generic_visit(node)
        self.class_stack.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope: dict[str, str] = {}
        args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        for arg in args:
            kind = _annotation_type(arg.annotation, self.imported) or VARIABLES.get(arg.arg)
            if kind:
                scope[arg.arg] = kind
        if args and args[0].arg == "self":
            if node.name in self.hooked:
                scope["self"] = self.hooked[node.name]
            elif self.class_stack and self.class_stack[-1] in self.plugin_classes:
                scope["self"] = "self:" + self.class_stack[-1]
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _function  # noqa: N815 - ast.NodeVisitor's names
    visit_AsyncFunctionDef = _function  # noqa: N815

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        kind = self.type_of(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._bind(target.id, kind)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind(node.target.id, self.type_of(node.value))

    def _loop(self, target: ast.expr, iterable: ast.expr) -> None:
        kind = self.type_of(iterable)
        if isinstance(target, ast.Name):
            # a loop over anything but a list of freqtrade objects binds its variable to something else
            self.scopes[-1][target.id] = kind[5:] if kind and kind.startswith("list:") else ""

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.scopes.append({arg.arg: "" for arg in node.args.args})
        self.visit(node.body)
        self.scopes.pop()

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._loop(node.target, node.iter)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.scopes.append({})
        for generator in node.generators:
            self.visit(generator.iter)
            self._loop(generator.target, generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension  # noqa: N815

    # -- types ----------------------------------------------------------------------------------------------
    def type_of(self, node: ast.expr) -> str | None:
        """The freqtrade class (or ``list:Class``, or ``self:PluginClass``) an expression evaluates to, if known."""
        if isinstance(node, ast.Name):
            return self._lookup(node.id)
        if isinstance(node, ast.Attribute):
            text = ast.unparse(node)
            if text in PLUGIN_VARIABLES:
                return PLUGIN_VARIABLES[text]
            owner = self.type_of(node.value)
            if owner is None and isinstance(node.value, ast.Name) and node.value.id in PLUGIN_VARIABLES:
                owner = PLUGIN_VARIABLES[node.value.id]
            if owner and owner.startswith("self:"):
                owner = self.plugin_classes[owner[5:]]
            if owner in ("Trade",) and node.attr == "orders":
                return "list:Order"
            return ATTRIBUTE_TYPES.get((owner or "", node.attr))
        if isinstance(node, ast.ListComp):  # [o for o in trade.orders if ...]: a list of what it collects
            self.scopes.append({})
            for generator in node.generators:
                self._loop(generator.target, generator.iter)
            element = self.type_of(node.elt)
            self.scopes.pop()
            return f"list:{element}" if element in CLASSES else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("sorted", "list") \
                and node.args:
            return self.type_of(node.args[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = self.type_of(node.func.value)
            trade_class = isinstance(node.func.value, ast.Name) and self._imported_class(node.func.value) == "Trade"
            if (owner == "Trade" or trade_class) and node.func.attr in ("get_open_trades", "get_trades_proxy"):
                return "list:Trade"
        return None

    def _imported_class(self, node: ast.Name) -> str | None:
        found = self.imported.get(node.id)
        return found[1] if found and found[1] in CLASSES else None

    # -- uses -----------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        # hooks.py: patch_attribute(Class, "name", wrapper, why) puts the wrapper's self on Class
        if isinstance(func, ast.Name) and func.id == "patch_attribute" and len(node.args) >= 3:
            cls, name = node.args[0], node.args[1]
            if isinstance(cls, ast.Name) and isinstance(name, ast.Constant) and self._imported_class(cls):
                self.uses.append(Use(self.imported[cls.id][1], str(name.value), self._at(node)))
        # Trade(...) / Order(...): the columns the plugin writes
        if isinstance(func, ast.Name) and self._imported_class(func):
            for keyword in node.keywords:
                if keyword.arg:
                    self.uses.append(Use(self.imported[func.id][1], keyword.arg, self._at(node)))
        # super().name in a plugin subclass of a freqtrade class
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"
                and self.class_stack and self.class_stack[-1] in self.plugin_classes):
            self.uses.append(Use(self.plugin_classes[self.class_stack[-1]], func.attr, self._at(node)))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.imported:
            module, name = self.imported[value.id]
            owner = name if name in CLASSES else (f"{module}.{name}" if name else module)
            self.uses.append(Use(owner, node.attr, self._at(node)))
        else:
            kind = self.type_of(value)
            if kind and kind.startswith("self:"):
                plugin_class = kind[5:]
                if not _defined_by_plugin(plugin_class, node.attr):
                    self.uses.append(Use(self.plugin_classes[plugin_class], node.attr, self._at(node)))
            elif kind == "Exchange" and _plugin_exchange_attribute(node.attr):
                pass  # the plugin's own exchange class's (flatten_api, loop_iteration, ...)
            elif kind in CLASSES:
                self.uses.append(Use(kind, node.attr, self._at(node)))
        self.generic_visit(node)


_PLUGIN_ATTRIBUTES: dict[str, set[str]] = {}


def _defined_by_plugin(plugin_class: str, attr: str) -> bool:
    return attr in _PLUGIN_ATTRIBUTES.get(plugin_class, set()) and not hasattr(freqtrade_class("Exchange"), attr)


def _plugin_exchange_attribute(attr: str) -> bool:
    """Defined by the plugin's exchange class and not by freqtrade's (``ft.exchange.flatten_api``)."""
    return any(_defined_by_plugin(name, attr) for name in _EXCHANGE_CLASSES)


_EXCHANGE_CLASSES: list[str] = []


def _plugin_classes(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """The plugin's classes that extend freqtrade's exchange class, and what each defines itself."""
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [ast.unparse(b) for b in node.bases]
                defined = _PLUGIN_ATTRIBUTES.setdefault(node.name, set())
                for item in ast.walk(node):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        defined.add(item.name)
                    elif isinstance(item, ast.Attribute) and isinstance(item.value, ast.Name) \
                            and item.value.id == "self" and isinstance(item.ctx, ast.Store):
                        defined.add(item.attr)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        defined.add(item.target.id)
    extends = {}
    for name in bases:
        chain, seen = name, set()
        while chain in bases and chain not in seen:
            seen.add(chain)
            if "FreqtradeBingx" in bases[chain]:
                extends[name] = "Exchange"
                break
            chain = bases[chain][0] if bases[chain] else ""
    _EXCHANGE_CLASSES[:] = list(extends)
    # a plugin class inherits what its plugin bases define
    for name in extends:
        chain = name
        while chain in bases and bases[chain] and bases[chain][0] in bases:
            chain = bases[chain][0]
            _PLUGIN_ATTRIBUTES[name] |= _PLUGIN_ATTRIBUTES.get(chain, set())
    return extends


def _hooked_functions(tree: ast.Module) -> dict[str, str]:
    hooked = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "patch_attribute"
                and len(node.args) >= 3 and isinstance(node.args[0], ast.Name) and node.args[0].id in CLASSES
                and isinstance(node.args[2], ast.Name)):
            hooked[node.args[2].id] = node.args[0].id
    return hooked


def overrides(trees: dict[Path, ast.Module], plugin_classes: dict[str, str]) -> list[Use]:
    """Methods a plugin subclass of freqtrade's exchange defines that freqtrade's class has too."""
    stock = freqtrade_class("Exchange")
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in plugin_classes:
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and hasattr(stock, item.name):
                        found.append(Use("Exchange", item.name, f"{path.stem}:{item.lineno}"))
    return found


def used_names(package: Path = PACKAGE) -> list[Use]:
    """Every use of freqtrade in the plugin's freqtrade layer, sorted."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sorted(package.glob("*.py"))}
    plugin_classes = _plugin_classes(trees)
    uses: list[Use] = []
    for path, tree in trees.items():
        visitor = _Module(path, plugin_classes)
        visitor.hooked = _hooked_functions(tree)
        # imports first (they may sit inside functions, below their first use in the file)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                visitor.visit(node)
        visitor.uses.clear()
        visitor.visit(tree)
        uses.extend(visitor.uses)
    uses.extend(overrides(trees, plugin_classes))
    return sorted(set(uses))


def defining_class(owner: str, name: str) -> str:
    """``Trade.delete_custom_data`` -> "LocalTrade": the class in the MRO that defines it (or ``owner``)."""
    cls = freqtrade_class(owner)
    for klass in inspect.getmro(cls):
        if name in vars(klass):
            return klass.__name__
    return cls.__name__
