// "/verify-email?token=…": confirms the address (POST /auth/verify-email) as soon as the page opens.
import { post } from "../api.js";
import * as session from "../session.js";
import { h, isDeadLink, notice, render, setMeta, setStatus, statusRegion, takeTokenFromUrl } from "../ui.js";

export default async function verifyEmail() {
  const token = takeTokenFromUrl("token");
  setMeta({ title: "Confirm your email" });
  const status = statusRegion({ className: "status--large" });
  render(h("h1", {}, "Confirm your email"), status);
  if (!token) {
    setStatus(status, "This link is incomplete: open the link from your email again.", "error");
    return;
  }
  setStatus(status, "Confirming your email address…");
  try {
    const data = await post("/auth/verify-email", { token }, { auth: "none" });
    if (session.isSignedIn() && data.user) session.updateUser(data.user);
    setStatus(status, "Your email address is confirmed. Thank you!", "success");
    status.after(h("p", {}, session.isSignedIn()
      ? h("a", { class: "button", href: "/library" }, "Go to my courses")
      : h("a", { class: "button", href: "/login" }, "Sign in")));
  } catch (error) {
    if (isDeadLink(error)) {
      setStatus(status, null);
      status.after(notice("warning", "This link has expired or was already used",
        h("p", {}, "Links from our emails work once. If you opened this one before, your address is already confirmed: ",
          h("a", { href: session.isSignedIn() ? "/library" : "/login" }, "carry on"), ".")));
      return;
    }
    setStatus(status, error.message, "error");
  }
}
