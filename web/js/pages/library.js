// "/library" (and "/me/courses", where receipt emails point): the signed-in learner's courses.
import { get } from "../api.js";
import * as session from "../session.js";
import { formatDate, h, learnUrl, loginUrl, notice, pageHeading, render, setMeta } from "../ui.js";
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
      h("p", {}, "Courses you buy appear here. ", h("a", { href: "/" }, "Browse the courses"), ".")));
    return;
  }
  render(pageHeading("My courses"), welcome,
    h("ul", { class: "card-grid", "aria-label": "My courses", id: "library-list" }, courses.map((course) =>
      courseCard(course, { action: {
        href: learnUrl(course.slug),
        extra: [h("span", { class: "muted" }, `Added ${formatDate(course.granted_at)}`), " ",
          h("a", { class: "button button--small", href: learnUrl(course.slug),
            "aria-label": `Continue learning: ${course.title}` }, "Continue")],
      } }))));
}
