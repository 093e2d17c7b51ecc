"""The storefront (web/) in a real headless Chromium against the real local stack:
buying as a guest on the Stripe emulator's page, claiming the account from the emailed
link, learning, downloading; a delayed payment; a refund; accounts; keyboard only."""
import time

import pytest
import requests

from support.browser_support import REPO_ROOT, WAIT_SECONDS, unique_email

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SERVERLESS = "serverless-python-on-aws"
SERVERLESS_TITLE = "Serverless Python on AWS"
SQL = "practical-sql-for-analysts"
SQL_TITLE = "Practical SQL for Analysts"
PASSWORD = "Correct-Horse-42"


def _on_stripe_page(browser, stack) -> None:
    browser.wait(lambda d: d.current_url.startswith(stack.stripe + "/pay/"), "the buy button did not lead to Stripe")


def _wait_for_the_video(browser, player_css: str) -> None:
    """Until the player's frame can play (Stream's `canplay` event reached the page), then moved two seconds
    in, the way a page drives Stream's player (`setProperty` message), for a screenshot of a real frame."""
    figure = browser.find(player_css)
    browser.wait(lambda _d: figure.get_attribute("data-player-state") == "ready", "the player never became ready")
    browser.driver.execute_script(
        "arguments[0].querySelector('iframe').contentWindow.postMessage("
        "{__privateUnstableMessageType: 'setProperty', property: 'currentTime', value: 2}, '*')", figure)
    browser.wait(lambda _d: float(figure.get_attribute("data-current-time") or 0) >= 2, "the player did not seek")
    time.sleep(1)  # the browser's own loading indicator fades out after a seek


def _session_id(browser) -> str:
    return browser.driver.current_url.split("session_id=", 1)[1].split("&")[0]


