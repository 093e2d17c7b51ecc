// "/courses/<slug>" (or "/course?slug=…"): outline, price, playable previews, and the buy form.
// A free course (no price) has "Start learning" instead: POST /courses/{slug}/enroll, then the
// learn page (signed out: sign in first, back here). A priced one also has "Buy as a gift":
// the recipient's email, name and message go with POST /checkout as `gift`, then Stripe Checkout.
import { get, post } from "../api.js";
import * as session from "../session.js";
import { SLUG, courseUrl, field, formatMoney, h, learnUrl, loginUrl, onSubmit, pageNotice, plural, render, setMeta,
  setStatus, statusRegion, thumbnail } from "../ui.js";
import { player } from "../player.js";
import { characterCount } from "../progress.js";

const GIFT_MESSAGE_MAX = 500;

export default async function coursePage({ params, query }) {
  const slug = params[0] || query.get("slug") || "";
  if (!SLUG.test(slug)) return notFound();

  let course;
  try {
    course = (await get(`/courses/${encodeURIComponent(slug)}`, { auth: "none" })).course;
  } catch (error) {
    if (error.status === 404) return notFound();
    throw error;
  }
  setMeta({ title: course.title, description: course.description, image: course.thumbnail_url });

  const preview = h("section", { class: "preview", id: "preview", "aria-labelledby": "preview-heading", hidden: true });
  const outline = courseOutline(course, (lesson) => showPreview(course, lesson, preview));

  render(
    h("div", { class: "course-hero" },
      h("div", { class: "course-hero__text" },
        h("p", { class: "breadcrumbs" }, h("a", { href: "/" }, "Courses")),
        h("h1", {}, course.title),
        h("p", { class: "lede" }, course.description),
        h("p", { class: "course-hero__meta" },
          `${plural(course.module_count, "module")} · ${plural(course.lesson_count, "lesson")}`)),
      thumbnail(course, "course-hero__thumb")),
    // The buy panel comes first in reading (and Tab) order; on wide screens it sits on the right.
    h("div", { class: "course-layout" },
      await buyPanel(course),
      h("div", { class: "course-layout__main" }, preview, outline)));
}

function notFound() {
  setMeta({ title: "Course not found" });
  render(pageNotice("warning", "Course not found",
    h("p", {}, "This course does not exist or is not on sale. ", h("a", { href: "/" }, "See all courses"), ".")));
}

function courseOutline(course, onPreview) {
  return h("section", { class: "outline", "aria-labelledby": "outline-heading" },
    h("h2", { id: "outline-heading" }, "Course outline"),
    course.modules.map((module, index) => h("section", { class: "outline__module", "aria-labelledby": `module-${module.id}` },
      h("h3", { id: `module-${module.id}` }, h("span", { class: "outline__number" }, `${index + 1}. `), module.title),
      h("ol", { class: "outline__lessons" }, module.lessons.map((lesson) => h("li", { class: "outline__lesson" },
        h("div", { class: "outline__lesson-text" },
          h("span", { class: "outline__lesson-title" }, lesson.title),
          lesson.summary ? h("span", { class: "outline__lesson-summary" }, lesson.summary) : null,
          lesson.resource_count ? h("span", { class: "outline__lesson-files" }, plural(lesson.resource_count, "file"))
            : null),
        lesson.is_preview
          ? h("button", { type: "button", class: "button button--small button--secondary",
            "aria-label": `Watch ${course.price ? "the free preview" : "the lesson"}: ${lesson.title}`,
            onclick: () => onPreview(lesson) }, course.price ? "Free preview" : "Watch")
          : h("span", { class: "badge", title: "Included when you buy the course" }, "Included")))))));
}

async function showPreview(course, lesson, section) {
  section.hidden = false;
  const heading = h("h2", { id: "preview-heading", tabindex: "-1" },
    course.price ? `Preview: ${lesson.title}` : lesson.title);
  const status = statusRegion();
  section.replaceChildren(heading, status);
  setStatus(status, "Loading the preview…");
  heading.focus();
  try {
    const data = await get(`/learn/${encodeURIComponent(course.slug)}/lessons/${encodeURIComponent(lesson.slug)}`);
    setStatus(status, null);
    section.append(player(data.lesson));
  } catch (error) {
    setStatus(status, error.message, "error");
  }
}

async function ownsCourse(slug) {
  if (!session.isSignedIn()) return false;
  try {
    const data = await get("/me/courses", { auth: "required" });
    return data.courses.some((c) => c.slug === slug);
  } catch {
    return false;
  }
}

async function buyPanel(course) {
  const panel = h("aside", { class: "buy-panel", "aria-labelledby": "buy-heading" });
  const owned = await ownsCourse(course.slug);
  if (!course.price) {
    fillFreePanel(panel, course, owned);
    return panel;
  }
  if (owned) {
    panel.append(h("div", { class: "buy-panel__own" }, h("h2", { id: "buy-heading" }, "You own this course"),
      h("p", {}, "It is in your library."),
      h("p", {}, h("a", { class: "button", href: learnUrl(course.slug) }, "Continue learning"))));
  } else {
    // Its own box: a session that ends while buying refills it (fillBuyForm), the gift form stays.
    const buyArea = h("div", { class: "buy-panel__buy" });
    panel.append(buyArea);
    fillBuyForm(buyArea, course);
  }
  panel.append(giftSection(course));
  return panel;
}

