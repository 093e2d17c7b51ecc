// "/reset-password?token=…": the link from the "forgot password" email. Token out of the URL first.
import { post } from "../api.js";
import * as session from "../session.js";
import { checkPasswordsMatch, h, newPasswordFields, onSubmit, pageHeading, pageNotice, render, setMeta, statusRegion,
  isDeadLink, takeTokenFromUrl } from "../ui.js";

export default async function resetPassword() {
  const token = takeTokenFromUrl("token");
  setMeta({ title: "Choose a new password" });
  if (!token) {
    render(pageNotice("warning", "This link is incomplete",
      h("p", {}, "Open the link from your email again, or ", h("a", { href: "/forgot-password" },
        "ask for a new one"), ".")));
    return;
  }
  const alert = statusRegion({ alert: true });
  const form = h("form", { class: "form form--narrow", "aria-labelledby": "page-title" },
    ...newPasswordFields(),
    h("button", { type: "submit", class: "button" }, "Save the new password"));
  const heading = pageHeading("Choose a new password");
  heading.querySelector("h1").id = "page-title";
  render(h("div", { class: "auth-card" }, heading, alert, form));

  onSubmit(form, alert, async (values) => {
    checkPasswordsMatch(values);
    try {
      const tokens = await post("/auth/password/reset", { token, password: values.password }, { auth: "none" });
      session.saveTokens(tokens);
      location.assign("/library");
    } catch (error) {
      if (isDeadLink(error)) {
        setMeta({ title: "Link expired" });
        render(pageNotice("warning", "This link has expired or was already used",
          h("p", {}, h("a", { href: "/forgot-password" }, "Ask for a new reset link"), ".")));
        return;
      }
      throw error;
    }
  });
}
