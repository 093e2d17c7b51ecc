// "/register": name, email, password → POST /auth/register (sends a verification email).
import { post } from "../api.js";
import * as session from "../session.js";
import { PASSWORD_HINT, field, h, onSubmit, pageHeading, render, setMeta, statusRegion } from "../ui.js";

export default async function register() {
  setMeta({ title: "Create an account" });
  const alert = statusRegion({ alert: true });
  const form = h("form", { class: "form form--narrow", "aria-labelledby": "page-title" },
    field({ name: "name", label: "Name", required: true, autocomplete: "name", maxlength: 100 }),
    field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email" }),
    field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "new-password",
      hint: PASSWORD_HINT }),
    h("button", { type: "submit", class: "button" }, "Create account"));
  const heading = pageHeading("Create an account");
  heading.querySelector("h1").id = "page-title";
  render(h("div", { class: "auth-card" }, heading, alert, form,
    h("p", {}, "Already have one? ", h("a", { href: "/login" }, "Sign in"), ".")));

  onSubmit(form, alert, async ({ name, email, password }) => {
    try {
      const tokens = await post("/auth/register", { name: name.trim(), email: email.trim(), password }, { auth: "none" });
      session.saveTokens(tokens);
      location.assign("/library?welcome=1");
    } catch (error) {
      if (error.code === "email_taken") {
        error.details = { email: [
          "This email already has an account. Sign in, or reset your password. (If you bought a course as a guest, " +
          "we have just emailed you a fresh link to set your password.)"] };
      }
      throw error;
    }
  });
}