// ------------------------------------------------------------------ free courses

function fillFreePanel(panel, course, owned) {
  const alert = statusRegion({ alert: true });
  const status = statusRegion();
  panel.replaceChildren(h("h2", { id: "buy-heading" }, owned ? "In your library" : "Free course"),
    h("p", { class: "price price--large" }, "Free"));
  if (owned) {
    panel.append(h("p", {}, "You started this course."),
      h("p", {}, h("a", { class: "button button--large", href: learnUrl(course.slug) }, "Continue learning")));
    return;
  }
  if (!session.isSignedIn()) {
    panel.append(h("p", {}, "Sign in (or create an account) to add it to your library: your progress is saved ",
      "and you earn a certificate when you finish."),
    h("p", {}, h("a", { class: "button button--large", href: loginUrl(courseUrl(course.slug)), id: "start-learning" },
      "Start learning")),
    h("p", { class: "buy-panel__signin" }, "New here? ", h("a", { href: "/register" }, "Create an account"), "."));
    return;
  }
  const button = h("button", { type: "button", class: "button button--large", id: "start-learning" }, "Start learning");
  panel.append(h("p", {}, "Add it to your library to save your progress and earn a certificate when you finish."),
    alert, h("p", {}, button), status);
  button.addEventListener("click", async () => {
    button.disabled = true;
    setStatus(alert, null);
    setStatus(status, "Adding the course to your library…");
    try {
      await post(`/courses/${encodeURIComponent(course.slug)}/enroll`, undefined, { auth: "required" });
      setStatus(status, "Added. Opening the first lesson…", "success");
      location.assign(learnUrl(course.slug));
    } catch (error) {
      setStatus(status, null);
      button.disabled = false;
      if (error.status === 401) return location.assign(loginUrl(courseUrl(course.slug)));
      if (error.code === "not_free") {
        setStatus(alert, ["This course is not free any more. ",
          h("a", { href: courseUrl(course.slug) }, "Reload the page"), " to see its price."], "error");
      } else {
        setStatus(alert, error.message, "error");
      }
      alert.focus();
    }
  });
}

function fillBuyForm(panel, course, message) {
  const signedIn = session.isSignedIn();
  const user = session.currentUser();
  const alert = statusRegion({ alert: true });
  const status = statusRegion();
  const form = h("form", { class: "form buy-form", "aria-labelledby": "buy-heading" },
    signedIn
      ? h("p", { class: "buy-form__as" }, "Buying as ", h("strong", {}, (user && user.email) || "your account"))
      : field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email",
        hint: "Your receipt and the link to open your course go here." }),
    field({ name: "promotion_code", label: "Promotion code", autocomplete: "off", optional: true, maxlength: 100 }),
    h("button", { type: "submit", class: "button button--large" }, `Buy now for ${formatMoney(course.price)}`));
  panel.replaceChildren(
    h("h2", { id: "buy-heading" }, "Buy this course"),
    h("p", { class: "price price--large" }, formatMoney(course.price)),
    h("p", { class: "buy-panel__note" }, "One payment, lifetime access. Secure checkout by Stripe."),
    alert, form, status,
    ...(signedIn ? [] : [h("p", { class: "buy-panel__signin" }, "Have an account? ",
      h("a", { href: loginUrl(courseUrl(course.slug)) }, "Sign in"), " first to buy with it.")]));
  if (message) setStatus(alert, message, "error");

  onSubmit(form, alert, async (values) => {
    const body = { course_slug: course.slug };
    if (!signedIn) body.email = (values.email || "").trim();
    const code = (values.promotion_code || "").trim();
    if (code) body.promotion_code = code;
    setStatus(status, "Starting a secure checkout…");
    try {
      const data = await post("/checkout", body, { auth: "optional" });
      setStatus(status, "Taking you to the payment page…");
      location.assign(data.checkout_url);
    } catch (error) {
      setStatus(status, null);
      if (error.code === "already_owned") {
        setStatus(alert, signedIn
          ? ["You already own this course. ", h("a", { href: learnUrl(course.slug) }, "Open it now"), "."]
          : ["This email already has this course. ",
            h("a", { href: loginUrl(learnUrl(course.slug)) }, "Sign in to open it"), "."], "error");
        alert.focus();
        return;
      }
      if (error.status === 401) {
        // The session ended (api.js tried to refresh it): offer the guest form instead.
        fillBuyForm(panel, course, "Your session has ended. Sign in again, or buy with your email below.");
        panel.querySelector('[role="alert"]').focus();
        return;
      }
      throw error;
    }
  });
}

// ------------------------------------------------------------------ gifts

