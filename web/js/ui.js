// Small DOM helpers shared by the pages. Text from the API is always set as text
// (never parsed as HTML), so a course title cannot inject markup.

const SITE_NAME = "Lectern";
const DEFAULT_DESCRIPTION = "Video courses you can watch at your own pace.";

/** h("a", {href: "/x", class: "btn"}, "text", childNode, ...) → Element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the page's content (<main>) and return it. */
export function render(...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  return main;
}

function setMetaTag(selector, attr, key, value) {
  let tag = document.head.querySelector(selector);
  if (!tag) {
    tag = document.createElement("meta");
    tag.setAttribute(attr, key);
    document.head.append(tag);
  }
  tag.setAttribute("content", value || "");
}

/** document.title plus the description and Open Graph tags. */
export function setMeta({ title, description, image } = {}) {
  document.title = title ? `${title} · ${SITE_NAME}` : SITE_NAME;
  const text = description || DEFAULT_DESCRIPTION;
  setMetaTag('meta[name="description"]', "name", "description", text);
  setMetaTag('meta[property="og:title"]', "property", "og:title", title || SITE_NAME);
  setMetaTag('meta[property="og:description"]', "property", "og:description", text);
  setMetaTag('meta[property="og:image"]', "property", "og:image", image || "");
  setMetaTag('meta[property="og:url"]', "property", "og:url", location.origin + location.pathname + location.search);
}

// ------------------------------------------------------------------ formatting

export function formatMoney(price) {
  if (!price || price.amount === null || price.amount === undefined) return "Free";
  const currency = String(price.currency || "usd").toUpperCase();
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(price.amount / 10 ** digits);
  } catch {
    return `${(price.amount / 100).toFixed(2)} ${currency}`;
  }
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function formatBytes(size) {
  if (!Number.isFinite(size)) return "";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

// ------------------------------------------------------------------ pieces

/** A course thumbnail; when the image cannot load, a tinted block with the title's initial. */
export function thumbnail(course, className = "thumb") {
  const placeholder = () =>
    h("div", { class: `${className} thumb--placeholder`, "aria-hidden": "true" },
      (course.title || "?").trim().charAt(0).toUpperCase());
  if (!course.thumbnail_url) return placeholder();
  const img = h("img", { class: className, src: course.thumbnail_url, alt: "", loading: "lazy", decoding: "async",
    width: 640, height: 360 });
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  return img;
}

/** A live region for status text (polite) or errors (assertive alert). */
export function statusRegion({ alert = false, className = "" } = {}) {
  return h("div", {
    class: `status ${className}`.trim(),
    tabindex: alert ? "-1" : null,
    role: alert ? "alert" : "status",
    "aria-live": alert ? "assertive" : "polite",
    "aria-atomic": "true",
  });
}

export function setStatus(region, content, tone = "info") {
  // The region stays in the page (empty ones take no space, see styles.css) so that
  // screen readers announce what is put in it.
  region.replaceChildren();
  region.dataset.tone = tone;
  if (content === null || content === undefined || content === "") return;
  append(region, [content]);
}

/** A page-level message block (not found, errors). */
export function notice(tone, heading, ...body) {
  return h("section", { class: `notice notice--${tone}`, "aria-labelledby": "notice-heading" },
    h("h2", { id: "notice-heading" }, heading), ...body);
}

/** A whole page that is only a message (not found, no access): the heading is the page's <h1>. */
export function pageNotice(tone, heading, ...body) {
  return h("section", { class: `notice notice--${tone} notice--page`, "aria-labelledby": "notice-heading" },
    h("h1", { id: "notice-heading" }, heading), ...body);
}

export function pageHeading(text, sub) {
  return h("div", { class: "page-heading" }, h("h1", {}, text), sub ? h("p", { class: "lede" }, sub) : null);
}

/**
 * A course's progress as a labelled bar: <progress> (role progressbar, value in %) named by
 * its visible text ("3 of 7 lessons completed").
 */
let meterCounter = 0;
export function progressMeter(percent, text, { className = "" } = {}) {
  const id = `progress-${++meterCounter}`;
  return h("div", { class: `meter ${className}`.trim(), dataset: { percent: String(percent) } },
    h("span", { class: "meter__text", id }, text, h("span", { class: "meter__percent" }, ` · ${percent} %`)),
    h("progress", { class: "meter__bar", max: "100", value: String(percent), "aria-labelledby": id },
      `${percent} %`));
}

// ------------------------------------------------------------------ forms

let fieldCounter = 0;

/** A labelled input with a hint and an error slot wired through aria-describedby. */
export function field({ name, label, type = "text", required = false, autocomplete, hint, value, inputmode,
  minlength, maxlength, optional = false }) {
  const id = `f-${name}-${++fieldCounter}`;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const input = h("input", {
    id, name, type, required, autocomplete, inputmode, minlength, maxlength,
    value: value ?? null,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
  });
  const wrapper = h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, label, optional ? h("span", { class: "field__optional" }, " (optional)") : null),
    hint ? h("p", { class: "field__hint", id: hintId }, hint) : null,
    input,
    h("p", { class: "field__error", id: errorId, hidden: true }));
  return wrapper;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field__error")) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Put each message of `details` next to its field; returns the messages for fields the form lacks. */
