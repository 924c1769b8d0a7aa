"""Vendoring the pinned browser assets: nothing unverified or unlisted is written."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from shared.web.vendoring import (
    LOCK_FILE,
    STAMP_NAME,
    Package,
    VendorError,
    extract_files,
    integrity_of,
    read_lock,
    tarball_url,
    vendor,
    verify_integrity,
)


def tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def package(data: bytes, files: dict[str, str]) -> Package:
    return Package(
        name="widget",
        version="1.2.3",
        tarball="https://registry.npmjs.org/widget/-/widget-1.2.3.tgz",
        integrity=integrity_of(data),
        files=files,
    )


def test_the_pinned_bytes_pass_the_integrity_check() -> None:
    data = tarball({"package/widget.js": b"widget()"})

    verify_integrity(package(data, {"package/widget.js": "widget.js"}), data)


def test_other_bytes_are_refused_naming_the_package_and_both_hashes() -> None:
    pinned = tarball({"package/widget.js": b"widget()"})
    served = tarball({"package/widget.js": b"steal(document.cookie)"})

    with pytest.raises(VendorError) as refused:
        verify_integrity(package(pinned, {"package/widget.js": "widget.js"}), served)

    message = str(refused.value)
    assert "widget@1.2.3" in message
    assert integrity_of(pinned) in message
    assert integrity_of(served) in message


def test_an_integrity_that_is_not_sha512_is_refused() -> None:
    data = tarball({"package/widget.js": b"widget()"})
    sha1 = Package("widget", "1.2.3", "https://x/w.tgz", "sha1-AAAA", {"package/a": "a"})

    with pytest.raises(VendorError, match=r"widget@1\.2\.3: integrity must be sha512"):
        verify_integrity(sha1, data)


def test_extraction_writes_only_the_listed_files() -> None:
    data = tarball(
        {
            "package/dist/widget.min.js": b"widget()",
            "package/LICENSE": b"MIT",
            "package/dist/widget.js.map": b"{}",
            "package/package.json": b"{}",
        }
    )
    files = {"package/dist/widget.min.js": "widget.min.js", "package/LICENSE": "widget.LICENSE"}

    extracted = extract_files(package(data, files), data)

    assert extracted == {"widget.min.js": b"widget()", "widget.LICENSE": b"MIT"}


@pytest.mark.parametrize(
    "member", ["package/../evil.js", "../package/evil.js", "/etc/passwd", "package/a/../../x"]
)
def test_extraction_refuses_a_path_outside_the_package(member: str) -> None:
    data = tarball({member: b"evil()"})

    with pytest.raises(VendorError, match=r"widget@1\.2\.3: refusing unsafe tarball path"):
        extract_files(package(data, {member: "evil.js"}), data)


@pytest.mark.parametrize("name", ["../evil.js", "sub/evil.js", ".lock-sha256", ""])
def test_extraction_refuses_a_file_name_outside_the_vendor_folder(name: str) -> None:
    data = tarball({"package/evil.js": b"evil()"})

    with pytest.raises(VendorError, match="refusing unsafe file name"):
        extract_files(package(data, {"package/evil.js": name}), data)


def test_a_link_instead_of_a_file_is_refused() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("package/widget.js")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    data = buffer.getvalue()

    with pytest.raises(VendorError, match="not a regular file"):
        extract_files(package(data, {"package/widget.js": "widget.js"}), data)


def test_a_listed_file_missing_from_the_tarball_is_an_error() -> None:
    data = tarball({"package/widget.js": b"widget()"})

    with pytest.raises(VendorError, match=r"lacks package/LICENSE"):
        extract_files(package(data, {"package/LICENSE": "widget.LICENSE"}), data)


def test_a_mirror_replaces_the_registry_prefix_only() -> None:
    data = b""
    pinned = package(data, {"package/a": "a"})

    assert tarball_url(pinned, None) == pinned.tarball
    assert (
        tarball_url(pinned, "https://npm.example.com/repo/")
        == "https://npm.example.com/repo/widget/-/widget-1.2.3.tgz"
    )


def test_the_real_lock_file_is_valid() -> None:
    packages = read_lock(LOCK_FILE.read_text(encoding="utf-8"))

    names = {name for p in packages for name in p.files.values()}
    assert {"echarts.min.js", "swagger-ui-bundle.js", "redoc.standalone.js"} <= names


def lock_for(data: bytes, tmp_path: Path) -> Path:
    lock = tmp_path / "assets.lock.json"
    entry = {
        "name": "widget",
        "version": "1.2.3",
        "tarball": "https://registry.npmjs.org/widget/-/widget-1.2.3.tgz",
        "integrity": integrity_of(data),
        "files": {"package/widget.js": "widget.js"},
    }
    lock.write_text(json.dumps({"packages": [entry]}))
    return lock


def test_vendoring_fetches_once_then_does_nothing(tmp_path: Path) -> None:
    data = tarball({"package/widget.js": b"widget()"})
    lock = lock_for(data, tmp_path)
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return data

    vendor_dir = tmp_path / "vendor"
    vendor(lock, vendor_dir, "https://mirror.example", fetch, say=lambda _: None)
    vendor(lock, vendor_dir, "https://mirror.example", fetch, say=lambda _: None)

    assert fetched == ["https://mirror.example/widget/-/widget-1.2.3.tgz"]
    assert (vendor_dir / "widget.js").read_bytes() == b"widget()"
    assert sorted(p.name for p in vendor_dir.iterdir()) == [STAMP_NAME, "widget.js"]


def test_a_tampered_tarball_writes_nothing(tmp_path: Path) -> None:
    pinned = tarball({"package/widget.js": b"widget()"})
    lock = lock_for(pinned, tmp_path)
    vendor_dir = tmp_path / "vendor"

    with pytest.raises(VendorError, match=r"widget@1\.2\.3"):
        vendor(lock, vendor_dir, None, lambda _: tarball({"package/widget.js": b"evil()"}))

    assert not vendor_dir.exists() or not any(vendor_dir.iterdir())
