// The signed-in session: tokens from a TokenResponse, kept for this tab only.
//
// The access token lives in memory and in sessionStorage (so a page load in the same
// tab stays signed in); the refresh token in sessionStorage. Nothing goes in
// localStorage or cookies: closing the tab signs out. api.js rotates both through
// POST /auth/refresh when the API answers 401.

const KEY = "lectern.session";

let current = load();

function load() {
  try {
    const raw = window.sessionStorage.getItem(KEY);
    const value = raw ? JSON.parse(raw) : null;
    return value && value.access_token && value.refresh_token ? value : null;
  } catch {
    return null;
  }
}

function persist() {
  try {
    if (current) window.sessionStorage.setItem(KEY, JSON.stringify(current));
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: the session still works until the page is left.
  }
}

/** Store a TokenResponse ({user, access_token, expires_in, refresh_token}). */
export function saveTokens(tokens) {
  current = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: Date.now() + (Number(tokens.expires_in) || 0) * 1000,
    user: tokens.user || (current && current.user) || null,
  };
  persist();
}

export function updateUser(user) {
  if (!current) return;
  current = { ...current, user };
  persist();
}

export function clearSession() {
  current = null;
  persist();
}

export function isSignedIn() {
  return current !== null;
}

export function accessToken() {
  return current ? current.access_token : null;
}

export function refreshToken() {
  return current ? current.refresh_token : null;
}

export function currentUser() {
  return current ? current.user : null;
}
