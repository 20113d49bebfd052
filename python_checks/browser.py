"""A real Chromium, headless, driven by Playwright (the system's Debian `chromium`; Playwright's own browser
download is never used): opens a page from disk with every request but the page itself blocked and
recorded, and collects the console's errors."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def chromium_path() -> str | None:
    configured = os.environ.get("CLV_CHROMIUM")
    for candidate in ([configured] if configured else []) + list(CANDIDATES):
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


def launch(playwright):
    """Chromium, or a skip where none is installed; with CI=true a missing browser fails the run."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found (Debian package chromium; .ci/run installs it; CLV_CHROMIUM=path to choose one)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    # --no-sandbox: the checks run as root in CI containers, where Chromium's sandbox cannot start
    return playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])


@dataclass
class OpenedPage:
    page: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_offline(browser, path: Path, width: int = 1200, wait_for: str | None = None) -> OpenedPage:
    """Open path (file://) with nothing else reachable: any other request is aborted and recorded."""
    url = path.resolve().as_uri()
    page = browser.new_page(viewport={"width": width, "height": 900})
    opened = OpenedPage(page)
    page.on("console", lambda message: opened.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.console_errors.append(f"uncaught: {error}"))

    def route(request_route):
        if request_route.request.url.split("#")[0] == url:
            request_route.continue_()
        else:
            opened.requests.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    if wait_for:
        page.wait_for_function(wait_for, timeout=30_000)
    page.wait_for_timeout(500)
    return opened
