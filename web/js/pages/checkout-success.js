// "/checkout/success?session_id=…": Stripe sends the buyer here after paying. Access is
// granted by the webhook, so this page polls GET /checkout/{id} until the order is paid
// or failed (every 1.5 s for two minutes, then every 10 s: bank debits take days).
// A guest who paid can ask for the claim link again (POST /checkout/{id}/resend-claim): the
// answer is the same whatever the account's state, and the link only ever goes to the email
// used at checkout.
import { get, post } from "../api.js";
import * as session from "../session.js";
import { h, learnUrl, pageHeading, pageNotice, render, setMeta, setStatus, statusRegion } from "../ui.js";

const FAST_MS = 1500;
const FAST_FOR_MS = 2 * 60 * 1000;
const SLOW_MS = 10000;
const GIVE_UP_MS = 60 * 60 * 1000;
const RESEND_PAUSE_MS = 30 * 1000; // between two "send the link again" clicks

export default async function checkoutSuccess({ query }) {
  setMeta({ title: "Your order" });
  const sessionId = query.get("session_id") || "";
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(sessionId)) {
    render(pageNotice("warning", "No checkout to show",
      h("p", {}, "This page shows a purchase after payment. ", h("a", { href: "/" }, "Browse the courses"), ".")));
    return;
  }

  const status = statusRegion({ className: "status--large" });
  const details = h("div", { class: "checkout-result", id: "checkout-result" });
  render(pageHeading("Your order"), status, details);
  const started = Date.now();
  let lastState = null;

  async function poll() {
    let order;
    try {
      order = await get(`/checkout/${encodeURIComponent(sessionId)}`, { auth: "none" });
    } catch (error) {
      if (error.status === 404) {
        show("unknown", "We could not find this checkout.", [
          h("p", {}, "If you paid, your receipt email has the details. ", h("a", { href: "/" }, "Back to the courses"), "."),
        ]);
        return;
      }
      // A hiccup: say so, keep trying.
      show("retrying", "Checking your payment… (the connection is slow, still trying)", []);
      return schedule();
    }
    if (order.status === "paid") return showPaid(order);
    if (order.status === "failed") return showFailed(order);
    if (order.status === "refunded") {
      const why = order.refund_reason === "duplicate_purchase"
        ? "You already had this course through another order, so this payment was refunded."
        : "This order was refunded.";
      return show("refunded", why, [h("p", {}, h("a", { href: "/" }, "Back to the courses"))]);
    }
    showProcessing();
    return schedule();
  }

  function schedule() {
    const elapsed = Date.now() - started;
    if (elapsed > GIVE_UP_MS) return;
    setTimeout(poll, elapsed < FAST_FOR_MS ? FAST_MS : SLOW_MS);
  }

  function show(state, message, body, tone = "info") {
    details.dataset.state = state;
    if (state === lastState) return; // keep the live region quiet while nothing changes
    lastState = state;
    setStatus(status, message, tone);
    details.replaceChildren(...body.filter(Boolean)); // (replaceChildren would write a null as "null")
  }

  function showProcessing() {
    show("processing", "Your payment is processing…", [
      h("p", {}, "Card payments take a few seconds. Bank payments can take a few days to clear: we will email you ",
        "as soon as yours does, and you can safely close this page."),
      h("p", { class: "spinner", "aria-hidden": "true" }),
    ]);
  }

  function courseLinks(order, signedIn) {
    if (!order.courses.length) return null;
    return h("ul", { class: "checkout-result__courses" }, order.courses.map((course) => h("li", {},
      signedIn ? h("a", { href: learnUrl(course.slug) }, `Start “${course.title}”`) : course.title)));
  }

  function showPaid(order) {
    setMeta({ title: "Payment received" });
    const signedIn = session.isSignedIn();
    const gift = order.gift || giftOf(sessionId);
    if (gift) return showGiftPaid(order, gift, signedIn);
    show("paid", "Payment received. Thank you!", signedIn
      ? [
        h("p", {}, "Your course is ready in your library."),
        courseLinks(order, true),
        h("p", {}, h("a", { class: "button", href: "/library" }, "Go to my courses")),
      ]
      : [
        h("p", {}, "You bought:"),
        courseLinks(order, false),
        h("h2", {}, "Next: check your email"),
        h("p", {}, "We sent your receipt and a link to set your password. Open that link to start watching. ",
          "The email can take a minute; look in your spam folder too."),
        resendClaim(),
        h("p", {}, "Bought with the email of an account you already have? ", h("a", { href: "/login?next=/library" },
          "Sign in"), " and the course is in your library."),
      ], "success");
  }

  function showGiftPaid(order, gift, signedIn) {
    const to = gift.recipient_name ? `${gift.recipient_name} (${gift.recipient_email})` : gift.recipient_email;
    show("paid", "Payment received. Thank you for your gift!", [
      h("p", {}, "We are emailing ", h("strong", { class: "gift-recipient" }, to),
        " a link to start learning:"),
      h("ul", { class: "checkout-result__courses" }, order.courses.map((course) => h("li", {}, course.title))),
      h("p", {}, "The course goes into their library, not yours. Your receipt is on its way to you."),
      signedIn
        ? h("p", {}, "Need to send their email again? Use ", h("a", { href: "/orders" }, "your orders"), ".")
        : h("p", {}, "We also made an account for your email: the link in your receipt sets its password, ",
          "and its orders page can send the gift email again."),
    ], "success");
  }

  // "No email?": a fresh link (the older ones stop working), to the checkout's email only.
  function resendClaim() {
    const result = statusRegion();
    const button = h("button", { type: "button", class: "button button--secondary", id: "resend-claim" },
      "Email me the link again");
    button.addEventListener("click", async () => {
      button.disabled = true;
      setStatus(result, "Sending…");
      let pause = RESEND_PAUSE_MS;
      try {
        await post(`/checkout/${encodeURIComponent(sessionId)}/resend-claim`, undefined, { auth: "none" });
        setStatus(result, "If your account still needs a password, a new link is on its way to the email you " +
          "used at checkout. Only the newest link works.", "success");
      } catch (error) {
        setStatus(result, error.message, "error"); // e.g. 429: too many emails asked for; try later
        if (error.status === 429) pause = 5 * 60 * 1000;
      }
      setTimeout(() => { button.disabled = false; }, pause);
    });
    return h("div", { class: "checkout-result__resend" }, h("p", {}, "No email after a few minutes?"), button,
      result);
  }

  function showFailed(order) {
    setMeta({ title: "Payment failed" });
    const course = order.courses[0];
    show("failed", "Your payment failed. You have not been charged.", [
      h("p", {}, "The bank or card did not accept the payment. You can try again with another payment method."),
      course ? h("p", {}, h("a", { class: "button", href: `/courses/${encodeURIComponent(course.slug)}` },
        `Try again: ${course.title}`)) : h("p", {}, h("a", { href: "/" }, "Back to the courses")),
    ], "error");
  }

  await poll();
}

/** The gift the course page remembered for this checkout (this tab only), or null. */
function giftOf(sessionId) {
  try {
    const raw = sessionStorage.getItem(`lectern.gift.${sessionId}`);
    const gift = raw ? JSON.parse(raw) : null;
    return gift && typeof gift.recipient_email === "string" ? gift : null;
  } catch {
    return null;
  }
}
