"""Training data: scene metadata, held-out split, paired augmentation, hint sampling, datasets.

The shared data lives outside the repo at ``../shared/data`` (relative to the repo root);
nothing from it is ever copied into the repository, only small JSON metadata.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
SCENES_DIR = Path(__file__).resolve().parent / "scenes"
DEFAULT_CACHE_DIR = REPO_ROOT / "runs" / "cache"
