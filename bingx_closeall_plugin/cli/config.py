"""freqtrade's config files, read as freqtrade reads them, without importing freqtrade.

The CLI runs without the ``[freqtrade]`` extra and must start fast, so it cannot call freqtrade's
``load_from_files``; this module follows it rule for rule (freqtrade 2026.9,
``freqtrade/configuration/load_config.py`` and ``freqtrade/misc.py``):

- each file is JSON as python-rapidjson parses it with ``PM_COMMENTS | PM_TRAILING_COMMAS`` (freqtrade's
  ``CONFIG_PARSE_MODE``): ``//`` and ``/* */`` comments and trailing commas are accepted;
- several files merge in order, a later file's values overriding an earlier one's, dictionaries merged key
  by key (``deep_merge_dicts``, where an explicit ``null`` also overrides);
- a file's ``add_config_files`` are loaded relative to that file (at most 5 levels deep); the file's own
  values win over its includes';
- ``FREQTRADE__EXCHANGE__KEY`` and ``FREQTRADE__EXCHANGE__SECRET`` override every file, as freqtrade's
  environment variables do (only these two are read: the CLI needs nothing else from the environment).

``tests/test_cli_operator.py`` compares the result with freqtrade's own loader on the same files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rapidjson

__all__ = ["ENV_OVERRIDES", "ConfigFileError", "deep_merge_dicts", "load_config_file", "load_from_files"]

# freqtrade's CONFIG_PARSE_MODE
PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS
MAX_INCLUDE_LEVEL = 5  # freqtrade's "Config loop detected." depth
# The environment variables honoured, and where each goes in the config.
ENV_OVERRIDES = {"FREQTRADE__EXCHANGE__KEY": ("exchange", "key"), "FREQTRADE__EXCHANGE__SECRET": ("exchange", "secret")}


class ConfigFileError(ValueError):
    """A config file that cannot be read or parsed; the text names the file (and the line, for JSON)."""


def deep_merge_dicts(source: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    """freqtrade's merge: ``source`` wins, dictionaries merged recursively; ``destination`` is modified and returned."""
    for key, value in source.items():
        if isinstance(value, dict):
            node = destination.setdefault(key, {})
            if not isinstance(node, dict):  # freqtrade would fail on this; a clear error instead
                raise ConfigFileError(f"config key {key!r} is an object in one file and not in another")
            deep_merge_dicts(value, node)
        else:
            destination[key] = value
    return destination


def load_config_file(path: str) -> dict[str, Any]:
    """One file, parsed with freqtrade's rules; must hold a JSON object."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as e:
        raise ConfigFileError(f"cannot read config {path!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigFileError(f"config {path!r} is not valid JSON: not UTF-8 text (byte {e.start})") from None
    try:
        config = rapidjson.loads(text, parse_mode=PARSE_MODE)
    except (ValueError, TypeError, OverflowError) as e:  # rapidjson.JSONDecodeError is a ValueError
        raise ConfigFileError(f"config {path!r} is not valid JSON (comments and trailing commas are fine, as in "
                              f"freqtrade): {e}{_where(text, e)}") from None
    if not isinstance(config, dict):
        raise ConfigFileError(f"config {path!r} must hold a JSON object, found {type(config).__name__}")
    return config


def _where(text: str, error: Exception) -> str:
    """rapidjson says 'at offset N'; an operator wants the line."""
    message = str(error)
    marker = message.rfind("offset ")
    if marker < 0:
        return ""
    digits = "".join(c for c in message[marker + 7:] if c.isdigit())
    if not digits:
        return ""
    offset = min(int(digits), len(text))
    line = text.count("\n", 0, offset) + 1
    return f" (line {line})"


def load_from_files(files: list[str], base_path: Path | None = None, level: int = 0) -> dict[str, Any]:
    """freqtrade's ``load_from_files``: the files merged in order, each with its ``add_config_files``.

    ``config_files`` in the result lists every file read, as freqtrade's does.
    """
    if level > MAX_INCLUDE_LEVEL:
        raise ConfigFileError("config loop detected: add_config_files nested more than 5 levels deep")
    config: dict[str, Any] = {}
    files_loaded: list[str] = []
    for filename in files:
        file = Path(filename)
        if base_path:
            file = base_path / file
        config_tmp = load_config_file(str(file))
        if "add_config_files" in config_tmp:
            included = config_tmp["add_config_files"]
            if not isinstance(included, list) or not all(isinstance(name, str) for name in included):
                raise ConfigFileError(f"config {str(file)!r}: add_config_files must be a list of file names")
            config_sub = load_from_files(included, file.resolve().parent, level + 1)
            files_loaded.extend(config_sub.get("config_files", []))
            config_tmp = deep_merge_dicts(config_tmp, config_sub)
        files_loaded.insert(0, str(file))
        config = deep_merge_dicts(config_tmp, config)
    config["config_files"] = files_loaded
    return config


def environment_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The honoured FREQTRADE__ variables as a nested dict (strings, never typed: a key is text)."""
    source: Mapping[str, str] = os.environ if environ is None else environ
    overrides: dict[str, Any] = {}
    for name, (section, key) in ENV_OVERRIDES.items():
        value = source.get(name)
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def load_config(files: list[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What freqtrade would run with for ``-c`` ``files``: merged, then the environment's keys over them."""
    return deep_merge_dicts(environment_overrides(environ), load_from_files(files))
