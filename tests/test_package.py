"""The kit as an installable package: pyproject's pins agree with requirements*.txt, the wheel carries what the kit
reads at run time, and its console script works from a folder outside the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from kit import env, runs
from kit.plan import measured_speed, plan
from kit.recipe import RecipeError, find_recipe, load_recipe, recipes_dir, shipped_recipes
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def specs(lines: list[str]) -> dict[str, str]:
    """{package: its version specifier, normalised} of requirement strings."""
    out = {}
    for line in lines:
        req = Requirement(line)
        out[req.name.lower()] = str(req.specifier)
    return out


def requirements(name: str) -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in (REPO / name).read_text().splitlines()]
    return specs([line for line in lines if line])


CPU, GPU, DIST = (
    requirements("requirements.txt"),
    requirements("requirements-gpu.txt"),
    requirements("requirements-dist.txt"),
)
CORE = specs(PYPROJECT["dependencies"])
EXTRAS = {name: specs(lines) for name, lines in PYPROJECT["optional-dependencies"].items()}


def test_dev_extra_copies_the_dev_tools_of_requirements_txt_and_core_leaves_them_out():
    dev = EXTRAS["dev"]
    assert dev and all(CPU[name] == spec for name, spec in dev.items())
    assert set(CORE) == set(CPU) - set(dev)


def test_dist_extra_copies_requirements_dist_txt():
    assert EXTRAS["dist"] == DIST
    assert "ray" in DIST


def test_gpu_extra_copies_requirements_gpu_txt_wherever_it_differs_from_the_cpu_path():
    dev = EXTRAS["dev"]
    differs = {name: spec for name, spec in GPU.items() if name not in dev and CPU.get(name) != spec}
    assert EXTRAS["gpu"] == differs
    assert "unsloth" in EXTRAS["gpu"]


def _pin(spec: str) -> Version | None:
    return Version(spec[2:]) if spec.startswith("==") and "," not in spec else None


def _newer(version: Version) -> list[Version]:
    major, minor, micro = (list(version.release) + [0, 0])[:3]
    return [Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}.0"), Version(f"{major + 1}.0.0")]


@pytest.mark.parametrize("name", sorted(CORE))
def test_core_pin_resolves_to_the_cpu_path_and_admits_the_gpu_path(name):
    """Same pin in both files, or a range on the CPU path: copied as is. An exact CPU pin that the GPU file pins
    otherwise: the core range holds it and nothing newer (pip takes the newest, so a plain install is the CPU
    path), and the GPU path still resolves inside it (its pin in the range, or its range holding the CPU pin)."""
    core, cpu, gpu = SpecifierSet(CORE[name]), CPU[name], GPU.get(name)
    if gpu is None or gpu == cpu or _pin(cpu) is None:
        assert CORE[name] == cpu
    else:
        assert _pin(cpu) in core and not any(v in core for v in _newer(_pin(cpu)))
    if gpu is not None and gpu != cpu:
        assert _pin(gpu) in core if _pin(gpu) else (_pin(cpu) is not None and _pin(cpu) in SpecifierSet(gpu))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("*.whl")
    return found


def test_wheel_carries_recipes_assets_reference_csvs_and_the_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for recipe in shipped_recipes():
        assert f"kit/shipped_recipes/{recipe.name}" in names
    for folder in ("kit/assets", "kit/report/reference"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.relative_to(REPO).as_posix() in names
    assert not any(name.startswith(("tests/", "results/", "recipes/")) for name in names)
    meta = zipfile.ZipFile(wheel)
    entry_points = meta.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert re.search(r"^sftmix = kit\.cli:main$", entry_points, re.M)
    metadata = meta.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: llama-cpp-python==0.3.36" in metadata
    assert "Provides-Extra: gpu" in metadata


RUN_ID = re.compile(r"\b[0-9a-f]{12}\b")


def test_installed_console_script_validates_and_plans_from_outside_the_checkout(wheel, tmp_path, monkeypatch):
    """The wheel installed on its own (the .venv supplying its dependencies), run where the checkout is not
    importable: it finds its shipped recipes, plans the same run ids as the checkout, writes results under ./"""
    site, work, home = tmp_path / "site", tmp_path / "work", tmp_path / "home"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(site)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    environ = {k: v for k, v in os.environ.items() if k not in ("KIT_RESULTS", "PYTHONPATH")}
    environ |= {"PYTHONPATH": str(site), "KIT_HOME": str(home)}

    def sftmix(*args: str) -> str:
        proc = subprocess.run(
            [str(site / "bin" / "sftmix"), *args], cwd=work, env=environ, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    validated = sftmix("validate")
    assert f"{len(shipped_recipes())} recipe(s), 0 failure(s)" in validated
    assert str(site / "kit" / "shipped_recipes") in validated
    by_path, by_name = sftmix("plan", "recipes/rq1.yaml", "--profile", "cpu"), sftmix("plan", "rq1", "--profile", "cpu")
    monkeypatch.setenv("KIT_HOME", str(home))
    recipe = load_recipe(REPO / "recipes" / "rq1.yaml", profile="cpu")
    expected = {line.run_id for line in plan(recipe, measured_speed(recipe.profile, recipe, None))}
    assert set(RUN_ID.findall(by_path)) >= expected and set(RUN_ID.findall(by_name)) >= expected
    code = "from kit import env, runs; print(runs.results_root(), env.git_commit(), runs.in_checkout())"
    probe = subprocess.run([sys.executable, "-c", code], cwd=work, env=environ, capture_output=True, text=True)
    assert probe.stdout.split() == [str(work / "results"), "None", "False"], probe.stderr


def test_a_checkout_keeps_its_own_results_folder_and_recipes(monkeypatch):
    monkeypatch.delenv("KIT_RESULTS", raising=False)
    assert runs.in_checkout() and runs.results_root() == REPO / "results"
    assert recipes_dir() == REPO / "recipes" and shipped_recipes()[0].parent == REPO / "recipes"
    assert env.git_commit() is None or re.match(r"^[0-9a-f]{40}", env.git_commit())


def test_kit_results_beats_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_RESULTS", str(tmp_path))
    assert runs.results_root() == tmp_path


def test_a_shipped_recipe_is_found_by_name_or_by_its_checkout_path_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = recipes_dir() / "rq1.yaml"
    assert find_recipe("rq1") == find_recipe("rq1.yaml") == find_recipe("recipes/rq1.yaml") == shipped
    assert find_recipe("elsewhere/rq1.yaml") == Path("elsewhere/rq1.yaml")  # another folder is never redirected


def test_a_local_file_wins_over_a_shipped_recipe_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rq1.yaml").write_text("name: mine\n")
    assert find_recipe("rq1.yaml") == Path("rq1.yaml")


def test_an_unknown_recipe_name_fails_naming_the_ls_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecipeError, match="ls recipes"):
        load_recipe("no_such_recipe")
