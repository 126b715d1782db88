"""bingx-closeall as an operator who never read the code expects it (issue 11 §1-§3): real processes, real
files, the simulator."""

from __future__ import annotations

import json
import os
import socket

import pytest
from test_cli import run_on_terminal, seed_account

from bingx_closeall_plugin.cli.config import load_from_files
from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET, run_cli

MAIN_CONFIG = """{
    // freqtrade accepts comments and trailing commas; so does bingx-closeall
    "exchange": {
        "name": "bingx",
        "ccxt_config": {"urls": {"api": URLS}},
        /* the keys live in secrets.json */
    },
}
"""


def urls_of(sim):
    return json.dumps(dict.fromkeys(("swap", "cswap", "spot", "contract"), sim.base_url + "/openApi"))


def without_base_url(env):
    return {k: v for k, v in env.items() if k != "BINGX_BASE_URL"}


def test_a_commented_config_and_a_second_secrets_file_merge_into_one_account(sim, cli_env, tmp_path):
    seed_account(sim)
    main = tmp_path / "config.json"
    main.write_text(MAIN_CONFIG.replace("URLS", urls_of(sim)))
    secrets = tmp_path / "secrets.json"
    secrets.write_text(f'{{"exchange": {{"key": "{API_KEY}", "secret": "{API_SECRET}",}},}}')

    done = run_cli(["--yes", "-c", str(main), "--config", str(secrets)], without_base_url(cli_env))

    assert done.returncode == 0, done.stderr
    assert sim.positions() == [] and len(sim.requests_to("closeAllPositions")) == 1


def test_the_merge_is_freqtrades_own(tmp_path):
    """Same files, freqtrade's loader and the CLI's: the same config (add_config_files, nulls, nested keys)."""
    load_config = pytest.importorskip("freqtrade.configuration.load_config")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "extra.json").write_text('{"exchange": {"ccxt_config": {"timeout": 5}}, "a": [1],}')
    (tmp_path / "one.json").write_text('{"add_config_files": ["sub/extra.json"], // included\n'
                                       '"exchange": {"name": "bingx", "key": "k1", "ccxt_config": {"timeout": 1}},'
                                       '"a": [0], "b": {"c": 1, "d": 2}}')
    (tmp_path / "two.json").write_text('{"exchange": {"key": "k2", "secret": "s2"}, "b": {"d": null}, }')
    files = [str(tmp_path / "one.json"), str(tmp_path / "two.json")]

    ours = load_from_files(files)

    assert ours == load_config.load_from_files(files)
    assert (ours["exchange"]["key"] == "k2" and ours["exchange"]["ccxt_config"]["timeout"] == 1 and ours["a"] == [0]
            and ours["b"]["d"] is None)


def test_freqtrade_environment_variables_give_the_keys(sim, cli_env, tmp_path):
    seed_account(sim)
    main = tmp_path / "config.json"
    main.write_text(MAIN_CONFIG.replace("URLS", urls_of(sim)))
    env = without_base_url(cli_env)
    del env["BINGX_API_KEY"], env["BINGX_API_SECRET"]
    env.update(FREQTRADE__EXCHANGE__KEY=API_KEY, FREQTRADE__EXCHANGE__SECRET=API_SECRET)

    with_config = run_cli(["--yes", "-c", str(main)], env)

    assert with_config.returncode == 0, with_config.stderr
    assert sim.positions() == []


def test_one_environment_key_over_several_accounts_is_refused(sim, cli_env, tmp_path):
    seed_account(sim)
    paths = []
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text('{"exchange": {"name": "bingx", "key": "k", "secret": "s"}}')
        paths += ["--account", str(tmp_path / name)]

    done = run_cli(["--yes", *paths], {**cli_env, "FREQTRADE__EXCHANGE__KEY": API_KEY})

    assert done.returncode == 2 and "would override the key of every --account" in done.stderr
    assert sim.requests == []


