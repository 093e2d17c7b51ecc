// "/orders": the signed-in buyer's orders, newest first (GET /me/orders). A gift says to whom,
// and a paid one has "Resend gift email" (POST /me/orders/{id}/resend-gift; a 429 says when to try).
import { get, post } from "../api.js";
import * as session from "../session.js";
import { formatDate, formatMoney, h, loginUrl, notice, pageHeading, render, setMeta, setStatus,
  statusRegion } from "../ui.js";

// A 429 without a readable Retry-After: the button waits this long, the text says "later".
const DEFAULT_WAIT_SECONDS = 60;

const STATUS_TEXT = { paid: "Paid", pending: "Processing", failed: "Failed", refunded: "Refunded" };

export default async function orders() {
  setMeta({ title: "Orders" });
  if (!session.isSignedIn()) return location.replace(loginUrl("/orders"));
  let list;
  try {
    list = (await get("/me/orders", { auth: "required" })).orders;
  } catch (error) {
    if (error.status === 401) return location.replace(loginUrl("/orders"));
    throw error;
  }
  if (!list.length) {
    render(pageHeading("Orders"), notice("info", "No orders yet", h("p", {}, h("a", { href: "/" }, "Browse the courses"))));
    return;
  }
  const money = (amount, currency) => formatMoney({ amount, currency });
  render(pageHeading("Orders"),
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "orders-caption" },
      h("table", { class: "orders" },
        h("caption", { id: "orders-caption", class: "visually-hidden" }, "Your orders, newest first"),
        h("thead", {}, h("tr", {},
          ["Date", "Courses", "Total", "Status"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, list.map((order) => h("tr", { dataset: { orderId: order.id } },
          h("td", {}, formatDate(order.created_at)),
          h("td", {}, h("ul", { class: "plain-list" }, order.items.map((item) => h("li", {},
            order.status === "paid" && !order.gift
              ? h("a", { href: `/learn?course=${encodeURIComponent(item.course_slug)}` }, item.course_title)
              : item.course_title))),
          order.gift ? giftCell(order) : null),
          h("td", {}, money(order.total_amount, order.currency),
            order.discount_amount ? h("span", { class: "muted" },
              ` (discount ${money(order.discount_amount, order.currency)})`) : null),
          h("td", {}, h("span", { class: `badge badge--${order.status}` }, STATUS_TEXT[order.status] || order.status),
            order.refunded_at ? h("span", { class: "muted" }, ` ${formatDate(order.refunded_at)}`) : null,
            order.refund_reason === "duplicate_purchase"
              ? h("span", { class: "muted" }, " (paid twice: refunded)") : null)))))));
}

function recipientText(gift) {
  return gift.recipient_name ? `${gift.recipient_name} (${gift.recipient_email})` : gift.recipient_email;
}

/** Who the gift is for, and (once paid) a button that emails them again. */
function giftCell(order) {
  const status = statusRegion();
  const gift = order.gift;
  const button = order.status === "paid" ? h("button", {
    type: "button", class: "button button--small button--secondary resend-gift",
    "aria-label": `Resend the gift email to ${gift.recipient_email}`,
    dataset: { orderId: order.id },
  }, "Resend gift email") : null;
  if (button) button.addEventListener("click", () => resend(order, button, status));
  return h("div", { class: "order-gift" },
    h("p", { class: "order-gift__to" }, h("span", { class: "badge badge--gift" }, "Gift"), " for ",
      h("span", { class: "order-gift__recipient" }, recipientText(gift))),
    button, status);
}

async function resend(order, button, status) {
  button.disabled = true;
  setStatus(status, "Sending…");
  let waitSeconds = 0;
  try {
    await post(`/me/orders/${encodeURIComponent(order.id)}/resend-gift`, undefined, { auth: "required" });
    setStatus(status, `Sent again to ${order.gift.recipient_email}.`, "success");
    waitSeconds = 30; // a pause before another click
  } catch (error) {
    if (error.status === 429) {
      waitSeconds = error.retryAfter || DEFAULT_WAIT_SECONDS;
      setStatus(status, `This address has had several emails from us lately. You can send it again ${
        error.retryAfter ? inAbout(error.retryAfter) : "later"}.`, "info");
    } else if (error.status === 401) {
      location.replace(loginUrl("/orders"));
      return;
    } else {
      setStatus(status, error.message, "error");
    }
  }
  if (waitSeconds) setTimeout(() => { button.disabled = false; }, waitSeconds * 1000);
  else button.disabled = false;
}

function inAbout(seconds) {
  if (seconds < 60) return `in ${seconds} ${seconds === 1 ? "second" : "seconds"}`;
  const minutes = Math.ceil(seconds / 60);
  return `in about ${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}
