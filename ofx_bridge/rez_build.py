"""Rez build step (package.py's build_command): lay the package out under the install root.

    python ofx_bridge/rez_build.py SOURCE_ROOT [install]

Layout, matching package.py's commands(): plugin/ (the Python package), models/, bin/colormotion,
ofx/ColorMotion.ofx.bundle (built against the Python of this Rez environment) and nuke/menu.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

LAUNCHER = """#!/bin/sh
exec "{python}" -m colormotion.cli.main "$@"
"""


def main(argv: list[str]) -> int:
    source = Path(argv[1]).resolve()
    installing = len(argv) > 2 and argv[2] == "install"
    target = Path(os.environ["REZ_BUILD_INSTALL_PATH"] if installing else os.environ["REZ_BUILD_PATH"])
    target.mkdir(parents=True, exist_ok=True)

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(source / "plugin", target / "plugin", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(source / "models", target / "models", dirs_exist_ok=True)
    shutil.copytree(source / "ofx_bridge" / "nuke", target / "nuke", ignore=ignore, dirs_exist_ok=True)

    launcher = target / "bin" / "colormotion"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text(LAUNCHER.format(python=sys.executable))
    launcher.chmod(0o755)

    # built from the source tree: the bundle compiles the C loader found in ofx_bridge/
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(source / "plugin"), os.environ.get("PYTHONPATH", "")])
    )
    subprocess.run(
        [sys.executable, "-m", "colormotion.cli.main", "ofx", "build", "--out", str(target / "ofx")],
        check=True,
        env=env,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
