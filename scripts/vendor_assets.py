#!/usr/bin/env python3
"""Fetch the browser assets pinned in shared/web/assets.lock.json into shared/web/vendor/.

Python's standard library only, no Node.js: each npm tarball is downloaded over HTTPS
(JOURNEYMAP_NPM_REGISTRY names a mirror), checked against its pinned sha512 and only
the listed files are copied out. Nothing to do when the vendored files match the lock
file. ./scripts/install runs it on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.web.vendoring import main

if __name__ == "__main__":
    sys.exit(main())
