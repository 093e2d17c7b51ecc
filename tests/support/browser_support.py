"""Helpers for the storefront's browser tests: a headless Chromium (Debian's, through
Selenium and chromedriver), the storefront's URLs, the dev mailbox and the Stripe emulator.

Every wait is bounded (WAIT_SECONDS at most). Screenshots go to a temporary folder,
or to the folder named by LECTERN_SCREENSHOTS (`LECTERN_SCREENSHOTS=docs/screenshots`
refreshes the ones in the docs).
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import requests

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 20
STRIPE_TEST_KEY = "sk_test_lectern"  # the local stack's default (tests/support/stack_process.py clears STRIPE_*)
REPO_ROOT = Path(__file__).resolve().parents[2]

CHROME_ARGUMENTS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000", "--lang=en-US",
]

# Run in the page: what a screen-reader or keyboard user would trip over first.
_A11Y_AUDIT = """
const problems = [];
const name = (el) => (el.getAttribute('aria-label') || el.getAttribute('title') || el.textContent || '').trim();
for (const tag of ['header', 'nav', 'main', 'footer']) {
  if (!document.querySelector(tag)) problems.push('no <' + tag + '> landmark');
}
if (!document.documentElement.lang) problems.push('no lang on <html>');
const h1s = document.querySelectorAll('h1');
if (h1s.length !== 1) problems.push(h1s.length + ' <h1> elements');
for (const input of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const labelled = (input.id && document.querySelector('label[for="' + CSS.escape(input.id) + '"]'))
    || input.closest('label') || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby');
  if (!labelled) problems.push('input without a label: ' + (input.name || input.outerHTML.slice(0, 80)));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (!name(el) && !el.querySelector('img[alt]:not([alt=""])'))
    problems.push('control without a name: ' + el.outerHTML.slice(0, 80));
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) problems.push('img without alt: ' + img.src);
}
for (const frame of document.querySelectorAll('iframe')) {
  if (!frame.title) problems.push('iframe without title');
}
if (!document.querySelector('[aria-live], [role=status], [role=alert]') && document.querySelector('form'))
  problems.push('a form but no live region for its status');