def test_guest_buys_claims_the_account_and_learns(browser, stack, tmp_path):
    email = unique_email()

    # Catalog → course page.
    browser.open("/")
    browser.wait_for(".course-card", SERVERLESS_TITLE)
    assert browser.driver.title.startswith("Courses")
    browser.audit()
    browser.screenshot("catalog")
    browser.click_link(SERVERLESS_TITLE)
    browser.wait_ready(f"/courses/{SERVERLESS}")
    browser.wait_for("h1", SERVERLESS_TITLE)
    assert browser.driver.title == f"{SERVERLESS_TITLE} · Lectern"
    assert browser.meta("og:title") == SERVERLESS_TITLE
    # The thumbnail is the storefront's own file (catalog apply uploaded it under public/).
    assert browser.meta("og:image").startswith(f"{stack.web}/public/thumbnails/")
    browser.audit()

    # A preview lesson plays without an account: the Stream iframe carries the signed token.
    browser.click_button("Free preview")
    frame = browser.wait_for("#preview iframe")
    # Offline, the frame is the local Stream stand-in's player (Cloudflare's URL when deployed).
    assert frame.get_attribute("src").startswith(stack.urls["stream"] + "/")
    assert frame.get_attribute("title") == 'Video: What "serverless" really means'
    browser.wait_for("#preview a", "Open the video in a new tab")
    _wait_for_the_video(browser, "#preview .player")
    browser.audit()
    browser.screenshot("course")

    # Buy as a guest: email, then Stripe's (emulated) hosted page.
    browser.fill("Email", email)
    browser.click_button("Buy now for $79.00")
    _on_stripe_page(browser, stack)
    browser.wait_for("button[value=pay]").click()

    # Back on the storefront: the success page polls until the webhook has marked the order paid.
    browser.wait_ready("/checkout/success")
    browser.wait_for("[role=status]", "Payment received")
    browser.wait_text("check your email")
    browser.audit()
    browser.screenshot("checkout-success")

    # The claim email → set a password → signed in, course in the library.
    claim_link = stack.link_in(stack.wait_for_email(email, "password"), "/claim")
    browser.driver.get(claim_link)
    browser.wait_ready("/claim")
    browser.wait_for("h1", "Set your password")
    assert "token" not in browser.driver.current_url
    assert not browser.driver.execute_script(
        "return [...document.querySelectorAll('a, link, meta')].filter((el) => "
        "/token=/.test(el.getAttribute('href') || el.getAttribute('content') || '')).map((el) => el.outerHTML)")
    browser.audit()
    browser.screenshot("claim")
    browser.fill("Your name", "Robin Buyer")
    browser.fill("New password", PASSWORD)
    browser.fill("Repeat the new password", PASSWORD)
    browser.click_button("Set password and open my courses")
    browser.wait_ready("/library")
    browser.wait_for("#library-list .course-card", SERVERLESS_TITLE)
    browser.wait_for(".site-nav", "Robin Buyer")
    history = browser.navigation_history()
    assert any("/claim" in url for url in history), history
    assert not [url for url in history if "token" in url], f"a token stayed in the history: {history}"
    stored = browser.session()
    assert stored["user"]["email"] == email and stored["access_token"] and stored["refresh_token"]
    browser.audit()
    browser.screenshot("library")

    # Learn: the first lesson plays; a lesson with a file offers its download.
    browser.click_link("Start")  # nothing completed yet: the first lesson
    browser.wait_ready("/learn")
    browser.wait_for(".lesson iframe")
    assert browser.find(".lesson-nav [aria-current=page]").text == 'What "serverless" really means'
    browser.click_link("Your first handler")
    browser.wait_ready("/learn")
    browser.wait_for("h2#lesson-title", "Your first handler")
    browser.wait_for(".lesson iframe")
    assert browser.driver.title == f"Your first handler · {SERVERLESS_TITLE} · Lectern"
    _wait_for_the_video(browser, ".lesson .player")
    browser.audit()
    browser.screenshot("learn")
    expected = (REPO_ROOT / "catalog" / "files" / "lambda_handler_example.py").read_bytes()
    download = browser.wait_for("button", "Download")
    resource_id = download.get_attribute("data-resource-id")
    download.click()
    browser.wait_for("[role=status]", "Downloading lambda_handler_example.py")
    saved = browser.downloads / "lambda_handler_example.py"
    browser.wait(lambda _d: saved.exists() and saved.read_bytes() == expected, "the browser saved no download")

    # The same route the page used, with the page's own token: the URL serves the file's bytes.
    token = browser.session()["access_token"]
    link = requests.get(f"{stack.api}/resources/{resource_id}/download", timeout=10,
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=10).content == expected

    # Orders.
    browser.click_link("Orders")
    browser.wait_ready("/orders")
    row = browser.wait_for("table.orders tbody tr", SERVERLESS_TITLE)
    assert "Paid" in row.text and "$79.00" in row.text
    browser.audit()
    browser.screenshot("orders")

    # The same pages on a phone-sized screen.
    browser.driver.set_window_size(390, 844)
    browser.open(f"/courses/{SERVERLESS}")
    browser.wait_for(".buy-panel", "You own this course")
    browser.screenshot("course-mobile")


def test_delayed_payment_shows_processing_until_settled(browser, stack):
    browser.open(f"/course?slug={SQL}")
    browser.wait_for("h1", SQL_TITLE)
    browser.fill("Email", unique_email("bank"))
    browser.click_button("Buy now")
    _on_stripe_page(browser, stack)
    browser.wait_for("button[value=pay_delayed]").click()

    browser.wait_ready("/checkout/success")
    browser.wait_for("[role=status]", "Your payment is processing…")
    time.sleep(2)  # a poll or two later: still processing, nothing paid by itself
    assert "Your payment is processing…" in browser.find("[role=status]").text
    browser.audit()
    browser.screenshot("checkout-processing")

    stack.dashboard_action("settle_succeed", _session_id(browser))
    browser.wait_for("[role=status]", "Payment received")


def test_failed_delayed_payment_says_so(browser, stack):
    browser.open(f"/courses/{SQL}")
    browser.fill("Email", unique_email("bounced"))
    browser.click_button("Buy now")
    _on_stripe_page(browser, stack)
    browser.wait_for("button[value=pay_delayed]").click()
    browser.wait_for("[role=status]", "Your payment is processing…")
    stack.dashboard_action("settle_fail", _session_id(browser))
    browser.wait_for("[role=status]", "Your payment failed")
    browser.wait_for("a", f"Try again: {SQL_TITLE}")
    browser.screenshot("checkout-failed")


