"""Never leave a half-written file at an output path, never overwrite an input or a file that
appeared meanwhile.

Outputs are written to temporaries in the destination folder (same file system) and moved into
place only once complete; on any error, Ctrl-C included, the temporaries are removed and
whatever was at the final path before is untouched. Without overwrite the move never replaces
anything, even a file that appeared during the render (another render to the same output, a
user): a hard link (or renameat2 RENAME_NOREPLACE) fails instead, so of concurrent renders to
one output exactly one wins. Each temporary is named after its output and locked (flock) by the
process writing it; a later render of that output removes the ones no live process holds (left
by a killed render).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError

TEMP_PREFIX = ".colormotion-tmp-"
APPEARED = "output appeared during the render (another render or program wrote it) and was kept; pass --overwrite to replace it"


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


def _temp_prefix(final_name: str) -> str:
    return f"{TEMP_PREFIX}{final_name}-"


def _hold(path: Path) -> int:
    """An fd holding an exclusive lock on `path` for this process's life (or until released)."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def remove_stale_temps(folder: Path, final_name: str) -> list[Path]:
    """Remove the temporaries of `final_name` in `folder` that no live process holds."""
    removed = []
    prefix = _temp_prefix(final_name)
    try:
        names = [name for name in os.listdir(folder) if name.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        path = folder / name
        try:
            fd = _hold(path)
        except (BlockingIOError, FileNotFoundError, PermissionError):
            continue  # a live render owns it, it is gone already, or it is not ours to remove
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(source: Path, target: Path) -> None:
    """renameat2(RENAME_NOREPLACE) where the C library and file system have it."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def place(temp: Path, final: Path, *, overwrite: bool) -> None:
    """Move a finished temporary to its final path; without `overwrite` never replace anything."""
    if overwrite:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final)  # fails with EEXIST whatever appeared there, atomically
    except FileExistsError:
        raise OutputError(APPEARED, final) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        try:  # a file system without hard links (FAT, some network mounts)
            _rename_noreplace(temp, final)
        except FileExistsError:
            raise OutputError(APPEARED, final) from None
        return
    os.unlink(temp)


class AtomicFile:
    """A temporary path beside `final` (same extension, so writers pick the right format)."""

    def __init__(self, final: Path, *, overwrite: bool = False) -> None:
        self.final = Path(final)
        self.overwrite = overwrite
        prepare_folder(self.final.parent)
        remove_stale_temps(self.final.parent, self.final.name)
        handle, name = tempfile.mkstemp(
            dir=self.final.parent, prefix=_temp_prefix(self.final.name), suffix=self.final.suffix
        )
        os.close(handle)
        self.temp = Path(name)
        self._lock = _hold(self.temp)

    def commit(self) -> None:
        try:
            # mkstemp made the file private (0600): give it the mode a plain new file gets
            os.chmod(self.temp, 0o666 & ~_umask())
            place(self.temp, self.final, overwrite=self.overwrite)
        except OutputError:
            self.discard()
            raise
        except OSError as error:
            self.discard()
            raise OutputError(f"cannot move output into place: {error.strerror}", self.final) from None
        self._release()

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def write_text(path: Path, text: str, *, overwrite: bool) -> Path:
    """A small text file (a job, a plan, a hints file) written whole or not at all."""
    file = AtomicFile(Path(path), overwrite=overwrite)
    try:
        file.temp.write_text(text, encoding="utf-8")
    except BaseException:
        file.discard()
        raise
    file.commit()
    return Path(path)


class AtomicFolder:
    """Frames written into a temporary folder beside their final place, moved there on commit.

    Each frame file appears at its final path complete. Without overwrite, a frame that appeared
    at its path meanwhile stops the commit and the frames this commit placed are taken back, so
    of two renders to one sequence one wins whole; a failure keeps every frame that was already
    at the destination.
    """

    def __init__(self, folder: Path, name: str = "frames", *, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        prepare_folder(self.folder)
        remove_stale_temps(self.folder, name)
        self.temp = Path(tempfile.mkdtemp(dir=self.folder, prefix=_temp_prefix(name)))
        self._lock = _hold(self.temp)
        self._written: list[str] = []

    def temp_path(self, name: str) -> Path:
        self._written.append(name)
        return self.temp / name

    def commit(self) -> None:
        placed: list[Path] = []
        try:
            for name in self._written:
                place(self.temp / name, self.folder / name, overwrite=self.overwrite)
                placed.append(self.folder / name)
        except OutputError:
            for path in placed:  # ours: nothing else could have made them (no-replace)
                path.unlink(missing_ok=True)
            raise
        except OSError as error:
            raise OutputError(
                f"cannot move output frames into place: {error.strerror}", self.folder
            ) from None
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
