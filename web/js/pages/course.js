// "/courses/<slug>" (or "/course?slug=…"): outline, price, playable previews, and the buy form.
import { get, post } from "../api.js";
import * as session from "../session.js";
import { SLUG, courseUrl, field, formatMoney, h, learnUrl, loginUrl, onSubmit, pageNotice, plural, render, setMeta,
  setStatus, statusRegion, thumbnail } from "../ui.js";
import { player } from "../player.js";

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
  if (!course.price) {
    panel.append(h("h2", { id: "buy-heading" }, "Free course"),
      h("p", { class: "price price--large" }, "Free"),
      h("p", {}, "Every lesson of this course is open to everyone: pick one in the outline to watch it."));
    return panel;
  }
  if (await ownsCourse(course.slug)) {
    panel.append(h("h2", { id: "buy-heading" }, "You own this course"),
      h("p", {}, "It is in your library."),
      h("p", {}, h("a", { class: "button", href: learnUrl(course.slug) }, "Continue learning")));
    return panel;
  }
  fillBuyForm(panel, course);
  return panel;
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
    signedIn ? null : h("p", { class: "buy-panel__signin" }, "Have an account? ",
      h("a", { href: loginUrl(courseUrl(course.slug)) }, "Sign in"), " first to buy with it."));
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
