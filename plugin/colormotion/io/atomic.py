"""Never leave a half-written file at an output path, never overwrite an input.

Outputs are written to temporaries in the destination folder (same file system, so the final
os.replace is atomic) and moved into place only once complete; on any error, Ctrl-C included,
the temporaries are removed and whatever was at the final path before is untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError

TEMP_PREFIX = ".colormotion-tmp-"


def prepare_folder(folder: Path) -> None:
    """Create the output folder if needed and check that files can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create output folder: {error.strerror}", folder) from None
    if not folder.is_dir():
        raise OutputError("output folder is not a folder", folder)
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=TEMP_PREFIX)
    except OSError as error:
        raise OutputError(f"output folder is not writable: {error.strerror}", folder) from None
    probe.close()


def check_targets(targets: Iterable[Path], inputs: Iterable[Path], *, overwrite: bool) -> None:
    """Refuse outputs that are inputs (always) or that exist (unless `overwrite`)."""
    targets = list(targets)
    input_keys = {_file_key(path) for path in inputs}
    input_keys.discard(None)
    input_paths = {_resolved(path) for path in inputs}
    for target in targets:
        if _resolved(target) in input_paths or (_file_key(target) in input_keys):
            raise OutputError("output is the input; choose another output path", target)
    if not overwrite:
        for target in targets:
            if target.exists() or target.is_symlink():
                raise OutputError("output exists; pass --overwrite to replace it", target)
    for target in targets:
        if target.is_dir():
            raise OutputError("output is a folder", target)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _file_key(path: Path) -> tuple[int, int] | None:
    """(device, inode): the same file under another name (hard link, bind mount)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A temporary path beside `final` (same extension, so writers pick the right format)."""

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        prepare_folder(self.final.parent)
        handle, name = tempfile.mkstemp(dir=self.final.parent, prefix=TEMP_PREFIX, suffix=self.final.suffix)
        os.close(handle)
        self.temp = Path(name)

    def commit(self) -> None:
        try:
            # mkstemp made the file private (0600): give it the mode a plain new file gets
            os.chmod(self.temp, 0o666 & ~_umask())
            os.replace(self.temp, self.final)
        except OSError as error:
            self.discard()
            raise OutputError(f"cannot move output into place: {error.strerror}", self.final) from None

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


class AtomicFolder:
    """Frames written into a temporary folder beside their final place, moved there on commit.

    Each frame file appears at its final path complete (os.replace); a failure removes the
    temporary folder and keeps every frame that was already at the destination.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        prepare_folder(self.folder)
        self.temp = Path(tempfile.mkdtemp(dir=self.folder, prefix=TEMP_PREFIX))
        self._written: list[str] = []

    def temp_path(self, name: str) -> Path:
        self._written.append(name)
        return self.temp / name

    def commit(self) -> None:
        try:
            for name in self._written:
                os.replace(self.temp / name, self.folder / name)
        except OSError as error:
            raise OutputError(
                f"cannot move output frames into place: {error.strerror}", self.folder
            ) from None
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)
