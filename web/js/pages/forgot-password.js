// "/forgot-password": email → POST /auth/password/forgot (always 202, whether or not the account exists).
import { post } from "../api.js";
import { field, h, notice, onSubmit, pageHeading, render, setMeta, statusRegion } from "../ui.js";

export default async function forgotPassword() {
  setMeta({ title: "Reset your password" });
  const alert = statusRegion({ alert: true });
  const form = h("form", { class: "form form--narrow", "aria-labelledby": "page-title" },
    field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email" }),
    h("button", { type: "submit", class: "button" }, "Email me a reset link"));
  const heading = pageHeading("Reset your password", "We will email you a link to choose a new password.");
  heading.querySelector("h1").id = "page-title";
  const card = h("div", { class: "auth-card" }, heading, alert, form,
    h("p", {}, h("a", { href: "/login" }, "Back to sign in")));
  render(card);

  onSubmit(form, alert, async ({ email }) => {
    await post("/auth/password/forgot", { email: email.trim() }, { auth: "none" });
    const done = notice("success", "Check your email",
      h("p", {}, "If an account exists for that address, a reset link is on its way. It works once and expires soon."));
    form.replaceWith(done);
    done.setAttribute("tabindex", "-1");
    done.focus();
  });
}
