// "/login?next=/path": email + password → POST /auth/login.
import { post } from "../api.js";
import * as session from "../session.js";
import { field, h, onSubmit, pageHeading, render, safeNext, setMeta, statusRegion } from "../ui.js";

export default async function login({ query, renderNav }) {
  setMeta({ title: "Sign in" });
  const next = safeNext(query.get("next"));
  const alert = statusRegion({ alert: true });
  const form = h("form", { class: "form form--narrow", "aria-labelledby": "page-title" },
    field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "username" }),
    field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "current-password" }),
    h("button", { type: "submit", class: "button" }, "Sign in"));
  const heading = pageHeading("Sign in");
  heading.querySelector("h1").id = "page-title";
  render(h("div", { class: "auth-card" }, heading,
    session.isSignedIn() ? h("p", { class: "notice notice--info" }, "You are already signed in. ",
      h("a", { href: next }, "Continue"), ".") : null,
    alert, form,
    h("p", {}, h("a", { href: "/forgot-password" }, "Forgot your password?")),
    h("p", {}, "New here? ", h("a", { href: "/register" }, "Create an account"), "."),
    h("p", { class: "muted" }, "Bought a course as a guest? Use the link in your purchase email to set your password.")));

  onSubmit(form, alert, async ({ email, password }) => {
    const tokens = await post("/auth/login", { email: email.trim(), password }, { auth: "none" });
    session.saveTokens(tokens);
    renderNav();
    location.assign(next);
  });
}
