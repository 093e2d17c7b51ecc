"""The demo looks real, offline: thumbnails are images the storefront serves itself, the lesson
player plays the sample video from the local Stream stand-in and reports Stream's player events,
no page asks for a host other than the local stack's, and the browser console stays clean."""
from urllib.parse import urlsplit

import pytest

from support.browser_support import WAIT_SECONDS

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SERVERLESS = "serverless-python-on-aws"
PASSWORD = "Correct-Horse-42"

# Every URL the page and its frames loaded (documents, scripts, styles, images, media, API calls).
_LOADED_URLS = """
const urls = [location.href, ...performance.getEntriesByType('resource').map((entry) => entry.name)];
for (const frame of document.querySelectorAll('iframe')) {
  urls.push(frame.src);
  try { urls.push(...frame.contentWindow.performance.getEntriesByType('resource').map((e) => e.name)); }
  catch (error) { /* another origin: its own requests are checked from inside it */ }
}
return urls;
"""


def _console_errors(browser) -> list[str]:
    """The console's error entries since the last call (reading the log empties it)."""
    return [entry["message"] for entry in browser.driver.get_log("browser") if entry["level"] == "SEVERE"]


def _only_local_hosts(browser) -> None:
    hosts = {urlsplit(url).hostname for url in browser.driver.execute_script(_LOADED_URLS) if url}
    assert hosts <= {"127.0.0.1"}, f"{browser.driver.current_url} asked other hosts: {hosts}"


def _thumbnails_loaded(browser, css: str, count: int) -> None:
    def loaded(driver):
        return driver.execute_script(
            "const imgs = [...document.querySelectorAll(arguments[0])];"
            "return imgs.length >= arguments[1] && imgs.every((img) => img.complete && img.naturalWidth > 0);",
            css, count)
    browser.wait(loaded, f"{css} images did not load")
    assert not browser.find_all(".thumb--placeholder"), "a thumbnail fell back to its placeholder"


def test_the_catalog_course_and_learn_pages_show_real_images_and_play_the_video(browser, stack):
    email = stack.buy_and_claim(SERVERLESS, PASSWORD)

    # Catalog: every card has its image, from the storefront's own origin.
    browser.open("/")
    browser.wait_for(".course-card")
    _thumbnails_loaded(browser, ".course-card img", len(browser.find_all(".course-card")))
    _only_local_hosts(browser)
    assert _console_errors(browser) == []

    # Course page: the hero image, and a free preview that plays in the stand-in's frame.
    browser.open(f"/courses/{SERVERLESS}")
    _thumbnails_loaded(browser, ".course-hero__thumb", 1)
    assert urlsplit(browser.meta("og:image")).path.startswith("/public/thumbnails/")
    browser.click_button("Free preview")
    frame = browser.wait_for("#preview iframe")
    assert frame.get_attribute("src").startswith(stack.urls["stream"] + "/")
    browser.wait(lambda d: browser.find("#preview .player").get_attribute("data-player-state") == "ready",
                 "the preview player never said it was ready")
    _only_local_hosts(browser)
    assert _console_errors(browser) == []

    # Learn page of a paid lesson, signed in.
    browser.open("/login?next=/library")
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Sign in")
    browser.wait_ready("/library")
    _thumbnails_loaded(browser, "#library-list img", 1)
    browser.open(f"/learn?course={SERVERLESS}&lesson=your-first-handler")
    browser.wait_for("h2#lesson-title", "Your first handler")
    figure = browser.wait_for(".lesson .player")
    frame = figure.find_element("css selector", "iframe")
    assert frame.get_attribute("src").startswith(stack.urls["stream"] + "/")

    # Inside the frame: a <video> with the sample, loaded far enough to show a frame (HAVE_CURRENT_DATA).
    browser.driver.switch_to.frame(frame)
    try:
        browser.wait(lambda d: d.execute_script(
            "const v = document.querySelector('video'); return v && v.readyState >= 2 && v.duration > 1"),
            "the video in the player frame did not load")
        assert browser.driver.execute_script("return document.querySelector('video').currentSrc").endswith(
            (".webm", ".mp4"))
        # Press play, as a learner would (muted: a headless browser has no gesture to unmute with).
        browser.driver.execute_script("const v = document.querySelector('video'); v.muted = true; v.play();")
    finally:
        browser.driver.switch_to.default_content()

    # The storefront hears Stream's player events: playing, the time going forward, then the end.
    browser.wait(lambda d: figure.get_attribute("data-player-state") == "playing", "no `playing` event reached the page")
    browser.wait(lambda d: float(figure.get_attribute("data-current-time") or 0) > 0.5, "no time update reached the page")
    assert 5 <= float(figure.get_attribute("data-duration")) <= 7
    browser.wait_for("[role=status]", "Video finished. Next: Cold starts without the myths", timeout=WAIT_SECONDS)
    assert figure.get_attribute("data-player-state") == "ended"
    browser.audit()
    _only_local_hosts(browser)
    assert _console_errors(browser) == []



def test_the_dev_pages_and_the_emulators_pages_ask_no_other_host(browser, stack):
    """make dev's other pages: API docs (Swagger UI, without its online validator), mailbox, the Stripe
    emulator's dashboard, the Stream stand-in's index."""
    for url, ready_css in ((stack.urls["docs"], ".swagger-ui"), (stack.urls["mailbox"], "h1"),
                           (stack.urls["stripe_dashboard"], "h1"), (stack.urls["stream"] + "/", "p")):
        browser.driver.get(url)
        browser.wait_for(ready_css)
        _only_local_hosts(browser)
        assert _console_errors(browser) == [], url
