"""The Rez package: its build step lays out exactly the folders its commands() put on the paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


class _RecordingVariable:
    def __init__(self, name: str, record: dict[str, list[str]]):
        self.name, self.record = name, record

    def prepend(self, value: str) -> None:
        self.record.setdefault(self.name, []).insert(0, value)

    def set(self, value: str) -> None:
        self.record[self.name] = [value]


class _RecordingEnv:
    """Stands in for the `env` object Rez injects into commands()."""

    def __init__(self):
        self.record: dict[str, list[str]] = {}

    def __getattr__(self, name: str) -> _RecordingVariable:
        return _RecordingVariable(name, self.record)


def _package_definition() -> dict:
    namespace: dict = {}
    exec((REPO_ROOT / "package.py").read_text(), namespace)
    return namespace


def test_package_definition_names_version_and_requirements():
    package = _package_definition()
    import colormotion

    assert package["name"] == "colormotion"
    assert package["version"] == colormotion.__version__
    assert any(req.startswith("python-") for req in package["requires"])
    assert any(req.startswith("onnxruntime") for req in package["requires"])


def test_rez_build_lays_out_every_path_commands_sets(tmp_path: Path):
    install_root = tmp_path / "colormotion" / _package_definition()["version"]
    env = dict(os.environ, REZ_BUILD_PATH=str(install_root))
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "ofx_bridge" / "rez_build.py"), str(REPO_ROOT)],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )

    package = _package_definition()
    recording = _RecordingEnv()
    package["env"] = recording
    package["commands"].__globals__["env"] = recording
    package["commands"]()
    paths = {
        name: [Path(v.replace("{root}", str(install_root))) for v in values]
        for name, values in recording.record.items()
    }

    assert (paths["PYTHONPATH"][0] / "colormotion" / "node.py").is_file()
    assert (
        paths["OFX_PLUGIN_PATH"][0]
        / "ColorMotion.ofx.bundle"
        / "Contents"
        / "Linux-x86-64"
        / "ColorMotion.ofx"
    ).is_file()
    assert (paths["NUKE_PATH"][0] / "menu.py").is_file()
    assert (paths["COLORMOTION_MODEL_DIR"][0]).is_dir()
    launcher = paths["PATH"][0] / "colormotion"
    result = subprocess.run(
        [str(launcher), "--version"],
        env=dict(os.environ, PYTHONPATH=str(paths["PYTHONPATH"][0])),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert _package_definition()["version"] in result.stdout


def test_the_wheel_installs_every_model_file_where_the_runtime_looks(tmp_path: Path, monkeypatch):
    """pyproject's data-files must carry all of models/ (the model folder too) to
    sys.prefix/share/colormotion/models, the last place `default_model_path` searches."""
    import glob
    import shutil

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from colormotion import model

    data_files = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    installed = {}
    for target, patterns in data_files.items():
        for pattern in patterns:
            for source in glob.glob(pattern, root_dir=REPO_ROOT):
                installed[source] = f"{target}/{Path(source).name}"
    shipped = [
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "models").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert sorted(installed) == sorted(shipped)
    for source, target in installed.items():
        assert target == "share/colormotion/" + source, source  # the layout of models/, kept
        destination = tmp_path / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / source, destination)
    # an installed wheel: no repository models/, the files under the prefix
    monkeypatch.setattr(model, "_repo_models_dir", lambda: tmp_path / "no-repository")
    monkeypatch.setattr(model.sys, "prefix", str(tmp_path))
    monkeypatch.delenv("COLORMOTION_MODEL", raising=False)
    monkeypatch.delenv("COLORMOTION_MODEL_DIR", raising=False)
    found = model.default_model_path()
    assert found.parent == tmp_path / "share" / "colormotion" / "models"
    assert model.load_model(found).sha256 == model.load_model(REPO_ROOT / "models" / found.name).sha256