def test_refunded_course_disappears_on_the_next_load(browser, stack):
    email = stack.buy_and_claim(SQL, PASSWORD)

    browser.open("/login?next=/library")
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Sign in")
    browser.wait_ready("/library")
    browser.wait_for("#library-list .course-card", SQL_TITLE)
    browser.open(f"/learn?course={SQL}")
    browser.wait_for("h2#lesson-title", "SELECT, WHERE, ORDER BY")

    # The creator refunds the charge on the (emulated) Stripe dashboard.
    browser.driver.get(stack.urls["stripe_dashboard"])
    row = browser.wait_for("table[aria-label=Charges] tbody tr", email)
    row.find_element("css selector", "button[value=refund]").click()
    browser.wait_for("p[role=status]", "Refunded")

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        browser.open("/library")
        browser.wait_for("main h1", "My courses")
        if SQL_TITLE not in browser.text():
            break
        assert time.monotonic() < deadline, "the refunded course stayed in the library"
        time.sleep(0.5)
    browser.wait_for("main", "No courses yet")

    browser.open(f"/learn?course={SQL}")
    browser.wait_for("h1", "You no longer have access to this course")
    browser.wait_for("a", "Go to my courses")
    browser.audit()
    browser.screenshot("learn-no-access")

    browser.open("/orders")
    assert "Refunded" in browser.wait_for("table.orders tbody tr", SQL_TITLE).text


def test_accounts_register_verify_wrong_password_reset_and_token_refresh(browser, stack):
    email = unique_email("member")

    browser.open("/register")
    browser.audit()
    browser.fill("Name", "Sam Member")
    browser.fill("Email", email)
    browser.fill("Password", "short")
    browser.click_button("Create account")
    error = browser.wait_for(".field__error")  # the API's 422 details, next to the password field
    assert browser.field("Password").get_attribute("aria-invalid") == "true"
    assert error.text
    browser.screenshot("register")
    browser.fill("Password", PASSWORD)
    browser.click_button("Create account")
    browser.wait_ready("/library")
    browser.wait_for("main", "No courses yet")

    # Verification link: confirmed, token out of the address bar.
    verify_link = stack.link_in(stack.wait_for_email(email, "Confirm"), "/verify-email")
    browser.driver.get(verify_link)
    browser.wait_for("[role=status]", "Your email address is confirmed")
    assert "token" not in browser.driver.current_url
    assert browser.session()["user"]["email_verified"] is True
    browser.screenshot("verify-email")

    # An expired access token is rotated through the refresh token without the user noticing.
    before = browser.session()
    browser.driver.execute_script("""
        const s = JSON.parse(sessionStorage.getItem('lectern.session'));
        s.access_token = 'expired.' + s.access_token.split('.').slice(1).join('.') + 'x';
        sessionStorage.setItem('lectern.session', JSON.stringify(s));""")
    browser.open("/orders")
    browser.wait_for("main", "No orders yet")
    after = browser.session()
    assert after["refresh_token"] != before["refresh_token"] and after["access_token"] != before["access_token"]
    reused = requests.post(f"{stack.api}/auth/refresh", json={"refresh_token": before["refresh_token"]}, timeout=10)
    assert reused.status_code == 401

    # Sign out, then a wrong password.
    browser.click_button("Sign out")
    browser.wait_ready("/")
    browser.wait_for(".site-nav", "Sign in")
    assert browser.session() is None
    browser.open("/login")
    browser.fill("Email", email)
    browser.fill("Password", "Not-The-Password-1")
    browser.click_button("Sign in")
    alert = browser.wait_for("[role=alert]", "The email or password is not correct.")
    assert browser.driver.switch_to.active_element == alert
    assert browser.session() is None
    browser.audit()
    browser.screenshot("login-error")

    # Forgot password → emailed link → new password → signed in.
    browser.click_link("Forgot your password?")
    browser.wait_ready("/forgot-password")
    browser.fill("Email", email)
    browser.click_button("Email me a reset link")
    browser.wait_for(".notice", "Check your email")
    browser.screenshot("forgot-password")
    reset_link = stack.link_in(stack.wait_for_email(email, "Reset"), "/reset-password")
    browser.driver.get(reset_link)
    browser.wait_ready("/reset-password")
    assert "token" not in browser.driver.current_url
    browser.audit()
    browser.screenshot("reset-password")
    browser.fill("New password", "Brand-New-Pass-7")
    browser.fill("Repeat the new password", "Brand-New-Pass-8")
    browser.click_button("Save the new password")
    browser.wait_for(".field__error", "Type the same password twice.")
    browser.fill("Repeat the new password", "Brand-New-Pass-7")
    browser.click_button("Save the new password")
    browser.wait_ready("/library")
    assert browser.session()["user"]["email"] == email

    # The used link is dead: saving a password with it again says so, with the way out.
    browser.driver.get(reset_link)
    browser.wait_ready("/reset-password")
    browser.fill("New password", "Another-Pass-9")
    browser.fill("Repeat the new password", "Another-Pass-9")
    browser.click_button("Save the new password")
    browser.wait_for("h1", "This link has expired or was already used")
    browser.wait_for("a", "Ask for a new reset link")
    assert not [url for url in browser.navigation_history() if "token" in url]


