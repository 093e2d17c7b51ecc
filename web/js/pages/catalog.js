// "/": the published courses, newest first, 12 at a time ("Show more" follows next_cursor).
import { get } from "../api.js";
import { courseUrl, formatMoney, h, notice, pageHeading, plural, render, setMeta, setStatus, statusRegion,
  thumbnail } from "../ui.js";

const PAGE_SIZE = 12;

export function courseCard(course, { action } = {}) {
  const titleId = `course-${course.id || course.slug}`;
  return h("li", { class: "card" },
    h("article", { class: "course-card", "aria-labelledby": titleId },
      thumbnail(course, "course-card__thumb"),
      h("div", { class: "course-card__body" },
        h("h2", { class: "course-card__title", id: titleId },
          h("a", { href: action ? action.href : courseUrl(course.slug) }, course.title)),
        h("p", { class: "course-card__meta" },
          `${plural(course.module_count, "module")} · ${plural(course.lesson_count, "lesson")}`),
        h("p", { class: "course-card__description" }, course.description),
        h("p", { class: "course-card__footer" },
          action ? action.extra : h("span", { class: "price" }, formatMoney(course.price))))));
}

export default async function catalog() {
  setMeta({ title: "Courses" });
  const status = statusRegion();
  const list = h("ul", { class: "card-grid", "aria-label": "Courses" });
  const more = h("button", { type: "button", class: "button button--secondary", hidden: true }, "Show more courses");
  let cursor = null;

  async function load() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) params.set("cursor", cursor);
    const data = await get(`/courses?${params}`, { auth: "none" });
    const cards = data.courses.map((course) => courseCard(course));
    list.append(...cards);
    cursor = data.next_cursor;
    more.hidden = !cursor;
    return cards;
  }

  render(pageHeading("Courses", "Learn at your own pace. Buy once, keep watching."), status, list,
    h("div", { class: "actions" }, more));

  more.addEventListener("click", async () => {
    more.disabled = true;
    setStatus(status, "Loading more courses…");
    try {
      const cards = await load();
      setStatus(status, `${plural(cards.length, "more course")} shown.`);
      const link = cards[0] && cards[0].querySelector("a");
      if (link) link.focus();
    } catch (error) {
      setStatus(status, error.message, "error");
    } finally {
      more.disabled = false;
    }
  });

  try {
    const cards = await load();
    if (!cards.length) {
      list.replaceWith(notice("info", "No courses yet", h("p", {}, "New courses are on their way. Come back soon.")));
    }
  } catch (error) {
    list.replaceWith(notice("error", "The courses could not be loaded", h("p", {}, error.message),
      h("p", {}, h("a", { href: "/" }, "Try again"))));
  }
}
