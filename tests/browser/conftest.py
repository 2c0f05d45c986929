"""Fixtures for the browser tests: one private JupyterLab server and one headless Chromium per session.

Without Chromium the tests skip with a one-line reason; with ``CI=true`` a missing browser fails.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from driver import (CHROMIUM_ARGS, FIGURE_REPORT, PRESENTER, SCREEN, LabServer, find_chromium, make_root,
                    presenter_overrides)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        message = "Chromium not found at /usr/bin/chromium (Debian/Ubuntu: sudo apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def lab(chromium_path: str):
    """A JupyterLab server on a copy of notebooks/, stopped by its own process id whatever happens."""
    with tempfile.TemporaryDirectory(prefix="browser-tests-") as tmp:
        server = LabServer(root=make_root(Path(tmp)), home=Path(tmp) / "home")
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make test installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (fresh profile: no cookies, no storage) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def presenter_lab(chromium_path):
    """A second private server, with `make present`'s overrides, user settings, CSS and environment, whose
    kernels check every figure they draw (``COURSE_FIGURE_REPORT``)."""
    with tempfile.TemporaryDirectory(prefix="browser-present-") as tmp:
        # COURSE_FIGURE_REPORT: every figure its kernels draw is checked (course_utils.figure_fit) and each one
        # that does not fit its canvas is reported there; check_notebook reads what each notebook added.
        server = LabServer(root=make_root(Path(tmp)), home=Path(tmp) / "home", overrides=presenter_overrides(),
                           env={"COURSE_PRESENTER": "1", FIGURE_REPORT: str(Path(tmp) / "figures.jsonl")},
                           user_settings=PRESENTER / "user-settings",
                           custom_css=PRESENTER / "custom" / "custom.css")
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture
def screen(browser):
    """A fresh browser context with a 1280x720 viewport."""
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