export function showFieldErrors(form, details = {}) {
  const leftover = [];
  let first = null;
  for (const [name, messages] of Object.entries(details || {})) {
    const parts = [].concat(messages).map((m) => String(m).trim()).filter(Boolean);
    const joined = parts.join("; ");
    const text = joined.charAt(0).toUpperCase() + joined.slice(1) + (/[.!?]$/.test(joined) ? "" : ".");
    const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!wrapper) {
      leftover.push(`${name}: ${text}`);
      continue;
    }
    const input = wrapper.querySelector("input, select, textarea");
    const error = wrapper.querySelector(".field__error");
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    first = first || input;
  }
  if (first) first.focus();
  return leftover;
}

/**
 * Wire a form: on submit, disable it, call `handler(values)`, and show an ApiError's
 * message in `alert` and its `details` next to the fields. Returns nothing.
 */
export function onSubmit(form, alert, handler) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    setStatus(alert, null);
    const missing = [...form.querySelectorAll("input[required]")].filter((input) => !input.value.trim());
    if (missing.length) {
      showFieldErrors(form, Object.fromEntries(missing.map((input) => [input.name, ["This field is required."]])));
      return;
    }
    const values = Object.fromEntries(new FormData(form).entries());
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    try {
      await handler(values);
    } catch (error) {
      const leftover = showFieldErrors(form, error.details);
      const message = error.message || "Something went wrong. Please try again.";
      setStatus(alert, leftover.length ? [message, h("br"), leftover.join(" ")] : message, "error");
      if (!form.querySelector("[aria-invalid]")) alert.focus();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute("aria-busy");
    }
  });
}

// ------------------------------------------------------------------ navigation

/**
 * A same-site path to continue to after signing in (never another origin), or `fallback`.
 * Checked after parsing, as the browser reads it: the URL parser drops tabs and newlines and
 * takes a backslash for a slash, so "/<tab>/evil.example" means "//evil.example", another host.
 * Returns the parsed path (with one leading slash, so it cannot be read as "//host"), query
 * and fragment.
 */
export function safeNext(value, fallback = "/library", origin = location.origin) {
  if (typeof value !== "string" || !value.startsWith("/")) return fallback;  // a path, not a URL
  let url;
  try {
    url = new URL(value, origin);
  } catch {
    return fallback;
  }
  if (url.origin !== origin || !["http:", "https:"].includes(url.protocol)) return fallback;
  return url.pathname.replace(/^\/+/, "/") + url.search + url.hash;
}

export function loginUrl(next = location.pathname + location.search) {
  return `/login?next=${encodeURIComponent(next)}`;
}

/** Read a one-time token from the query and drop it from the address bar and history at once. */
export function takeTokenFromUrl(param = "token") {
  const url = new URL(location.href);
  const token = url.searchParams.get(param);
  if (url.searchParams.has(param)) {
    url.searchParams.delete(param);
    history.replaceState(null, "", url.pathname + (url.search || "") + url.hash);
  }
  return token;
}

export function courseUrl(slug) {
  return `/courses/${encodeURIComponent(slug)}`;
}

export function learnUrl(slug, lesson) {
  const params = new URLSearchParams({ course: slug });
  if (lesson) params.set("lesson", lesson);
  return `/learn?${params}`;
}

export function certificateUrl(code) {
  return `/certificates/${encodeURIComponent(code)}`;
}

export const SLUG = /^[a-z0-9][a-z0-9-]{0,99}$/;
export const CERTIFICATE_CODE = /^[A-Za-z0-9_-]{1,64}$/;

export const PASSWORD_HINT = "10 to 128 characters, mixing at least two of: lowercase, uppercase, digits, symbols.";

/** The "password" + "confirm password" pair used by claim and reset. */
export function newPasswordFields() {
  return [
    field({ name: "password", label: "New password", type: "password", required: true, autocomplete: "new-password",
      hint: PASSWORD_HINT }),
    field({ name: "password_confirm", label: "Repeat the new password", type: "password", required: true,
      autocomplete: "new-password" }),
  ];
}

/** Throws a field error when the two passwords differ (checked before calling the API). */
export function checkPasswordsMatch(values) {
  if (values.password !== values.password_confirm) {
    const error = new Error("The two passwords are not the same.");
    error.details = { password_confirm: ["Type the same password twice."] };
    throw error;
  }
}

/** An emailed link that cannot be used any more: expired (410) or unknown / already used (400). */
export function isDeadLink(error) {
  return error.code === "token_expired" || error.status === 400 || Boolean(error.details && error.details.token);
}
