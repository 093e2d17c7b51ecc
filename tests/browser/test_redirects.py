"""The storefront never follows a `next` parameter off the site: checked after the browser's own
URL parser has read it (which drops tabs and newlines: `/%09/evil.example` is `//evil.example`)."""
import pytest
import requests

from support.browser_support import unique_email

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PASSWORD = "correct horse battery staple 7"
ATTACKS = ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "/%5Cevil.example",
           "//evil.example", "https://evil.example/", "javascript:alert(document.domain)"]


def test_safe_next_in_the_browser(browser):
    """The unit, with Chromium's URL parser: every attack falls back to /library, paths are kept."""
    browser.open("/")
    results = browser.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/js/ui.js').then(({ safeNext }) => done(arguments[0].map((v) => safeNext(v))));
    """, ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example", "https://evil.example",
          "javascript:alert(1)", "/.//evil.example", "/library", "/learn?course=x&lesson=y"])
    assert results == ["/library"] * 6 + ["/evil.example", "/library", "/learn?course=x&lesson=y"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_signing_in_with_a_hostile_next_stays_on_the_site(browser, stack, attack):
    email = unique_email("next")
    registered = requests.post(f"{stack.api}/auth/register", timeout=30,
                               json={"name": "Next", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text

    browser.open(f"/login?next={attack}")
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Sign in")
    browser.wait(lambda d: not d.current_url.startswith(browser.web + "/login"), "sign-in never moved on")
    assert browser.driver.current_url.startswith(browser.web + "/library"), browser.driver.current_url
    browser.wait_ready("/library")
