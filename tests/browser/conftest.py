"""Fixtures of the browser tests: the local stack (shared with the other HTTP tests) and a
fresh headless Chromium per test. Without Chromium they skip, saying what to install."""
import os

import pytest

from support.browser_support import Browser, Stack, chromium_missing_reason, screenshots_dir


@pytest.fixture(scope="session")
def chromium():
    reason = chromium_missing_reason()
    if reason and os.environ.get("LECTERN_REQUIRE_BROWSER"):
        pytest.fail(reason)  # CI installs Chromium: its absence there is a failure, not a skip
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def stack(chromium, local_stack) -> Stack:
    return Stack(local_stack.urls)


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    return screenshots_dir(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture
def browser(chromium, stack, shots, tmp_path):
    browser = Browser(tmp_path, stack.web, shots)
    yield browser
    browser.quit()