/** "Buy as a gift": a button that opens the gift form under it (aria-expanded). */
function giftSection(course) {
  const formArea = h("div", { class: "gift", id: "gift-form-area", hidden: true });
  const toggle = h("button", { type: "button", class: "button button--secondary gift__toggle", id: "gift-toggle",
    "aria-expanded": "false", "aria-controls": "gift-form-area" }, "Buy as a gift");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    formArea.hidden = !open;
    if (open && !formArea.firstChild) fillGiftForm(formArea, course);
    if (open) formArea.querySelector("input").focus();
  });
  return h("section", { class: "buy-panel__gift", "aria-labelledby": "gift-heading" },
    h("h2", { id: "gift-heading", class: "buy-panel__gift-heading" }, "Give this course"),
    h("p", { class: "buy-panel__note" }, "We email them a link to start learning; you get the receipt."),
    toggle, formArea);
}

function giftMessageField() {
  const id = "gift-message";
  const counter = h("p", { class: "field__counter", id: `${id}-counter`, "aria-hidden": "true" });
  // Screen readers hear the count when typing pauses, not on every key.
  const spoken = h("p", { class: "visually-hidden", id: `${id}-spoken`, "aria-live": "polite" });
  const textarea = h("textarea", { id, name: "message", rows: 4,
    "aria-describedby": `${id}-hint ${id}-error ${id}-spoken` });
  let timer = null;
  const error = h("p", { class: "field__error", id: `${id}-error`, hidden: true });
  const update = () => {
    const count = characterCount(textarea.value, GIFT_MESSAGE_MAX);
    counter.textContent = count.text;
    counter.dataset.over = String(count.over);
    if (!count.over && textarea.getAttribute("aria-invalid") === "true" && /characters/.test(error.textContent)) {
      textarea.removeAttribute("aria-invalid"); // short enough again: the "too long" error goes
      error.hidden = true;
      error.textContent = "";
    }
    clearTimeout(timer);
    timer = setTimeout(() => { spoken.textContent = count.text; }, 800);
  };
  textarea.addEventListener("input", update);
  counter.textContent = characterCount("", GIFT_MESSAGE_MAX).text;
  return h("div", { class: "field", dataset: { field: "message" } },
    h("label", { for: id }, "Message", h("span", { class: "field__optional" }, " (optional)")),
    h("p", { class: "field__hint", id: `${id}-hint` }, `Up to ${GIFT_MESSAGE_MAX} characters, sent with the gift.`),
    textarea, counter, spoken, error);
}

function fillGiftForm(area, course) {
  const signedIn = session.isSignedIn();
  const user = session.currentUser();
  const alert = statusRegion({ alert: true });
  const status = statusRegion();
  const form = h("form", { class: "form gift-form", "aria-labelledby": "gift-heading", id: "gift-form" },
    field({ name: "recipient_email", label: "Recipient’s email", type: "email", required: true, autocomplete: "off",
      hint: "The gift email with the link to the course goes here." }),
    field({ name: "recipient_name", label: "Recipient’s name", autocomplete: "off", optional: true, maxlength: 100 }),
    giftMessageField(),
    signedIn
      ? h("p", { class: "buy-form__as" }, "Paying as ", h("strong", {}, (user && user.email) || "your account"))
      : field({ name: "email", label: "Your email", type: "email", required: true, autocomplete: "email",
        hint: "Your receipt goes here." }),
    h("button", { type: "submit", class: "button" }, `Buy as a gift for ${formatMoney(course.price)}`));
  area.replaceChildren(alert, form, status);

  onSubmit(form, alert, async (values) => {
    const message = (values.message || "").trim();
    if (characterCount(message, GIFT_MESSAGE_MAX).over) {
      const error = new Error("The message is too long.");
      error.details = { message: [`Keep the message to ${GIFT_MESSAGE_MAX} characters.`] };
      throw error;
    }
    const gift = { recipient_email: (values.recipient_email || "").trim() };
    if ((values.recipient_name || "").trim()) gift.recipient_name = values.recipient_name.trim();
    if (message) gift.message = message;
    const body = { course_slug: course.slug, gift };
    if (!signedIn) body.email = (values.email || "").trim();
    setStatus(status, "Starting a secure checkout…");
    try {
      const data = await post("/checkout", body, { auth: "optional" });
      rememberGift(data.checkout_session_id, gift);
      setStatus(status, "Taking you to the payment page…");
      location.assign(data.checkout_url);
    } catch (error) {
      setStatus(status, null);
      if (error.code === "already_owned") {
        error.message = "The recipient already has this course, so there is nothing to give. Pick another course?";
        error.details = { recipient_email: ["This person already has the course."] };
      } else if (error.details) {
        // The API names the gift's fields "gift.recipient_email" (or "recipient_email"): put each by its field.
        error.details = Object.fromEntries(Object.entries(error.details).map(([name, messages]) =>
          [name.replace(/^gift[.[]/, "").replace(/]$/, ""), messages]));
      }
      throw error;
    }
  });
}

/** For the success page: this checkout is a gift, to whom (this tab only, like the session). */
function rememberGift(sessionId, gift) {
  try {
    sessionStorage.setItem(`lectern.gift.${sessionId}`, JSON.stringify({ recipient_email: gift.recipient_email,
      recipient_name: gift.recipient_name || null }));
  } catch {
    // Storage disabled: the success page then reads as for any purchase.
  }
}
