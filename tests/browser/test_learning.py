"""Issue 14 in the storefront, in headless Chromium against the real local stack: lesson progress
from the player's events, "Mark as complete", resuming at the next lesson, the certificate (learn
page, /certificates, the public verification page, revoked after a refund), free enrolment, and a
gift bought by one person and claimed by another."""
import re

import pytest
import requests

from support.browser_support import WAIT_SECONDS, unique_email

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SQL = "practical-sql-for-analysts"
SQL_TITLE = "Practical SQL for Analysts"
SQL_LESSONS = ["select-where-order-by", "joins-without-double-counting", "group-by-and-having",
               "ctes-for-readable-queries", "window-functions", "building-a-portfolio", "resume-that-gets-read"]
FREE = "command-line-fundamentals"
FREE_TITLE = "Command Line Fundamentals"
SERVERLESS = "serverless-python-on-aws"
SERVERLESS_TITLE = "Serverless Python on AWS"
PASSWORD = "Correct-Horse-42"

# Everything a visitor writes that other pages show: it must come out as text, never as markup.
HOSTILE_NAME = 'Ada <img src=x onerror="window.__pwned=1"> Lovelace'
HOSTILE_MESSAGE = 'Happy birthday! <script>window.__pwned=1</script> — from me & you ♥'  # chromedriver types BMP only


def _console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.driver.get_log("browser") if entry["level"] == "SEVERE"]


def _sign_in(browser, email: str, next_path: str = "/library") -> None:
    browser.open(f"/login?next={next_path}")
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Sign in")
    browser.wait_ready(next_path.split("?")[0])


def _sign_out(browser) -> None:
    browser.click_button("Sign out")
    browser.wait_for(".site-nav", "Sign in")  # signed out and on "/": no navigation left to race the next one
    assert browser.session() is None


def _register(stack, name: str, prefix: str) -> str:
    email = unique_email(prefix)
    created = requests.post(f"{stack.api}/auth/register", json={"name": name, "email": email, "password": PASSWORD},
                            timeout=30)
    assert created.status_code == 201, created.text
    return email


def _token(browser) -> str:
    return browser.session()["access_token"]


