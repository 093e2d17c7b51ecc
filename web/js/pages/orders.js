// "/orders": the signed-in buyer's orders, newest first (GET /me/orders).
import { get } from "../api.js";
import * as session from "../session.js";
import { formatDate, formatMoney, h, loginUrl, notice, pageHeading, render, setMeta } from "../ui.js";

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
            order.status === "paid" ? h("a", { href: `/learn?course=${encodeURIComponent(item.course_slug)}` },
              item.course_title) : item.course_title)))),
          h("td", {}, money(order.total_amount, order.currency),
            order.discount_amount ? h("span", { class: "muted" },
              ` (discount ${money(order.discount_amount, order.currency)})`) : null),
          h("td", {}, h("span", { class: `badge badge--${order.status}` }, STATUS_TEXT[order.status] || order.status),
            order.refunded_at ? h("span", { class: "muted" }, ` ${formatDate(order.refunded_at)}`) : null,
            order.refund_reason === "duplicate_purchase"
              ? h("span", { class: "muted" }, " (paid twice: refunded)") : null)))))));
}