def test_a_broken_config_names_its_line_and_sends_nothing(sim, cli_env, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{\n  "exchange": {\n    "name": "bingx"\n    "key": "x"\n  }\n}\n')

    done = run_cli(["--yes", "-c", str(path)], cli_env)

    assert done.returncode == 2 and "not valid JSON" in done.stderr and "line 4" in done.stderr
    assert "Traceback" not in done.stderr and sim.requests == []


def test_config_and_account_exclude_each_other(sim, cli_env, tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")

    done = run_cli(["--yes", "-c", str(path), "--account", str(path)], cli_env)

    assert done.returncode == 2 and "exclude each other" in done.stderr and sim.requests == []


def test_an_empty_bingx_base_url_is_refused_not_live(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes"], {**cli_env, "BINGX_BASE_URL": ""})

    assert done.returncode == 2 and "BINGX_BASE_URL is empty" in done.stderr
    assert sim.requests == [] and len(sim.positions()) == 2


def test_the_target_is_named_in_the_output_and_the_json(sim, cli_env):
    seed_account(sim)

    text = run_cli(["--dry-run"], cli_env)
    document = json.loads(run_cli(["--yes", "--json"], cli_env).stdout)

    assert f"custom endpoint {sim.base_url}" in text.stdout and f"BINGX_API_KEY {API_KEY[:4]}…" in text.stdout
    assert API_KEY not in text.stdout + text.stderr
    assert document["target"] == {"endpoint": "custom", "url": sim.base_url, "account": f"BINGX_API_KEY {API_KEY[:4]}…"}


def test_live_and_demo_are_named_as_such():
    """Pure logic (no request may reach BingX from a test): the names an operator reads for the real endpoints."""
    from bingx_closeall_plugin.cli import Account, short_key, target_of

    live = target_of(Account(f"BINGX_API_KEY {short_key('abcdefghijklmnop')}", "abcdefghijklmnop", "s" * 16, None,
                             False))
    demo = target_of(Account("bot.json", "k" * 16, "s" * 16, None, True))

    assert str(live) == "LIVE BingX https://open-api.bingx.com, account BINGX_API_KEY abcd…"
    assert demo.endpoint == "demo" and str(demo).startswith("BingX demo (VST) https://open-api-vst.bingx.com")


def test_the_prompt_names_the_target_and_nothing_open_asks_nothing(sim, cli_env):
    code, out, err = run_on_terminal([], cli_env, "y\n")

    assert code == 0 and "[y/N]" not in out + err
    assert out.strip().splitlines()[-1].startswith("FLAT: nothing open on custom endpoint")
    assert {r.method for r in sim.requests} == {"GET"}

    seed_account(sim)
    code, out, err = run_on_terminal([], cli_env, "n\n")
    assert code == 1 and f"on custom endpoint {sim.base_url}, account BINGX_API_KEY" in out + err
    assert "Close 2 position(s) with market orders and cancel 1 open order(s)" in out + err


def test_flat_ends_on_one_line_with_the_time_to_verified_flat(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes"], cli_env)

    last = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0 and last.startswith("FLAT: custom endpoint") and last.endswith(" s")
    assert "verified flat in" in last


def test_not_flat_names_what_remains_and_what_to_do_and_each_error_once(sim, cli_env):
    seed_account(sim)
    sim.inject("closeAllPositions", Fault.failed("ETH-USDT"), times=10)

    done = run_cli(["--yes"], cli_env)

    last = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1
    assert last.startswith("NOT FLAT after") and "ETH-USDT SHORT" in last and "Next:" in last
    errors = [line for line in done.stderr.splitlines() if line.startswith("bingx-closeall:")]
    for line in errors:
        assert line.split("] ", 1)[-1] not in done.stdout  # once, on stderr only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_says_nothing_was_sent(cli_env):
    port = free_port()  # closed again: connections to it are refused

    done = run_cli(["--yes", "--base-url", f"http://127.0.0.1:{port}"], cli_env)

    assert done.returncode == 5, done.stderr
    assert f"could not reach 127.0.0.1:{port} (connection refused): nothing was sent" in done.stderr
    assert done.stderr.count("could not reach") == 1 and "could not reach" not in done.stdout.rsplit("\n", 2)[0]
    assert done.stdout.strip().splitlines()[-1].startswith("NOT FLAT")
    assert "Traceback" not in done.stdout + done.stderr


def test_help_lists_the_exit_codes():
    done = run_cli(["--help"], dict(os.environ))

    assert done.returncode == 0
    for line in ("0  flat", "1  not flat", "2  usage", "3  authentication", "4  rate limited", "5  network"):
        assert line in done.stdout