def _complete_by_api(stack, token: str, lesson: str) -> dict:
    """What the page's own "Mark as complete" sends, for lessons the test does not open."""
    saved = requests.put(f"{stack.api}/learn/{SQL}/lessons/{lesson}/progress", timeout=30,
                         json={"position_seconds": 30, "completed": True}, headers={"Authorization": f"Bearer {token}"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["progress"]["completed_at"]
    return saved.json()["progress"]


def _play_to_the_end(browser, figure) -> None:
    """Press play in the Stream stand-in's frame (muted: headless has no gesture to unmute with)."""
    frame = figure.find_element("css selector", "iframe")
    browser.wait(lambda _d: figure.get_attribute("data-player-state") == "ready", "the player never became ready")
    browser.driver.switch_to.frame(frame)
    try:
        browser.driver.execute_script("const v = document.querySelector('video'); v.muted = true; v.play();")
    finally:
        browser.driver.switch_to.default_content()
    browser.wait(lambda _d: figure.get_attribute("data-player-state") in ("playing", "ended"), "the video never played")


def _nav_completed(browser) -> list[str]:
    return [el.get_attribute("data-lesson") for el in browser.find_all(".lesson-nav a[data-completed=true]")]


def test_progress_resume_certificate_and_its_revocation(browser, stack):
    email = stack.buy_and_claim(SQL, PASSWORD)  # the learner's name is "Robin Learner"
    _sign_in(browser, email)
    card = browser.wait_for("#library-list .course-card", SQL_TITLE)
    assert "Not started" in card.text
    start = card.find_element("css selector", "a.button")
    assert start.text == "Start" and start.get_attribute("data-resume") == SQL_LESSONS[0]

    # Lesson 1, completed by the player's own events: played to the end (the stand-in's video is 6 s).
    start.click()
    browser.wait_ready("/learn")
    browser.wait_for("h2#lesson-title", "SELECT, WHERE, ORDER BY")
    browser.wait_for("#mark-complete", "Mark as complete")
    figure = browser.wait_for(".lesson .player")
    _play_to_the_end(browser, figure)
    browser.wait_for("#progress-status", "Lesson completed. Next: Joins without double-counting",
                     timeout=WAIT_SECONDS)
    browser.wait_for("#lesson-completed", "You completed this lesson.")
    assert _nav_completed(browser) == [SQL_LESSONS[0]]
    browser.wait_for("#course-progress", "1 of 7 lessons completed")
    assert not browser.find_all("#mark-complete")

    # The page saved it through PUT …/progress: the API says so.
    course = requests.get(f"{stack.api}/learn/{SQL}", headers={"Authorization": f"Bearer {_token(browser)}"},
                          timeout=30).json()["course"]
    first = course["modules"][0]["lessons"][0]
    assert first["progress"]["completed_at"] and first["progress"]["position_seconds"] >= 5
    assert course["progress"] == {"completed_lessons": 1, "total_lessons": 7, "percent": 14}
    assert course["next_lesson"]["slug"] == SQL_LESSONS[1]

    # Lesson 2 with the page's button; the pause before it saved a position too.
    browser.click_link("Joins without double-counting")
    browser.wait_for("h2#lesson-title", "Joins without double-counting")
    browser.click_button("Mark as complete")
    browser.wait_for("#progress-status", "Lesson completed. Next: GROUP BY and HAVING")
    browser.wait_for("#course-progress", "2 of 7 lessons completed")
    assert _nav_completed(browser) == SQL_LESSONS[:2]
    browser.audit()
    browser.screenshot("learn-progress")

    # The library: a progress bar and "Resume" at the next lesson.
    browser.open("/library")
    card = browser.wait_for("#library-list .course-card", SQL_TITLE)
    assert "2 of 7 lessons completed" in card.text and "Next: GROUP BY and HAVING" in card.text
    assert card.find_element("css selector", "progress").get_attribute("value") == "28"
    resume = card.find_element("css selector", "a.button")
    assert resume.text == "Resume" and resume.get_attribute("data-resume") == SQL_LESSONS[2]
    browser.audit()
    browser.screenshot("library-progress")
    resume.click()
    browser.wait_ready("/learn")
    browser.wait_for("h2#lesson-title", "GROUP BY and HAVING")
    assert browser.find(".lesson-nav [aria-current=page]").get_attribute("data-lesson") == SQL_LESSONS[2]

    # Lessons 3-6 as the button would; the last one on the page: the certificate appears under it.
    for lesson in SQL_LESSONS[2:6]:
        _complete_by_api(stack, _token(browser), lesson)
    browser.open(f"/learn?course={SQL}")  # no lesson named: the next one opens
    browser.wait_for("h2#lesson-title", "A résumé that gets read")
    browser.wait_for("#course-progress", "6 of 7 lessons completed")
    assert not browser.find_all("#certificate-area:not([hidden])")
    browser.click_button("Mark as complete")
    browser.wait_for("#progress-status", "Lesson completed.")
    browser.wait_for("#course-progress", "All 7 lessons completed")
    certificate = browser.wait_for("#certificate-area .certificate", "You earned a certificate")
    assert "Robin Learner" in certificate.text and SQL_TITLE in certificate.text and "Valid" in certificate.text
    browser.audit()
    assert _console_errors(browser) == []

    # The learner's certificates: the PDF downloads.
    browser.click_link("Certificates")
    browser.wait_ready("/certificates")
    card = browser.wait_for("#certificate-list .certificate", SQL_TITLE)
    code = card.get_attribute("data-code")
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}", code)
    browser.audit()
    browser.screenshot("certificates")
    card.find_element("css selector", "button[data-download]").click()
    browser.wait_for("#certificate-list [role=status]", "Downloading the certificate.")
    browser.wait(lambda _d: any(p.suffix == ".pdf" and p.read_bytes().startswith(b"%PDF")
                                for p in browser.downloads.iterdir()), "the browser saved no PDF")

    # The public verification page, signed out, at the certificate's verify_url.
    listed = requests.get(f"{stack.api}/me/certificates", headers={"Authorization": f"Bearer {_token(browser)}"},
                          timeout=30).json()["certificates"]
    verify_url = next(c["verify_url"] for c in listed if c["code"] == code)
    assert verify_url == f"{stack.web}/certificates/{code}"
    _sign_out(browser)
    browser.driver.get(verify_url)
    browser.wait_ready(f"/certificates/{code}")
    verdict = browser.wait_for("#verify-verdict", "This certificate is valid.")
    page = browser.find(".verify")
    assert page.get_attribute("data-status") == "valid"
    assert "Robin Learner" in page.text and SQL_TITLE in page.text and code in page.text
    browser.audit()
    assert _console_errors(browser) == []
    browser.screenshot("certificate-valid")

    # A refund on the (emulated) Stripe dashboard revokes the certificate: the same page says so.
    browser.driver.get(stack.urls["stripe_dashboard"])
    row = browser.wait_for("table[aria-label=Charges] tbody tr", email)
    row.find_element("css selector", "button[value=refund]").click()
    browser.wait_for("p[role=status]", "Refunded")
    browser.wait(lambda _d: requests.get(f"{stack.api}/certificates/{code}", timeout=10).json()
                 ["certificate"]["status"] == "revoked", "the refund did not revoke the certificate")
    browser.driver.get(verify_url)
    browser.wait_ready(f"/certificates/{code}")
    verdict = browser.wait_for("#verify-verdict", "This certificate has been revoked.")
    assert browser.find(".verify").get_attribute("data-status") == "revoked"
    assert "Robin Learner" in browser.find(".verify").text
    assert verdict.is_displayed()
    browser.audit()
    browser.screenshot("certificate-revoked")

    # An unknown code is "not found", not an error.
    browser.open("/certificates/" + "A" * 32)
    browser.wait_for("h1", "Certificate not found")
    assert _console_errors(browser) == [] or all("404" in entry for entry in _console_errors(browser))


def test_free_course_start_learning_signs_in_then_enrols(browser, stack):
    email = _register(stack, "Free Learner", "free")

    # Signed out: "Start learning" leads to the sign-in page, which comes back here.
    browser.open(f"/courses/{FREE}")
    browser.wait_for("h1", FREE_TITLE)
    start = browser.wait_for("#start-learning", "Start learning")
    assert start.get_attribute("href") == f"{stack.web}/login?next=%2Fcourses%2F{FREE}"
    start.click()
    browser.wait_ready("/login")
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click_button("Sign in")
    browser.wait_ready(f"/courses/{FREE}")
    browser.wait_for(".buy-panel h2", "Free course")
    browser.audit()
    browser.screenshot("course-free")

    # Signed in: enrol, then the learn page; the course is in the library.
    browser.click_button("Start learning")
    browser.wait_ready("/learn")
    browser.wait_for("h1", FREE_TITLE)
    browser.wait_for("h2#lesson-title", "Navigating the filesystem")
    browser.wait_for("#course-progress", "Not started")
    browser.audit()
    browser.open("/library")
    card = browser.wait_for("#library-list .course-card", FREE_TITLE)
    assert card.find_element("css selector", "a.button").text == "Start"

    # Its page now says so; enrolling again is harmless (200), and a checkout for it is refused.
    browser.open(f"/courses/{FREE}")
    browser.wait_for(".buy-panel", "Continue learning")
    headers = {"Authorization": f"Bearer {_token(browser)}"}
    again = requests.post(f"{stack.api}/courses/{FREE}/enroll", headers=headers, timeout=30)
    assert again.status_code == 200 and again.json()["course_slug"] == FREE, again.text
    checkout = requests.post(f"{stack.api}/checkout", json={"course_slug": FREE}, headers=headers, timeout=30)
    assert checkout.status_code == 409 and checkout.json()["error"]["code"] == "free_course", checkout.text
    assert _console_errors(browser) == []


def test_a_gift_bought_by_one_person_and_claimed_by_another(browser, stack):
    from selenium.webdriver.common.keys import Keys

    buyer = _register(stack, "Grace Giver", "giver")
    recipient = unique_email("giftee")
    _sign_in(browser, buyer, f"/courses/{SERVERLESS}")
    browser.wait_for("h1", SERVERLESS_TITLE)

    # The gift form opens from its button; the message has a counter (characters as the API counts them).
    toggle = browser.wait_for("#gift-toggle", "Buy as a gift")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    browser.wait_for("#gift-form")
    browser.click_button("Buy as a gift for $79.00")  # nothing filled in: the required field says so
    browser.wait_for("#gift-form .field__error", "This field is required.")
    browser.fill("Recipient’s email", recipient)
    browser.field("Message").send_keys("x" * 503)
    browser.wait_for("#gift-message-counter", "3 characters too many")
    browser.click_button("Buy as a gift for $79.00")
    browser.wait_for("#gift-form .field__error", "Keep the message to 500 characters.")
    assert browser.field("Message").get_attribute("aria-invalid") == "true"
    browser.type_keys(Keys.BACKSPACE * 3)  # short enough again: the error goes as you type
    browser.wait_for("#gift-message-counter", "0 characters left")
    assert browser.field("Message").get_attribute("aria-invalid") is None

    # To the buyer's own address: the API's 422, next to the field.
    browser.fill("Recipient’s email", buyer)
    browser.fill("Message", "Enjoy!")
    browser.click_button("Buy as a gift for $79.00")
    browser.wait_for("#gift-form .field__error")
    assert browser.field("Recipient’s email").get_attribute("aria-invalid") == "true"

    # The form as a buyer fills it in (a name and a message with markup in them).
    browser.open(f"/courses/{SERVERLESS}")
    browser.click_button("Buy as a gift")
    browser.fill("Recipient’s email", recipient)
    browser.fill("Recipient’s name", HOSTILE_NAME)
    browser.fill("Message", HOSTILE_MESSAGE)
    browser.wait_for("#gift-message-counter", f"{500 - len(HOSTILE_MESSAGE)} characters left")
    browser.audit()
    browser.driver.execute_script("document.querySelector('.buy-panel__gift').scrollIntoView()")
    browser.screenshot("course-gift")

    # Paid on the emulator's hosted page, as the normal buy.
    browser.click_button("Buy as a gift for $79.00")
    browser.wait(lambda d: d.current_url.startswith(stack.stripe + "/pay/"), "the gift did not lead to Stripe")
    browser.wait_for("button[value=pay]").click()
    browser.wait_ready("/checkout/success")
    browser.wait_for("[role=status]", "Thank you for your gift!")
    assert recipient in browser.find(".gift-recipient").text
    assert not browser.driver.execute_script("return window.__pwned || document.querySelector('main img[src=x]')")

    # The buyer's orders: the gift, to whom, and "Resend gift email" (rate limited: said politely).
    browser.click_link("your orders")
    browser.wait_ready("/orders")
    row = browser.wait_for("table.orders tbody tr", SERVERLESS_TITLE)
    assert "Gift for" in row.text and recipient in row.text and HOSTILE_NAME in row.text
    stack.wait_for_email(recipient, "been given a course")
    row.find_element("css selector", "button.resend-gift").click()
    browser.wait_for("table.orders [role=status]", f"Sent again to {recipient}.")
    assert row.find_element("css selector", "button.resend-gift").get_attribute("disabled")
    headers = {"Authorization": f"Bearer {_token(browser)}"}
    order_id = row.get_attribute("data-order-id")
    sent = 2  # the gift email, and the one the button sent again
    for _ in range(10):  # use up the address's share of emails
        resent = requests.post(f"{stack.api}/me/orders/{order_id}/resend-gift", headers=headers, timeout=30)
        if resent.status_code == 429:
            break
        assert resent.status_code == 202, resent.text
        sent += 1
    else:
        raise AssertionError("resending the gift email was never rate limited")
    browser.open("/orders")
    browser.wait_for("table.orders tbody tr button.resend-gift").click()
    browser.wait_for("table.orders [role=status]", "You can send it again")
    assert browser.find("table.orders button.resend-gift").get_attribute("disabled")  # for a while
    browser.audit()
    browser.screenshot("orders-gift")
    assert _console_errors(browser) == [] or all("429" in entry for entry in _console_errors(browser))

    # The buyer does not have the course; the recipient claims it from the emailed link.
    browser.open("/library")
    browser.wait_for("main", "No courses yet")
    _sign_out(browser)
    def gift_mails() -> list[dict]:  # newest first; each carries a fresh claim link that supersedes the last
        return [m for m in requests.get(stack.mailbox_json, timeout=10).json()["messages"]
                if recipient in m["to"] and "been given a course" in m["subject"]]
    browser.wait(lambda _d: len(gift_mails()) == sent, f"not {sent} gift emails")
    mail = gift_mails()[0]
    assert "Grace Giver" in mail["body"] and "Happy birthday!" in mail["body"]
    claim = stack.link_in(mail, "/claim")
    browser.driver.get(claim)
    browser.wait_ready("/claim")
    browser.wait_for("h1", "Set your password")
    browser.fill("Your name", "Ada Lovelace")
    browser.fill("New password", PASSWORD)
    browser.fill("Repeat the new password", PASSWORD)
    browser.click_button("Set password and open my courses")
    browser.wait_ready("/library")
    card = browser.wait_for("#library-list .course-card", SERVERLESS_TITLE)
    assert "Not started" in card.text
    browser.wait_for(".site-nav", "Ada Lovelace")
    assert browser.session()["user"]["email"] == recipient
    assert not browser.driver.execute_script("return window.__pwned")
    assert _console_errors(browser) == []
