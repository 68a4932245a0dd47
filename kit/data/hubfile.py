"""Single files of a Hugging Face dataset repository, at a pinned revision: for repositories that are not
loadable with ``datasets`` (P3's DoIT: JSON-lines files per ability, a viewer-less card), read as the authors
read them.

``KIT_HUB_CLONES`` names a folder of local clones laid out as ``<owner>/<name>/`` (``git clone
https://huggingface.co/datasets/<owner>/<name> $KIT_HUB_CLONES/<owner>/<name>``): the files are read from there
and nothing is downloaded (the clone's commit is the user's to check; the provenance says it was a clone).
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from kit.data.schema import DataError

ENV_CLONES = "KIT_HUB_CLONES"
_COMMIT = re.compile(r"[0-9a-f]{40}")


def fetch(repo: str, pattern: str, revision: str | None) -> tuple[list[Path], dict]:
    """The local paths of the repository's files matching ``pattern`` (a path or a glob), sorted, and provenance."""
    clones = os.environ.get(ENV_CLONES)
    if clones:
        root = Path(clones).expanduser() / repo
        if not root.is_dir():
            raise DataError(
                f"{ENV_CLONES}={clones} has no clone of {repo!r} (expected the folder {root}); clone it there or "
                f"unset {ENV_CLONES} to download from the hub"
            )
        paths = sorted(
            p for p in root.rglob("*") if p.is_file() and fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern)
        )
        if not paths:
            raise DataError(f"no file matching {pattern!r} in the local clone {root}")
        return paths, {"repo": repo, "files": [p.relative_to(root).as_posix() for p in paths], "from": str(root)}
    try:
        from huggingface_hub import hf_hub_download, list_repo_files
    except ImportError as err:
        raise DataError("reading hub files needs huggingface_hub: pip install huggingface_hub") from err
    try:
        names = list_repo_files(repo, repo_type="dataset", revision=revision)
        wanted = sorted(n for n in names if fnmatch.fnmatch(n, pattern))
        if not wanted:
            raise DataError(
                f"{repo} at {revision or 'main'} has no file matching {pattern!r}; its files include: "
                f"{', '.join(sorted(names)[:20])}"
            )
        paths = [Path(hf_hub_download(repo, n, repo_type="dataset", revision=revision)) for n in wanted]
    except DataError:
        raise
    except Exception as err:  # offline, DNS, auth, a missing revision: the remedy is the same
        raise DataError(
            f"could not read {pattern!r} of the hub dataset {repo!r} at revision {revision or 'main'} "
            f"({type(err).__name__}: {err}). Without hub access, clone the repository into "
            f"${ENV_CLONES}/{repo} and set {ENV_CLONES}."
        ) from err
    commit = _snapshot_commit(paths[0]) or resolved_commit(repo, revision)
    return paths, {"repo": repo, "files": wanted, "revision": revision, "commit": commit}


def _snapshot_commit(path: Path) -> str | None:
    """The commit a file downloaded from the hub came from: its cache path is ``.../snapshots/<commit>/<file>``."""
    parts = path.parts
    found = [parts[i + 1] for i, part in enumerate(parts[:-1]) if part == "snapshots"]
    return found[-1] if found and _COMMIT.fullmatch(found[-1]) else None


def resolved_commit(repo: str, revision: str | None) -> str | None:
    """The commit ``revision`` (a branch, a tag, None for main, or a commit) of a hub dataset names now, for the
    manifest: a commit as given; else asked of the hub, None where it cannot be reached (the manifest then says
    only what was asked for)."""
    if revision is not None and _COMMIT.fullmatch(revision):
        return revision
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(repo, revision=revision).sha
    except Exception:  # offline, no huggingface_hub, a private repository: no commit to record
        return None


def download(repo: str, filename: str, revision: str, env: str) -> Path:
    """One file of a hub dataset repository at a pinned revision (an eval task's test set), or a DataError naming
    ``env``, the variable that points the task at a local copy instead."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as err:
        raise DataError(
            f"reading a hub test set needs huggingface_hub (pip install huggingface_hub), or set {env}"
        ) from err
    try:
        return Path(hf_hub_download(repo_id=repo, repo_type="dataset", filename=filename, revision=revision))
    except Exception as err:  # offline, DNS, a moved file: the remedy is the same
        raise DataError(
            f"could not download {filename} of the hub dataset {repo} at revision {revision} "
            f"({type(err).__name__}: {err}); set {env} to a local copy (the task module's docstring says of what)"
        ) from err
