"""The package as a user installs it: a wheel built from the checkout, installed into an environment outside the
clone, its console scripts and a live bot run from there (with the example config and strategy the docs copy).

The wheel goes into a fresh venv with ``--no-deps``; the dependencies come from the suite's own environment,
appended to the new venv's path after its own site-packages (a path line, so the suite's editable install of the
clone is never activated there). The full install, dependencies and all, on every supported freqtrade release,
is the release matrix's (scripts/matrix installs the wheel with its [freqtrade] extra).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("freqtrade")

from test_walkthrough_bot import walkthrough

pytestmark = [pytest.mark.freqtrade, pytest.mark.contract]

ROOT = Path(__file__).resolve().parent.parent


def _build(kind: str, out: Path) -> Path:
    """``build_wheel`` / ``build_sdist`` of setuptools' PEP 517 backend, on a copy of the checkout (a build in the
    clone would leave build/ and egg-info there)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    source = out / "source"
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    code = f"from setuptools import build_meta; print(build_meta.build_{kind}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=source, check=False, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def package_data() -> list[str]:
    """Every file of the package that is not Python source, as tracked in the checkout."""
    tracked = subprocess.run(["git", "ls-files", "bingx_closeall_plugin"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split()
    return sorted(name for name in tracked if not name.endswith(".py"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(the venv's bin directory, the environment to run it in) with the wheel installed, away from the clone."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build("wheel", work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           "--no-compile", str(wheel)], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # after the install, so pip sees an empty venv (the suite's environment may hold the package, as in the matrix)
    (site / "zz-suite-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_VERSION")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    return venv / "bin", env


def run(bin_dir: Path, env: dict[str, str], cwd: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / command[0]), *command[1:]], cwd=cwd, env=env, check=False,
                          capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_every_package_file_and_the_sdist_builds(tmp_path):
    wheel = _build("wheel", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = package_data()
    assert {"bingx_closeall_plugin/py.typed", "bingx_closeall_plugin/freqtrade/bingx_leverage_tiers.json"} <= set(data)
    assert [name for name in data if name not in names] == [], "package files the wheel lacks"
    # nothing loads the plugin into a plain `freqtrade` (docs/freqtrade.md): no .pth, console scripts only
    assert not [name for name in names if name.endswith(".pth")]
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert [line for line in entry_points.splitlines() if line.startswith("[")] == ["[console_scripts]"]

    sdist = _build("sdist", tmp_path / "sdist")
    assert sdist.name.endswith(".tar.gz") and sdist.stat().st_size > 0


def test_the_installed_package_runs_from_outside_the_clone(installed, tmp_path):
    bin_dir, env = installed
    where = run(bin_dir, env, tmp_path, "python", "-c", "import bingx_closeall_plugin as p; print(p.__file__)")
    assert where.returncode == 0, where.stderr
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(bin_dir.parent) and not package.is_relative_to(ROOT)
    # every package file the checkout has is in the installed package (the tiers the keyless bot reads, py.typed)
    assert [name for name in package_data() if not (package.parent / name).is_file()] == []

    demo = run(bin_dir, env, tmp_path, "bingx-closeall-demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FLAT" in demo.stdout

    helped = run(bin_dir, env, tmp_path, "bingx-closeall", "--help")
    assert helped.returncode == 0 and "usage: bingx-closeall" in helped.stdout

    import ccxt
    import freqtrade

    version = run(bin_dir, env, tmp_path, "freqtrade-bingx", "--version")
    assert version.returncode == 0, version.stderr
    first = version.stdout.splitlines()[0]
    assert first.startswith("bingx-closeall-plugin 0.1.0 (") and f"freqtrade {freqtrade.__version__}" in first
    assert f"ccxt {ccxt.__version__}" in first


def test_a_live_bot_from_the_installed_package_flattens_with_the_docs_example(installed, tmp_path):
    from bingx_closeall_plugin.simulator import BingXSimulator

    bin_dir, env = installed
    sim = BingXSimulator(api_key="sim-key", api_secret="sim-secret").start()
    try:
        # freqtrade-client is freqtrade's (a dependency, installed with the suite's environment)
        walkthrough(sim, tmp_path, bin_dir, env, client=Path(sys.executable).with_name("freqtrade-client"))
        assert len(sim.requests_to("trade/closeAllPositions")) == 1
    finally:
        sim.stop()
