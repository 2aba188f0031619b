"""Which Chromium the browser tests drive: Debian's /usr/bin/chromium when present, else
Playwright's own build (downloaded by `python -m e2e.browser ensure` where that is possible)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def system_chromium() -> str | None:
    for candidate in (os.environ.get("PACTO_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def launch_options() -> dict:
    path = system_chromium()
    return {"executable_path": path, "args": ARGS} if path else {"args": ARGS[1:]}


def ensure() -> int:
    if system_chromium():
        return 0
    print("No system Chromium found; installing Playwright's Chromium…", flush=True)
    return subprocess.call([sys.executable, "-m", "playwright", "install", "chromium"])


if __name__ == "__main__":
    if sys.argv[1:] == ["ensure"]:
        sys.exit(ensure())
    print(system_chromium() or "playwright's chromium")
