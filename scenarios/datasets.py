"""Datasets: uploaded district folders as normalised, content-hashed zips.

A zip is *normalised* before it is hashed and stored: directory entries and desktop litter
(``__MACOSX/``, ``.DS_Store``) are dropped, one common top-level folder is stripped, entries
are sorted by path and written with fixed timestamps. The id of the content is the sha256 over
the (path, bytes) pairs, so the same folder zipped twice, by any tool, hashes the same.

The folder is validated by the same code as the CLI (``planner.validate`` and ``planner.io``)
through a :class:`DistrictLoader`, which tests may replace.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from planner.errors import Problem, ValidationFailed
from planner.model import District
from scenarios.errors import FieldError, Invalid

_IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class NormalisedZip:
    """A normalised district zip: its files, canonical zip bytes and content hash."""

    files: dict[str, bytes]
    content: bytes
    sha256: str


def normalise_zip(data: bytes, *, max_uncompressed: int, max_files: int = 1000) -> NormalisedZip:
    """Read an uploaded zip, check it is safe, and normalise it.

    Raises
    ------
    Invalid
        Not a zip, unsafe paths (absolute, ``..``), too many files, too large when unpacked,
        or no files.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Invalid(
            "the upload is not a zip file", [FieldError("file", "not a zip file")]
        ) from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        infos = [i for i in infos if not _ignored(i.filename)]
        if not infos:
            raise Invalid("the zip holds no files", [FieldError("file", "empty zip")])
        if len(infos) > max_files:
            raise Invalid(
                f"the zip holds {len(infos)} files; at most {max_files} are accepted",
                [FieldError("file", "too many files")],
            )
        total = sum(i.file_size for i in infos)
        if total > max_uncompressed:
            raise Invalid(
                f"the zip unpacks to {total:,} bytes; at most {max_uncompressed:,} are accepted",
                [FieldError("file", "too large when unpacked")],
            )
        files: dict[str, bytes] = {}
        for info in infos:
            name = _safe_name(info.filename)
            with zf.open(info) as fh:
                content = fh.read(max_uncompressed + 1)
            if len(content) > info.file_size:  # header lied about the size
                raise Invalid("the zip is corrupt", [FieldError(f"file/{name}", "size mismatch")])
            files[name] = content
    files = _strip_common_folder(files)
    digest = hashlib.sha256()
    for name in sorted(files):
        body = files[name]
        digest.update(name.encode() + b"\0" + str(len(body)).encode() + b"\0")
        digest.update(hashlib.sha256(body).digest())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zw:
        for name in sorted(files):
            zi = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zw.writestr(zi, files[name])
    return NormalisedZip(files=files, content=out.getvalue(), sha256=digest.hexdigest())


def _ignored(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p in _IGNORED_PARTS or p.startswith("._") for p in parts)


def _safe_name(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise Invalid(f"unsafe path in zip: '{name}'", [FieldError(f"file/{name}", "unsafe path")])
    return str(path)


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    heads = {PurePosixPath(n).parts[0] for n in files}
    if len(heads) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in files):
        return {str(PurePosixPath(*PurePosixPath(n).parts[1:])): b for n, b in files.items()}
    return files


def extract(files: dict[str, bytes], folder: Path) -> None:
    """Write normalised files under ``folder``."""
    for name, body in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def problem_path(p: Problem) -> str:
    """The ``file/row/column`` path of a validation problem (parts that are unknown left out)."""
    parts = [p.file]
    if p.row is not None:
        parts.append(str(p.row))
    if p.column:
        parts.append(p.column)
    return "/".join(parts)


def problem_message(p: Problem) -> str:
    """A one-line message: the value found and what was expected."""
    return f"{p.value}: {p.expected}" if p.value else p.expected


class DistrictLoader(Protocol):
    """Validates and loads a district folder (the CLI's code, or a fake in tests)."""

    def validate(self, folder: Path) -> list[Problem]:
        """Every problem in the folder (errors and warnings)."""
        ...

    def load(self, folder: Path) -> District:
        """A validated district; raises ``ValidationFailed``."""
        ...


class PlannerLoader:
    """The CLI's validation and loading (``planner.validate``, ``planner.io``), imported lazily."""

    def validate(self, folder: Path) -> list[Problem]:
        """Run ``planner.validate.validate_folder``; fall back to ``load_district``'s problems."""
        try:
            from planner.validate import validate_folder
        except ModuleNotFoundError:
            try:
                self.load(folder)
            except ValidationFailed as exc:
                return list(exc.problems)
            return []
        return list(validate_folder(folder))

    def load(self, folder: Path) -> District:
        """Run ``planner.io.load_district``."""
        from planner.io import load_district

        return load_district(folder)


def check_problems(problems: list[Problem]) -> list[Problem]:
    """Raise :class:`Invalid` with ``file/row/column`` paths when any problem is an error.

    Returns the warnings otherwise.
    """
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise Invalid(
            f"the district folder has {len(errors)} error(s)",
            [FieldError(problem_path(p), problem_message(p)) for p in errors],
        )
    return [p for p in problems if p.severity != "error"]


def district_info(d: District, warnings: list[Problem]) -> dict[str, Any]:
    """Counts and names shown for a dataset (no personal data)."""
    return {
        "district": d.name,
        "crs": d.crs,
        "schools": int(len(d.schools)),
        "units": int(len(d.units)),
        "teachers": 0 if d.teachers is None else int(len(d.teachers)),
        "pupils_primary": int(d.pupils("primary").sum()),
        "pupils_junior": int(d.pupils("junior").sum()),
        "warnings": [{"path": problem_path(p), "message": problem_message(p)} for p in warnings],
    }


class DistrictCache:
    """Unpacks stored datasets under ``root/<sha256>/`` and keeps a few loaded districts.

    Districts are immutable values (edits copy), so threads may share them.
    """

    def __init__(self, root: Path, loader: DistrictLoader, size: int = 4) -> None:
        self.root = Path(root)
        self.loader = loader
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, District] = OrderedDict()

    def get(self, sha256: str, content: Callable[[], bytes]) -> District:
        """The district of a dataset; ``content`` fetches its zip when not unpacked yet."""
        with self._lock:
            if sha256 in self._cache:
                self._cache.move_to_end(sha256)
                return self._cache[sha256]
        folder = self.folder(sha256, content)
        district = self.loader.load(folder)
        with self._lock:
            self._cache[sha256] = district
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return district

    def folder(self, sha256: str, content: Callable[[], bytes]) -> Path:
        """The unpacked folder of a dataset (unpacked atomically on first use)."""
        folder = self.root / sha256
        if folder.is_dir():
            return folder
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=self.root))
        try:
            with zipfile.ZipFile(io.BytesIO(content())) as zf:
                extract({n: zf.read(n) for n in zf.namelist()}, tmp)
            try:
                tmp.rename(folder)
            except OSError:  # another thread won the race
                if not folder.is_dir():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder
