// "/certificates": the signed-in learner's certificates, newest first (GET /me/certificates), each
// with its PDF and its public verification page. A certificate of a refunded course shows as revoked.
import { myCertificates } from "../api.js";
import * as session from "../session.js";
import { h, loginUrl, notice, pageHeading, render, setMeta } from "../ui.js";
import { certificateCard } from "../certificate.js";

export default async function certificates() {
  setMeta({ title: "Certificates" });
  if (!session.isSignedIn()) return location.replace(loginUrl("/certificates"));
  let list;
  try {
    list = (await myCertificates()).certificates;
  } catch (error) {
    if (error.status === 401) return location.replace(loginUrl("/certificates"));
    throw error;
  }
  const heading = pageHeading("Certificates",
    "Finish every lesson of a course to earn its certificate. Anyone with its link can check that it is real.");
  if (!list.length) {
    render(heading, notice("info", "No certificates yet",
      h("p", {}, "Complete all the lessons of a course and its certificate appears here. ",
        h("a", { href: "/library" }, "Go to my courses"), ".")));
    return;
  }
  render(heading, h("ul", { class: "certificate-list", id: "certificate-list", "aria-label": "My certificates" },
    list.map((certificate, index) => h("li", {}, certificateCard(certificate, {
      headingId: `certificate-${index}`, headingLevel: "h2", heading: certificate.course_title,
    })))));
}
