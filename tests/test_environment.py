"""The pinned environment: requirements-lock.txt, pyproject.toml and environment.yml agree."""

import re

import tomllib
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from workbook import ROOT

LOCK = ROOT / "requirements-lock.txt"


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def declared_requirements():
    """pyproject's direct dependencies and extras, the project itself left out."""
    meta = project()
    extras = meta["optional-dependencies"]
    requirements = [Requirement(r) for r in meta["dependencies"] + extras["cluster"] + extras["test"]]
    return [r for r in requirements if canonicalize_name(r.name) != "aeworkbook"]


def locked_versions(environment=None):
    """{name: version} of the lock's pins that apply on this platform (or the given marker environment)."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", \
            f"the lock must pin exact versions: {line}"
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins[canonicalize_name(requirement.name)] = Version(next(iter(requirement.specifier)).version)
    return pins


def test_the_lock_pins_every_declared_package_inside_pyproject_ranges():
    pins = locked_versions()
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements-lock.txt (run .ci/lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"the lock pins {name}=={pins[name]}, outside pyproject's {requirement.specifier} (run .ci/lock)"


def test_the_lock_covers_every_supported_python():
    """Resolved for the lowest Python that pyproject allows, so a student on it gets pins too."""
    lowest = re.search(r">=\s*3\.(\d+)", project()["requires-python"]).group(1)
    environment = default_environment() | {"python_version": f"3.{lowest}", "python_full_version": f"3.{lowest}.0"}
    pins = locked_versions(environment)
    assert {canonicalize_name(r.name) for r in declared_requirements()} <= set(pins)


def test_environment_yml_installs_the_lock_and_the_project():
    """Conda supplies Python and pip; the packages come from the same lock as pip's install."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_packages = [item for item in environment["dependencies"] if isinstance(item, str)]
    pip_lines = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert sorted(re.split(r"[=<> ]", p)[0] for p in conda_packages) == ["pip", "python"]
    python = next(p for p in conda_packages if p.startswith("python"))
    lowest = re.search(r">=\s*(3\.\d+)", project()["requires-python"]).group(1)
    assert python.split("=", 1)[1] == lowest, "environment.yml's Python should be the one CI tests"
    assert pip_lines == ["-r requirements-lock.txt", "-e .[test]"]
