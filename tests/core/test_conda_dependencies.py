"""CondaDependencies: SDK v1's defaults and edits, environment files, clear errors."""

from __future__ import annotations

import pytest

from hyperpipe.core import CondaDependencies
from hyperpipe.exceptions import UserErrorException


def test_create_replaces_the_default_pip_packages_and_edits_replace_versions():
    default = CondaDependencies()
    assert default.pip_packages == ["azureml-defaults"]
    assert default.conda_channels == ["anaconda", "conda-forge"]
    deps = CondaDependencies.create(pip_packages=["numpy==1.0"], conda_packages=["scipy"])
    assert deps.pip_packages == ["numpy==1.0"]
    deps.add_pip_package("numpy==2.0")
    deps.add_conda_package("scipy=1.11")
    deps.set_python_version("3.11")
    assert deps.pip_packages == ["numpy==2.0"]
    assert deps.conda_packages == ["python=3.11", "scipy=1.11"]
    assert deps.get_python_version() == "3.11"
    deps.remove_pip_package("numpy")
    assert deps.pip_packages == []


def test_an_environment_file_round_trips_and_bad_files_are_named(tmp_path):
    deps = CondaDependencies.create(pip_packages=["torch"], python_version="3.10")
    deps.add_channel("pytorch")
    saved = deps.save(tmp_path / "env.yml")
    assert CondaDependencies(saved) == deps
    (tmp_path / "bad.yml").write_text("name: x\nbuild: [1]\n")
    with pytest.raises(UserErrorException, match="unknown key 'build' in the conda specification"):
        CondaDependencies(tmp_path / "bad.yml")
    with pytest.raises(UserErrorException, match="cannot read the conda specification"):
        CondaDependencies(tmp_path / "missing.yml")
