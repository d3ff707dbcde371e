"""SHA-256 pins for everything engine/ downloads: checked before a file is unpacked, compiled against or run.

Maven Central publishes no checksum for the Elasticsearch integ-test zip, and Maven only warns on a
bad SHA-1 for the others, so the hashes we trust live in the repository: PINNED_SHA256 in
_elasticsearch.py for the zip, ``engine/opensearch/sha256-<version>.txt`` (``sha256sum`` format) for
the OpenSearch classpath and the ECJ compiler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ._common import EngineStartError


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Refuse ``path`` unless its SHA-256 is ``expected``, naming the file and both hashes."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise EngineStartError(
            f"{path}: SHA-256 {actual} does not match the pinned {expected.lower()}; refusing to use it "
            "(a corrupted or substituted download: delete it from ~/.m2 to download it again)"
        )


def read_manifest(path: Path) -> dict[str, str]:
    """Return {file name: sha256} from a ``sha256sum``-format file (``#`` comments allowed)."""
    if not path.is_file():
        raise EngineStartError(
            f"no pinned SHA-256 list {path}: after checking the artifacts, write one with "
            f"`sha256sum lib/*.jar tools/*.jar > {path.name}` (file names without directories)"
        )
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise EngineStartError(f"{path}:{number}: expected '<sha256>  <file name>', got {line!r}")
        pins[Path(parts[1].lstrip("*")).name] = parts[0].lower()
    return pins


def verify_files(files: Iterable[Path], manifest: Path) -> int:
    """Check every file against ``manifest``: an unpinned file is refused like a mismatched one. Returns the count."""
    pins = read_manifest(manifest)
    count = 0
    for path in sorted(files):
        expected = pins.get(path.name)
        if expected is None:
            raise EngineStartError(f"{path}: no pinned SHA-256 in {manifest}; refusing to use an unpinned artifact")
        verify_sha256(path, expected)
        count += 1
    return count
