// "/claim?token=…": the link in a guest buyer's purchase email (or in a gift's email to someone
// without an account yet). The token leaves the address
// bar (and so the history) before anything else happens; then the buyer picks a password and
// POST /auth/claim signs them in, their purchases already on the account.
import { post } from "../api.js";
import * as session from "../session.js";
import { checkPasswordsMatch, field, h, newPasswordFields, onSubmit, pageHeading, pageNotice, render, setMeta,
  isDeadLink, statusRegion, takeTokenFromUrl } from "../ui.js";

export default async function claim() {
  const token = takeTokenFromUrl("token");
  setMeta({ title: "Set your password" });
  if (!token) return missingToken();

  const alert = statusRegion({ alert: true });
  const form = h("form", { class: "form form--narrow", "aria-labelledby": "page-title" },
    field({ name: "name", label: "Your name", autocomplete: "name", optional: true, maxlength: 100 }),
    ...newPasswordFields(),
    h("button", { type: "submit", class: "button" }, "Set password and open my courses"));
  const heading = pageHeading("Set your password",
    "A course is waiting for this email (you bought it, or someone gave it to you). " +
    "Choose a password to open it now and to sign in later.");
  heading.querySelector("h1").id = "page-title";
  render(h("div", { class: "auth-card" }, heading, alert, form));

  onSubmit(form, alert, async (values) => {
    checkPasswordsMatch(values);
    const body = { token, password: values.password };
    if ((values.name || "").trim()) body.name = values.name.trim();
    try {
      const tokens = await post("/auth/claim", body, { auth: "none" });
      session.saveTokens(tokens);
      location.assign("/library?welcome=1");
    } catch (error) {
      if (isDeadLink(error)) return expired();
      throw error;
    }
  });
}

function missingToken() {
  render(pageNotice("warning", "This link is incomplete",
    h("p", {}, "Open the link from your purchase email again (it works once). Already set your password? ",
      h("a", { href: "/login" }, "Sign in"), ".")));
}

function expired() {
  setMeta({ title: "Link expired" });
  render(pageNotice("warning", "This link has expired or was already used",
    h("p", {}, "To get a fresh one, ", h("a", { href: "/register" }, "sign up with the same email"),
      " and we will email you a new link. Already set your password? ", h("a", { href: "/login" }, "Sign in"), ".")));
}
