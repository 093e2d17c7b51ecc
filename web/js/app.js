// Storefront entry point: every path gets index.html (the dev server and CloudFront's
// viewer-request function both do that), and this router picks the page module.
// Links are ordinary links: each page is a full load, so back/forward, reload and
// "open in new tab" all behave as on any website.

import { logout } from "./api.js";
import * as session from "./session.js";
import { h, pageNotice, render, setMeta } from "./ui.js";

const ROUTES = [
  [/^\/$/, "catalog"],
  [/^\/courses\/?$/, "catalog"],
  [/^\/course\/?$/, "course"],
  [/^\/courses\/([^/]+)\/?$/, "course"],
  [/^\/checkout\/success\/?$/, "checkout-success"],
  [/^\/checkout\/cancel\/?$/, "checkout-cancel"],
  [/^\/claim\/?$/, "claim"],
  [/^\/verify-email\/?$/, "verify-email"],
  [/^\/reset-password\/?$/, "reset-password"],
  [/^\/login\/?$/, "login"],
  [/^\/register\/?$/, "register"],
  [/^\/forgot-password\/?$/, "forgot-password"],
  [/^\/library\/?$/, "library"],
  [/^\/me\/courses\/?$/, "library"], // the receipt email links here
  [/^\/orders\/?$/, "orders"],
  [/^\/learn\/?$/, "learn"],
  [/^\/learn\/([^/]+)\/?$/, "learn"],
  [/^\/certificates\/?$/, "certificates"],
  [/^\/certificates\/([^/]+)\/?$/, "certificate"], // a certificate's verify_url: public
];

function match(pathname) {
  for (const [pattern, page] of ROUTES) {
    const found = pathname.match(pattern);
    if (found) return { page, params: found.slice(1).map(decodeURIComponent) };
  }
  return null;
}

function navLink(href, text) {
  const here = location.pathname === href || (href !== "/" && location.pathname.startsWith(href));
  return h("li", {}, h("a", { href, "aria-current": here ? "page" : null }, text));
}

export function renderNav() {
  const list = document.getElementById("site-nav-list");
  if (!list) return;
  const items = [navLink("/", "Courses")];
  if (session.isSignedIn()) {
    const user = session.currentUser();
    items.push(navLink("/library", "My courses"), navLink("/certificates", "Certificates"),
      navLink("/orders", "Orders"));
    items.push(h("li", { class: "site-nav__user" },
      h("span", { class: "visually-hidden" }, "Signed in as "),
      h("span", { class: "site-nav__name" }, (user && (user.name || user.email)) || "you")));
    items.push(h("li", {}, h("button", {
      type: "button", class: "link-button", id: "logout-button",
      onclick: async (event) => {
        event.currentTarget.disabled = true;
        await logout();
        location.assign("/");
      },
    }, "Sign out")));
  } else {
    // Never carry an emailed token into a link (the claim / reset pages drop it from the URL too).
    const here = new URL(location.href);
    here.searchParams.delete("token");
    const next = encodeURIComponent(here.pathname + here.search);
    const onAuthPage = ["/login", "/register"].includes(location.pathname);
    items.push(h("li", {}, h("a", { href: onAuthPage ? "/login" : `/login?next=${next}`,
      "aria-current": location.pathname === "/login" ? "page" : null }, "Sign in")));
    items.push(h("li", {}, h("a", { href: "/register", class: "button button--small",
      "aria-current": location.pathname === "/register" ? "page" : null }, "Create account")));
  }
  list.replaceChildren(...items);
}

async function start() {
  renderNav();
  const found = match(location.pathname);
  if (!found) {
    setMeta({ title: "Page not found" });
    render(pageNotice("warning", "Page not found",
      h("p", {}, "There is nothing at this address. ", h("a", { href: "/" }, "Browse the courses"), ".")));
    document.body.dataset.ready = "true";
    return;
  }
  try {
    const module = await import(`./pages/${found.page}.js`);
    await module.default({ params: found.params, query: new URLSearchParams(location.search), renderNav });
  } catch (error) {
    console.error(error);
    setMeta({ title: "Something went wrong" });
    render(pageNotice("error", "Something went wrong",
      h("p", {}, error && error.message ? error.message : "This page could not be shown."),
      h("p", {}, h("a", { href: location.pathname + location.search }, "Try again"), " or ",
        h("a", { href: "/" }, "go to the courses"), ".")));
  }
  document.body.dataset.ready = "true"; // the browser tests wait for this
}

start();