const ids = [...document.querySelectorAll('[id]')].map((el) => el.id);
const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
if (dupes.length) problems.push('duplicate ids: ' + [...new Set(dupes)].join(', '));
return problems;
"""


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (f"{CHROMIUM} or {CHROMEDRIVER} is missing: install Debian's headless browser with "
                "`apt-get install -y chromium chromium-driver` to run the browser tests")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements/dev.txt)"
    return None


def unique_email(prefix: str = "buyer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def screenshots_dir(default: Path) -> Path:
    target = os.environ.get("LECTERN_SCREENSHOTS")
    path = (REPO_ROOT / target) if target and not os.path.isabs(target) else Path(target or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Browser:
    """One headless Chromium with the storefront's waits and checks."""

    def __init__(self, tmp_path: Path, web_url: str, shots: Path):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in CHROME_ARGUMENTS:
            options.add_argument(argument)
        profile = tmp_path / "chromium-profile"
        self.downloads = tmp_path / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option("prefs", {
            "download.default_directory": str(self.downloads), "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        })
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        self.driver.set_page_load_timeout(WAIT_SECONDS)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(self.downloads)})
        self.web = web_url.rstrip("/")
        self.shots = shots

    def quit(self) -> None:
        self.driver.quit()

    # ------------------------------------------------------------ waiting
    def wait(self, condition: Callable[[Any], Any], message: str, timeout: float = WAIT_SECONDS) -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, min(timeout, WAIT_SECONDS), poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise AssertionError(f"{message} (waited {timeout:.0f}s) at {self.driver.current_url}\n"
                                 f"page text: {self.text()[:1500]}\nconsole: {self.console()}") from None

    def wait_ready(self, path_prefix: str | None = None) -> None:
        """Wait for the storefront page (optionally at `path_prefix`) to finish its first render."""
        def ready(driver):
            if path_prefix and not driver.current_url.startswith(self.web + path_prefix):
                return False
            return driver.execute_script("return document.body && document.body.dataset.ready === 'true'")
        self.wait(ready, f"storefront page {path_prefix or ''} did not render")

    def open(self, path: str) -> None:
        self.driver.get(self.web + path)
        self.wait_ready(path.split("?")[0])

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, text: str | None = None, timeout: float = WAIT_SECONDS):
        """The first visible element matching `css` (whose text contains `text`, when given)."""
        def found(_driver):
            for element in self.find_all(css):
                try:
                    if element.is_displayed() and (text is None or text in element.text):
                        return element
                except Exception:  # stale: the page re-rendered, look again
                    continue
            return False
        return self.wait(found, f"no visible {css!r}" + (f" containing {text!r}" if text else ""), timeout)

    def wait_text(self, text: str, timeout: float = WAIT_SECONDS) -> None:
        self.wait(lambda _d: text in self.text(), f"page never said {text!r}", timeout)

    def text(self) -> str:
        try:
            return self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        except Exception:
            return ""

    def console(self) -> list[str]:
        try:
            return [entry["message"] for entry in self.driver.get_log("browser")]
        except Exception:
            return []

    # ------------------------------------------------------------ forms (by label, as a person reads them)
    def field(self, label: str):
        from selenium.webdriver.common.by import By

        label_el = self.wait(lambda d: next((el for el in d.find_elements(By.TAG_NAME, "label")
                                             if el.text.strip().startswith(label) and el.is_displayed()), False),
                             f"no field labelled {label!r}")
        return self.driver.find_element(By.ID, label_el.get_attribute("for"))

    def fill(self, label: str, value: str) -> None:
        element = self.field(label)
        element.clear()
        element.send_keys(value)

    def click_button(self, text: str) -> None:
        self.wait_for("button", text).click()

    def click_link(self, text: str) -> None:
        self.wait_for("a", text).click()

    # ------------------------------------------------------------ page facts
    def session(self) -> dict | None:
        raw = self.driver.execute_script("return window.sessionStorage.getItem('lectern.session')")
        return json.loads(raw) if raw else None

    def meta(self, prop: str) -> str | None:
        return self.driver.execute_script(
            "const m = document.querySelector(`meta[property='${arguments[0]}']`); return m && m.content", prop)

    def navigation_history(self) -> list[str]:
        return [entry["url"] for entry in self.driver.execute_cdp_cmd("Page.getNavigationHistory", {})["entries"]]

    def audit(self) -> None:
        problems = self.driver.execute_script(_A11Y_AUDIT)
        assert not problems, f"accessibility problems on {self.driver.current_url}: {problems}"

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def active(self):
        return self.driver.switch_to.active_element

    def tab_to(self, describe: str, predicate: Callable[[Any], bool], max_tabs: int = 40, shift: bool = False) -> Any:
        """Press Tab (only the keyboard) until the focused element satisfies `predicate`."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        for _ in range(max_tabs):
            chain = ActionChains(self.driver)
            if shift:
                chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
            else:
                chain.send_keys(Keys.TAB)
            chain.perform()
            element = self.active()
            if predicate(element):
                return element
        raise AssertionError(f"Tab never reached {describe} on {self.driver.current_url}")

    def replace_text(self, text: str) -> None:
        """Select everything in the focused field (Ctrl+A) and type `text` over it."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(text).perform()

    def type_keys(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(*keys).perform()


class Stack:
    """The local stack's URLs, its mailbox and its Stripe emulator, as the tests use them."""

    def __init__(self, urls: dict[str, str]):
        self.urls = urls
        self.web = urls["web"].rstrip("/")
        self.api = urls["api"].rstrip("/")
        self.stripe = urls["stripe"].rstrip("/")
        self.mailbox_json = urls["mailbox"].rstrip("/") + ".json"

    def wait_for_email(self, to: str, subject_contains: str, timeout: float = WAIT_SECONDS) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in requests.get(self.mailbox_json, timeout=10).json()["messages"]:
                if to in message["to"] and subject_contains.lower() in message["subject"].lower():
                    return message
            time.sleep(0.25)
        raise AssertionError(f"no email to {to} about {subject_contains!r} within {timeout}s")

    def link_in(self, message: dict, path: str) -> str:
        found = re.search(re.escape(self.web) + re.escape(path) + r"\?token=[^\s\"'<>]+", message["body"])
        assert found, f"no {path} link in: {message['body']}"
        return found.group(0)

    # ------------------------------------------------------------ Stripe emulator
    def stripe_api(self, method: str, path: str, **data: Any) -> dict:
        response = requests.request(method, f"{self.stripe}/v1{path}", data=data or None, timeout=10,
                                    headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"})
        response.raise_for_status()
        return response.json()

    def promotion_code(self, percent_off: int = 25) -> str:
        coupon = self.stripe_api("POST", "/coupons", percent_off=percent_off, duration="once")
        code = f"KEYS{uuid.uuid4().hex[:6].upper()}"
        self.stripe_api("POST", "/promotion_codes", **{"promotion[type]": "coupon", "promotion[coupon]": coupon["id"],
                                                       "code": code})
        return code

    def dashboard_action(self, action: str, object_id: str) -> str:
        """What a click on the emulator dashboard's button does; returns the dashboard's message."""
        response = requests.post(f"{self.stripe}/dashboard/action", data={"action": action, "id": object_id},
                                 allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text
        location = requests.utils.unquote(response.headers["Location"])
        assert "error=0" in location, location
        return location

    # ------------------------------------------------------------ API shortcuts for the set-up of a test
    def buy_and_claim(self, slug: str, password: str) -> str:
        """A guest buys `slug` (card payment on the emulator's page) and claims the account: its email."""
        email = unique_email("learner")
        checkout = requests.post(f"{self.api}/checkout", json={"course_slug": slug, "email": email}, timeout=30)
        assert checkout.status_code == 201, checkout.text
        paid = requests.post(checkout.json()["checkout_url"], data={"action": "pay"}, allow_redirects=False,
                             timeout=30)
        assert paid.status_code == 303, paid.text
        message = self.wait_for_email(email, "password")
        token = requests.utils.unquote(self.link_in(message, "/claim").split("token=", 1)[1])
        claimed = requests.post(f"{self.api}/auth/claim", json={"token": token, "password": password,
                                                                "name": "Robin Learner"}, timeout=30)
        assert claimed.status_code == 200, claimed.text
        return email
