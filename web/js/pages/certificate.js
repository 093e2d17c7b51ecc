// "/certificates/<code>": the public verification page a certificate's `verify_url` (and the QR /
// link in its PDF) points at. No sign-in: GET /certificates/{code} says whether it is valid or
// revoked, for which course, to whom and when. Unknown codes are "not found".
import { certificate as verifyCertificate } from "../api.js";
import { CERTIFICATE_CODE, courseUrl, formatDate, h, pageNotice, render, setMeta } from "../ui.js";

export default async function certificate({ params }) {
  const code = params[0] || "";
  setMeta({ title: "Certificate" });
  if (!CERTIFICATE_CODE.test(code)) return notFound();
  let found;
  try {
    found = (await verifyCertificate(code)).certificate;
  } catch (error) {
    if (error.status === 404) return notFound();
    throw error;
  }
  const valid = found.status === "valid";
  setMeta({ title: `Certificate: ${found.course_title}`,
    description: `${found.learner_name} completed “${found.course_title}” on Lectern.` });
  render(h("section", { class: `verify verify--${valid ? "valid" : "revoked"}`, "aria-labelledby": "verify-title",
    dataset: { status: found.status } },
  h("p", { class: "verify__kicker" }, "Certificate of completion"),
  h("h1", { id: "verify-title" }, found.course_title),
  h("p", { class: `verify__verdict verify__verdict--${valid ? "valid" : "revoked"}`, id: "verify-verdict" },
    h("span", { "aria-hidden": "true" }, valid ? "✓ " : "✕ "),
    valid ? "This certificate is valid." : "This certificate has been revoked."),
  valid ? null : h("p", { class: "muted" },
    "It was issued, then withdrawn: the learner no longer holds this course (for example after a refund)."),
  h("dl", { class: "verify__facts" },
    h("dt", {}, "Awarded to"), h("dd", { class: "verify__name" }, found.learner_name),
    h("dt", {}, "Course"), h("dd", {}, h("a", { href: courseUrl(found.course_slug) }, found.course_title)),
    h("dt", {}, "Issued"), h("dd", {}, h("time", { datetime: found.issued_at }, formatDate(found.issued_at))),
    h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge badge--${valid ? "valid" : "revoked"}` },
      valid ? "Valid" : "Revoked")),
    h("dt", {}, "Certificate code"), h("dd", {}, h("code", {}, found.code))),
  h("p", { class: "muted" }, "Lectern keeps the record of every certificate it issues; this page shows it as it is now.")));
}

function notFound() {
  setMeta({ title: "Certificate not found" });
  render(pageNotice("warning", "Certificate not found",
    h("p", {}, "No certificate has this code. Check the link you were given: it must be copied in full.")));
}
