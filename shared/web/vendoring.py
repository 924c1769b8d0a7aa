"""Fetch the pinned npm packages of assets.lock.json into vendor/, with the stdlib only.

No Node.js: each tarball comes over HTTPS from the npm registry (or the mirror named
by JOURNEYMAP_NPM_REGISTRY), its sha512 is checked against the integrity pinned in
the lock file before anything is read out of it, and only the files the lock lists are
written, each atomically. A stamp holding the lock file's sha256 makes a repeat run a
no-op. scripts/vendor_assets.py is the command; the functions here are what it runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
LOCK_FILE = HERE / "assets.lock.json"
VENDOR_DIR = HERE / "vendor"
STAMP_NAME = ".lock-sha256"
NPM_REGISTRY = "https://registry.npmjs.org"
REGISTRY_ENV = "JOURNEYMAP_NPM_REGISTRY"
MAX_TARBALL_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024
TIMEOUT_SECONDS = 120.0


class VendorError(Exception):
    """The lock file, a tarball or a file in it cannot be used; nothing was written."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    tarball: str
    integrity: str
    files: dict[str, str]  # path inside the tarball -> file name in vendor/

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def read_lock(text: str) -> list[Package]:
    """The packages of a lock file, checked: safe paths, sha512 integrity, unique names."""
    try:
        entries = json.loads(text)["packages"]
        packages = [
            Package(
                name=str(entry["name"]),
                version=str(entry["version"]),
                tarball=str(entry["tarball"]),
                integrity=str(entry["integrity"]),
                files={str(k): str(v) for k, v in dict(entry["files"]).items()},
            )
            for entry in entries
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise VendorError(f"the lock file is malformed: {error!r}") from error
    stored: set[str] = set()
    for package in packages:
        _sha512_digest(package)
        if not package.tarball.startswith("https://"):
            raise VendorError(f"{package.label}: the tarball URL is not https: {package.tarball}")
        if not package.files:
            raise VendorError(f"{package.label}: the lock file lists no files to copy")
        for member, name in package.files.items():
            check_member_path(package, member)
            check_stored_name(package, name)
            if name in stored:
                raise VendorError(f"{package.label}: {name!r} is stored by two packages")
            stored.add(name)
    return packages


def check_member_path(package: Package, member: str) -> None:
    """A path inside the tarball: relative, under package/, without `..`."""
    path = PurePosixPath(member)
    if (
        path.is_absolute()
        or "\\" in member
        or ".." in path.parts
        or len(path.parts) < 2
        or path.parts[0] != "package"
    ):
        raise VendorError(f"{package.label}: refusing unsafe tarball path {member!r}")


def check_stored_name(package: Package, name: str) -> None:
    """A file name in vendor/: one plain name, not hidden (the stamp and temp files are)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise VendorError(f"{package.label}: refusing unsafe file name {name!r}")


def _sha512_digest(package: Package) -> bytes:
    algorithm, _, encoded = package.integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(
            f"{package.label}: integrity must be sha512-<base64>, got {package.integrity!r}"
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise VendorError(f"{package.label}: integrity is not base64: {encoded!r}") from error
    if len(digest) != hashlib.sha512().digest_size:
        raise VendorError(f"{package.label}: integrity is not a sha512 digest: {encoded!r}")
    return digest


def integrity_of(data: bytes) -> str:
    """The SRI form npm uses: sha512-<base64>."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def verify_integrity(package: Package, tarball: bytes) -> None:
    """Raise VendorError naming the package and both hashes unless the bytes match."""
    expected = _sha512_digest(package)
    if not hmac.compare_digest(hashlib.sha512(tarball).digest(), expected):
        raise VendorError(
            f"{package.label}: the tarball does not match the pinned integrity; "
            f"expected {package.integrity}, got {integrity_of(tarball)}. "
            "None of its files were written."
        )


def extract_files(package: Package, tarball: bytes) -> dict[str, bytes]:
    """The listed files of a (verified) .tgz, by their vendor/ name; nothing else is read."""
    for member, name in package.files.items():
        check_member_path(package, member)
        check_stored_name(package, name)
    found: dict[str, bytes] = {}
    seen: set[str] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for info in archive:
                stored = package.files.get(info.name)
                if stored is None:
                    continue
                if info.name in seen:
                    raise VendorError(f"{package.label}: {info.name!r} is in the tarball twice")
                seen.add(info.name)
                if not info.isreg():
                    raise VendorError(f"{package.label}: {info.name!r} is not a regular file")
                if info.size > MAX_FILE_BYTES:
                    raise VendorError(f"{package.label}: {info.name!r} is {info.size} bytes")
                stream = archive.extractfile(info)
                if stream is None:
                    raise VendorError(f"{package.label}: cannot read {info.name!r}")
                found[stored] = stream.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise VendorError(f"{package.label}: the tarball cannot be read: {error}") from error
    missing = sorted(m for m, name in package.files.items() if name not in found)
    if missing:
        raise VendorError(f"{package.label}: the tarball lacks {', '.join(missing)}")
    return found


def tarball_url(package: Package, registry: str | None) -> str:
    """The tarball URL, on the mirror when one is named."""
    if registry and package.tarball.startswith(NPM_REGISTRY + "/"):
        return registry.rstrip("/") + package.tarball[len(NPM_REGISTRY) :]
    return package.tarball


def download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "journeymap-vendor-assets"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        data: bytes = response.read(MAX_TARBALL_BYTES + 1)
    if len(data) > MAX_TARBALL_BYTES:
        raise VendorError(f"{url} is larger than {MAX_TARBALL_BYTES} bytes")
    return data


def write_atomically(directory: Path, name: str, content: bytes) -> None:
    """Write a temp file beside the target, then rename: readers see old or new, whole."""
    with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{name}.", delete=False) as tmp:
        try:
            tmp.write(content)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.chmod(tmp.name, 0o644)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    try:
        os.replace(tmp.name, directory / name)
    except BaseException:
        os.unlink(tmp.name)
        raise


def lock_stamp(lock_text: str) -> str:
    return hashlib.sha256(lock_text.encode("utf-8")).hexdigest()


def is_current(package: Package, vendor_dir: Path, stamp: str) -> bool:
    """The stamp names this lock file and every file of the package is there."""
    stamp_file = vendor_dir / STAMP_NAME
    return (
        stamp_file.is_file()
        and stamp_file.read_text(encoding="ascii", errors="replace").strip() == stamp
        and all((vendor_dir / name).is_file() for name in package.files.values())
    )


def vendor(
    lock_file: Path = LOCK_FILE,
    vendor_dir: Path = VENDOR_DIR,
    registry: str | None = None,
    fetch: Callable[[str], bytes] = download,
    say: Callable[[str], None] = print,
) -> list[Package]:
    """Bring vendor_dir in line with the lock file; the packages that were fetched."""
    lock_text = lock_file.read_text(encoding="utf-8")
    packages = read_lock(lock_text)
    stamp = lock_stamp(lock_text)
    stale = [p for p in packages if not is_current(p, vendor_dir, stamp)]
    if not stale:
        return []
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for package in stale:
        url = tarball_url(package, registry)
        try:
            tarball = fetch(url)
        except OSError as error:
            raise VendorError(f"{package.label}: cannot download {url}: {error}") from error
        verify_integrity(package, tarball)
        files = extract_files(package, tarball)
        for name, content in files.items():
            write_atomically(vendor_dir, name, content)
        size = sum(len(content) for content in files.values())
        say(f"vendored {package.label} ({len(files)} files, {size:,} bytes) from {url}")
    listed = {name for package in packages for name in package.files.values()}
    for path in vendor_dir.iterdir():
        if path.is_file() and not path.name.startswith(".") and path.name not in listed:
            path.unlink()  # a file an older lock listed
    write_atomically(vendor_dir, STAMP_NAME, (stamp + "\n").encode("ascii"))
    return stale


def main() -> int:
    try:
        vendor(registry=os.environ.get(REGISTRY_ENV) or None)
    except VendorError as error:
        print(f"vendor_assets: {error}", file=sys.stderr)
        return 1
    return 0
