// The one way the pages talk to the Lectern HTTP API (the base URL comes from /config.js).
//
// Every failure becomes an ApiError carrying the contract's envelope
// ({error: {code, message, details}}), so pages can show `message` and put each
// `details[field]` next to its field. A 401 on a signed-in call rotates the tokens
// once through POST /auth/refresh and retries; if that fails too the session ends.

import config from "/config.js";
import * as session from "./session.js";

const API_BASE = String(config.apiBase || "").replace(/\/+$/, "");

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After (null when absent)
  }
}

const NETWORK_MESSAGE = "We could not reach the shop. Check your connection and try again.";

/** Retry-After in seconds (a number of seconds or an HTTP date), or null. */
function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

async function send(path, { method = "GET", body, token, accept = "application/json", keepalive = false } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      keepalive, // a heartbeat sent while the page is being left still arrives
    });
  } catch {
    throw new ApiError(0, "network_error", NETWORK_MESSAGE);
  }
  if (response.status === 204) return { response, data: null };
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "http_" + response.status,
      error.message || `The shop answered with an error (${response.status}). Please try again.`,
      error.details || {}, retryAfterSeconds(response.headers.get("Retry-After")));
  }
  return { response, data };
}

let refreshing = null;

/** Rotate the tokens (one request at a time, shared by concurrent callers). True when it worked. */
export function refreshSession() {
  const refresh_token = session.refreshToken();
  if (!refresh_token) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = send("/auth/refresh", { method: "POST", body: { refresh_token } })
      .then(({ data }) => {
        session.saveTokens(data);
        return true;
      })
      .catch((error) => {
        // A network failure keeps the session for a later try; a rejected token ends it.
        if (error.status !== 0) session.clearSession();
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/**
 * Call the API and return the parsed JSON body (null for 204).
 * options: {method, body, auth: "none" | "optional" | "required", accept, keepalive}
 */
export async function api(path, { method = "GET", body, auth = "optional", accept, keepalive } = {}) {
  const token = auth === "none" ? null : session.accessToken();
  if (auth === "required" && !token) {
    throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  }
  try {
    return (await send(path, { method, body, token, accept, keepalive })).data;
  } catch (error) {
    if (error.status === 401 && token && (await refreshSession())) {
      return (await send(path, { method, body, token: session.accessToken(), accept, keepalive })).data;
    }
    if (error.status === 401 && token) session.clearSession();
    throw error;
  }
}

export const get = (path, options = {}) => api(path, { ...options, method: "GET" });
export const post = (path, body, options = {}) => api(path, { ...options, method: "POST", body });
export const put = (path, body, options = {}) => api(path, { ...options, method: "PUT", body });

const segment = (value) => encodeURIComponent(value);

/**
 * The player's heartbeat: {position_seconds, completed?} → {progress: LessonProgress} (docs/api.md).
 * progress.js decides when (learn page); options: {keepalive} for the one sent while the page is left.
 */
export const saveProgress = (courseSlug, lessonSlug, body, options = {}) =>
  put(`/learn/${segment(courseSlug)}/lessons/${segment(lessonSlug)}/progress`, body,
    { ...options, auth: "required" });

/** The signed-in user's certificates: {certificates: [Certificate]} (download_url lives 300 s). */
export const myCertificates = () => get("/me/certificates", { auth: "required" });

/** Public verification of a code (the page /certificates/<code>): {certificate: {..., status}}. */
export const certificate = (code) => get(`/certificates/${segment(code)}`, { auth: "none" });

/** Sign out: revoke the refresh token (best effort) and forget the session. */
export async function logout() {
  const refresh_token = session.refreshToken();
  session.clearSession();
  if (!refresh_token) return;
  try {
    await send("/auth/logout", { method: "POST", body: { refresh_token } });
  } catch {
    // The tokens are gone from this tab either way.
  }
}
