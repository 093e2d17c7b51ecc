// A learner's certificate as a card (the learn page when the course is complete, "/certificates"):
// what it says, its public verification page, and the PDF. The PDF's link (download_url) is a
// presigned URL that lives five minutes, so each click asks GET /me/certificates for a fresh one.
import { myCertificates } from "./api.js";
import { certificateUrl, formatDate, h, setStatus, statusRegion } from "./ui.js";

/** A learner's certificate: what it says, its public page and its PDF (a fresh link on each click). */
export function certificateCard(certificate, { heading, headingId, headingLevel = "h2" } = {}) {
  const status = statusRegion();
  const valid = certificate.status === "valid";
  return h("article", { class: `certificate certificate--${valid ? "valid" : "revoked"}`,
    "aria-labelledby": headingId, dataset: { code: certificate.code } },
    h(headingLevel, { id: headingId, class: "certificate__heading" }, heading || certificate.course_title),
    h("dl", { class: "certificate__facts" },
      h("dt", {}, "Course"), h("dd", {}, certificate.course_title),
      h("dt", {}, "Awarded to"), h("dd", { class: "certificate__name" }, certificate.learner_name),
      h("dt", {}, "Issued"), h("dd", {}, formatDate(certificate.issued_at)),
      h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge badge--${valid ? "valid" : "revoked"}` },
        valid ? "Valid" : "Revoked"))),
    h("p", { class: "actions" },
      valid ? h("button", { type: "button", class: "button", dataset: { download: certificate.code },
        "aria-label": `Download the certificate for ${certificate.course_title} (PDF)`,
        onclick: (event) => downloadCertificate(certificate.code, event.currentTarget, status) },
      "Download PDF") : null,
      h("a", { class: "button button--secondary", href: certificateUrl(certificate.code),
        "aria-label": `Verification page of the certificate for ${certificate.course_title}` },
      "Verification page")),
    status);
}

async function downloadCertificate(code, button, status) {
  button.disabled = true;
  setStatus(status, "Preparing the PDF…");
  try {
    // The listing signs a fresh link (it lives five minutes), so ask again on every click.
    const list = (await myCertificates()).certificates;
    const certificate = list.find((c) => c.code === code);
    if (!certificate || !certificate.download_url) throw new Error("This certificate cannot be downloaded any more.");
    setStatus(status, "Downloading the certificate.", "success");
    location.assign(certificate.download_url); // served as an attachment: this page stays put
  } catch (error) {
    setStatus(status, error.message, "error");
  } finally {
    button.disabled = false;
  }
}
