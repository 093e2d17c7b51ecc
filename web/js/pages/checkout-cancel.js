// "/checkout/cancel?course=…": the buyer left Stripe's payment page without paying.
import { SLUG, courseUrl, h, notice, render, setMeta } from "../ui.js";

export default async function checkoutCancel({ query }) {
  setMeta({ title: "Checkout cancelled" });
  const slug = query.get("course") || "";
  render(
    h("h1", {}, "Checkout cancelled"),
    notice("info", "You have not been charged",
      h("p", {}, "Nothing was bought. Whenever you are ready, you can start again."),
      h("p", { class: "actions" },
        SLUG.test(slug) ? h("a", { class: "button", href: courseUrl(slug) }, "Back to the course") : null,
        h("a", { class: SLUG.test(slug) ? "button button--secondary" : "button", href: "/" }, "Browse all courses"))));
}