def test_keyboard_only_purchase_with_a_promotion_code(browser, stack):
    from selenium.webdriver.common.keys import Keys

    code = stack.promotion_code(percent_off=25)
    email = unique_email("keyboard")
    browser.open(f"/courses/{SERVERLESS}")
    browser.wait_for("h1", SERVERLESS_TITLE)

    skip = browser.tab_to("the skip link", lambda el: el.text == "Skip to content")
    assert browser.driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", skip) != "none"
    browser.type_keys(Keys.ENTER)
    browser.tab_to("the email field", lambda el: el.get_attribute("name") == "email")
    browser.type_keys(email, Keys.TAB, "NOT-A-CODE", Keys.ENTER)

    # The API's 422 lands next to the promotion code field, which gets the focus back.
    browser.wait_for(".field__error", "promotion code")
    focused = browser.active()
    assert focused.get_attribute("name") == "promotion_code" and focused.get_attribute("aria-invalid") == "true"
    browser.replace_text(code)
    buy = browser.tab_to("the buy button", lambda el: el.tag_name == "button" and el.text.startswith("Buy now"))
    assert browser.driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", buy) != "none"
    browser.type_keys(Keys.ENTER)

    _on_stripe_page(browser, stack)
    browser.wait_for("#discount", "19.75")  # 25 % of 79.00
    browser.tab_to("the pay button", lambda el: el.get_attribute("value") == "pay")
    browser.type_keys(Keys.ENTER)
    browser.wait_ready("/checkout/success")
    browser.wait_for("[role=status]", "Payment received")
    stack.wait_for_email(email, "password")


def test_a_guest_asks_for_the_claim_link_again_from_the_success_page(browser, stack):
    email = unique_email("again")
    checkout = requests.post(f"{stack.api}/checkout", json={"course_slug": SQL, "email": email}, timeout=30)
    assert checkout.status_code == 201, checkout.text
    session_id = checkout.json()["checkout_session_id"]
    paid = requests.post(checkout.json()["checkout_url"], data={"action": "pay"}, allow_redirects=False, timeout=30)
    assert paid.status_code == 303, paid.text
    first = stack.link_in(stack.wait_for_email(email, "password"), "/claim")

    browser.open(f"/checkout/success?session_id={session_id}")
    browser.wait_for("[role=status]", "Payment received")
    browser.click_button("Email me the link again")
    browser.wait_text("a new link is on its way to the email you used at checkout")
    assert browser.wait_for("#resend-claim").get_attribute("disabled")  # a pause before the next click
    browser.audit()

    # A second link went to the checkout's address; it supersedes the first.
    def claim_links() -> list[str]:
        messages = requests.get(stack.mailbox_json, timeout=10).json()["messages"]
        return [stack.link_in(m, "/claim") for m in messages if email in m["to"] and "/claim?token=" in m["body"]]

    browser.wait(lambda _d: len(claim_links()) == 2, "no second claim link")
    newest = claim_links()[0]
    assert newest != first
    for link, status in ((first, 400), (newest, 200)):
        token = requests.utils.unquote(link.split("token=", 1)[1])
        claimed = requests.post(f"{stack.api}/auth/claim", json={"token": token, "password": PASSWORD}, timeout=30)
        assert claimed.status_code == status, claimed.text
