// "/library" (and "/me/courses", where receipt emails point): the signed-in learner's courses.
import { get } from "../api.js";
import * as session from "../session.js";
import { h, learnUrl, loginUrl, notice, pageHeading, progressMeter, render, setMeta } from "../ui.js";
import { percentOf, progressText, resumeAction } from "../progress.js";
import { courseCard } from "./catalog.js";

export default async function library({ query }) {
  setMeta({ title: "My courses" });
  if (!session.isSignedIn()) return location.replace(loginUrl("/library"));
  let courses;
  try {
    courses = (await get("/me/courses", { auth: "required" })).courses;
  } catch (error) {
    if (error.status === 401) return location.replace(loginUrl("/library"));
    throw error;
  }
  const user = session.currentUser();
  const welcome = query.get("welcome") === "1"
    ? h("p", { class: "notice notice--success", role: "status" },
      `Welcome${user && user.name ? `, ${user.name}` : ""}! You are signed in.`)
    : null;
  if (!courses.length) {
    render(pageHeading("My courses"), welcome, notice("info", "No courses yet",
      h("p", {}, "Courses you buy (or start, when they are free) appear here. ",
        h("a", { href: "/" }, "Browse the courses"), ".")));
    return;
  }
  render(pageHeading("My courses"), welcome,
    h("ul", { class: "card-grid", "aria-label": "My courses", id: "library-list" }, courses.map(libraryCard)));
}

/** A course card with the learner's progress and a button to the lesson to go on with. */
function libraryCard(course) {
  const next = resumeAction(course);
  const href = learnUrl(course.slug, next.lesson);
  const card = courseCard(course, { action: {
    href: learnUrl(course.slug),
    extra: [
      next.done ? h("span", { class: "badge badge--valid" }, "Completed") : nextLessonText(course),
      h("a", { class: "button button--small", href, dataset: { resume: next.lesson || "" },
        "aria-label": `${next.label}: ${course.title}${next.lesson && course.next_lesson && course.next_lesson.title
          ? `, lesson “${course.next_lesson.title}”` : ""}` }, next.label),
    ],
  } });
  if (course.progress) {
    const footer = card.querySelector(".course-card__footer");
    footer.before(progressMeter(percentOf(course.progress), progressText(course.progress),
      { className: "course-card__progress" }));
  }
  return card;
}

function nextLessonText(course) {
  const next = course.next_lesson;
  if (!next || !next.title || !course.progress || !course.progress.completed_lessons) return h("span");
  return h("span", { class: "muted course-card__next" }, `Next: ${next.title}`);
}
