"""Files uploaded to be loaded: written to a temporary file under their own, cleaned-up name,
since the loaders read a path, name the file in their messages and pick CSV or XLSX by its
suffix."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from geogrid.errors import LoadError


@contextmanager
def saved_upload(upload: UploadFile, limit: int, default: str = "file") -> Iterator[Path]:
    """``upload`` as a temporary file (removed afterwards); LoadError when it is larger than
    ``limit`` bytes."""
    name = re.sub(r"[^\w.\-]", "_", Path(upload.filename or default).name)[:100] or default
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        raise LoadError(f"{name} is larger than {limit} bytes")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        yield path
