"""Zip normalisation: same content → same hash, whatever the zip tool; unsafe zips refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from scenarios.datasets import normalise_zip
from scenarios.errors import Invalid
from tests.scenarios.fakes import zip_folder

LIMIT = 10_000_000


def test_hash_ignores_order_folder_and_litter(tiny_folder: Path) -> None:
    a = normalise_zip(zip_folder(tiny_folder), max_uncompressed=LIMIT)
    b = normalise_zip(
        zip_folder(tiny_folder, prefix="county/", reverse=True), max_uncompressed=LIMIT
    )
    buf = io.BytesIO(zip_folder(tiny_folder))
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("__MACOSX/._schools.csv", b"junk")
        zf.writestr(".DS_Store", b"junk")
    c = normalise_zip(buf.getvalue(), max_uncompressed=LIMIT)
    assert a.sha256 == b.sha256 == c.sha256
    assert a.content == b.content
    assert "schools.csv" in a.files


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in entries.items():
            zf.writestr(name, body)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"not a zip", "the upload is not a zip file"),
        (_zip({"../evil.csv": b"x"}), "unsafe path in zip: '../evil.csv'"),
        (_zip({"/etc/x.csv": b"x"}), "unsafe path in zip: '/etc/x.csv'"),
        (
            _zip({"big.csv": b"0" * 2000}),
            "the zip unpacks to 2,000 bytes; at most 1,000 are accepted",
        ),
        (_zip({"__MACOSX/x": b""}), "the zip holds no files"),
    ],
)
def test_unsafe_or_broken_zips(data: bytes, detail: str) -> None:
    with pytest.raises(Invalid) as err:
        normalise_zip(data, max_uncompressed=1000)
    assert err.value.detail == detail
