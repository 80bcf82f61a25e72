// The page's script: plain JavaScript, no framework, no build step. It calls the same routes
// as the curl walkthrough, with fetch(); the browser adds the session cookie by itself.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  loggedIn: false,
  // When the idle TTL runs out, by this browser's clock: now + expires_in at the last answer.
  idleEndsAt: 0,
  timer: null,
  // The action a 403 "Re-authentication required" interrupted, retried after /reauth.
  pending: null,
};

/** The server's answer when an action needs a recent login (see POST /reauth). */
const REAUTH_REQUIRED = "Re-authentication required";

/** How many events of the security log the page shows. */
const EVENTS_SHOWN = 10;

/** One request to the service: JSON in, JSON out, and the status. */
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { status: 0, body: { detail: "The service did not answer: " + error.message } };
  }
  let json = {};
  try {
    json = await response.json();
  } catch (_) {
    json = { detail: "Unexpected answer (" + response.status + ")" };
  }
  return { status: response.status, body: json };
}

function say(text, kind) {
  const message = $("message");
  message.textContent = text ? (kind === "error" ? "Error: " + text : text) : "";
  message.className = "message " + (kind || "");
  message.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** Shows an error answer: the server's own {"detail"}, and what it means for the page. */
function sayError(answer) {
  const detail = answer.body && answer.body.detail ? answer.body.detail : "status " + answer.status;
  say(detail + " (" + answer.status + ")", "error");
  if (answer.status === 401) {
    showLoggedOut();
  }
}

function minutes(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function time(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString();
}

function showLoggedOut() {
  state.loggedIn = false;
  $("logged-in").hidden = true;
  $("logged-out").hidden = false;
  $("reauth-form").hidden = true;
  state.pending = null;
  $("countdown").textContent = "–";
}

/** The idle countdown: restarted from `expiresIn` after every answer, ticking every second. */
function restartCountdown(expiresIn) {
  state.idleEndsAt = Date.now() + expiresIn * 1000;
  tick();
}

function tick() {
  if (!state.loggedIn) {
    return;
  }
  const left = (state.idleEndsAt - Date.now()) / 1000;
  $("countdown").textContent = minutes(left);
  if (left <= 0) {
    // The session has idled out in Redis: the next request finds out, and says so.
    state.loggedIn = false;
    refresh();
  }
}

function showSession(details) {
  state.loggedIn = true;
  $("logged-out").hidden = true;
  $("logged-in").hidden = false;
  $("user-id").textContent = details.user_id;
  $("user-name").textContent = details.username;
  $("idle-ttl").textContent = minutes(details.idle_ttl);
  $("deadline").textContent = new Date(details.absolute_deadline * 1000).toLocaleString();
  $("cookie-header").textContent = details.set_cookie;
  const list = $("cookie-attributes");
  list.replaceChildren();
  for (const attribute of details.cookie_attributes) {
    const item = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = attribute.name;
    item.append(code, ": " + attribute.meaning);
    list.append(item);
  }
  $("document-cookie").textContent = JSON.stringify(document.cookie);
  restartCountdown(details.expires_in);
}

function showSessions(sessions) {
  const rows = $("session-rows");
  rows.replaceChildren();
  for (const session of sessions) {
    const row = document.createElement("tr");
    row.dataset.testid = "session-row";
    row.dataset.handle = session.handle;
    if (session.current) {
      row.className = "current";
      row.dataset.current = "true";
      restartCountdown(session.expires_in);
    }
    const device = document.createElement("td");
    device.dataset.testid = "session-device";
    device.textContent = session.device;
    if (session.current) {
      const mark = document.createElement("strong");
      mark.dataset.testid = "this-device";
      mark.textContent = " (this device)";
      device.append(mark);
    }
    row.append(device);
    const cells = [
      session.ip || "unknown",
      session.handle,
      time(session.created_at),
      time(session.last_active),
      minutes(session.expires_in),
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const action = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.testid = "revoke-button";
    button.textContent = session.current ? "Revoke (this device)" : "Revoke";
    button.setAttribute("aria-label", "Revoke session " + session.handle + (session.current ? " (this device)" : ""));
    button.addEventListener("click", () => revoke(session.handle, session.current));
    action.append(button);
    row.append(action);
    rows.append(row);
  }
}

/** What one event of the security log says, in words. */
const EVENT_WORDS = {
  login: "logged in",
  logout: "logged out",
  revoked: "session ended from the list",
  logout_everywhere: "logged out everywhere",
  reauth: "confirmed the password",
  throttled: "login refused: too many attempts",
};

function showEvents(events) {
  const rows = $("event-rows");
  rows.replaceChildren();
  for (const event of events.slice(0, EVENTS_SHOWN)) {
    const item = document.createElement("li");
    item.dataset.testid = "security-event";
    item.dataset.type = event.type;
    const words = EVENT_WORDS[event.type] || event.type;
    const where = event.device + (event.ip ? " at " + event.ip : "");
    const session = event.handle ? " (session " + event.handle + ")" : "";
    item.textContent = time(event.at) + ": " + words + ", " + where + session;
    rows.append(item);
  }
}

/** Reads the session, the list of sessions and the security log; each renews the session. */
async function refresh(quiet) {
  const details = await api("GET", "/session/details");
  if (details.status === 200) {
    showSession(details.body);
    const list = await api("GET", "/sessions");
    const events = await api("GET", "/security-events");
    if (list.status === 200 && events.status === 200) {
      showSessions(list.body.sessions);
      showEvents(events.body.events);
      if (!quiet) {
        say("");
      }
    } else {
      sayError(list.status === 200 ? events : list);
    }
  } else if (details.status === 401 && quiet) {
    // First visit, no session: just the form.
    showLoggedOut();
  } else {
    sayError(details);
  }
}

/** Shows the caller's note as the server keeps it: the session's, or the visitor's. */
function showNote(note) {
  $("note").value = note.note === null ? "" : note.note;
  $("note-saves").textContent = note.saves === 0 ? "Never saved." : "Saved " + note.saves + " time(s).";
}

/** Reads the note (a visitor's or the session's); no cookie, no Redis call. */
async function loadNote() {
  const answer = await api("GET", "/note");
  if (answer.status === 200) {
    showNote(answer.body);
  } else {
    sayError(answer);
  }
}

async function saveNote(event) {
  event.preventDefault();
  const answer = await api("PUT", "/note", { note: $("note").value });
  if (answer.status === 200) {
    showNote(answer.body);
    say("Note saved.", "info");
  } else {
    sayError(answer);
  }
}

async function login(event) {
  event.preventDefault();
  const answer = await api("POST", "/login", { username: $("username").value, password: $("password").value });
  if (answer.status === 200) {
    $("password").value = "";
    say("Logged in as " + answer.body.username + ".", "info");
    await refresh(true);
    await loadNote();
  } else {
    sayError(answer);
  }
}

async function logout() {
  const answer = await api("POST", "/logout");
  if (answer.status === 200) {
    showLoggedOut();
    say(answer.body.message + ".", "info");
    await loadNote();
  } else {
    sayError(answer);
  }
}

/** True when the server asks for the password again; the form then asks, and `retry` runs after. */
function needsReauth(answer, retry) {
  if (answer.status !== 403 || !answer.body || answer.body.detail !== REAUTH_REQUIRED) {
    return false;
  }
  state.pending = retry;
  $("reauth-form").hidden = false;
  $("reauth-password").focus();
  say("Confirm your password to continue.", "info");
  return true;
}

async function reauth(event) {
  event.preventDefault();
  const answer = await api("POST", "/reauth", { password: $("reauth-password").value });
  $("reauth-password").value = "";
  if (answer.status === 200) {
    $("reauth-form").hidden = true;
    const retry = state.pending;
    state.pending = null;
    say("Password confirmed.", "info");
    if (retry) {
      await retry();
    } else {
      await refresh(true);
    }
  } else {
    sayError(answer);
  }
}

function cancelReauth() {
  state.pending = null;
  $("reauth-form").hidden = true;
  say("");
}

async function logoutEverywhere() {
  const answer = await api("POST", "/logout-everywhere");
  if (answer.status === 200) {
    showLoggedOut();
    say(answer.body.message + ": " + answer.body.revoked + " session(s) ended.", "info");
  } else if (!needsReauth(answer, logoutEverywhere)) {
    sayError(answer);
  }
}

async function revoke(handle, current) {
  const answer = await api("DELETE", "/sessions/" + encodeURIComponent(handle));
  if (needsReauth(answer, () => revoke(handle, current))) {
    return;
  }
  if (answer.status === 200) {
    if (current) {
      showLoggedOut();
      say("This device's session was revoked.", "info");
    } else {
      say("Session " + handle + " revoked.", "info");
      await refresh(true);
    }
  } else {
    sayError(answer);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("refresh").addEventListener("click", () => refresh(false));
  $("logout").addEventListener("click", logout);
  $("logout-everywhere").addEventListener("click", logoutEverywhere);
  $("reauth-form").addEventListener("submit", reauth);
  $("reauth-cancel").addEventListener("click", cancelReauth);
  $("note-form").addEventListener("submit", saveNote);
  state.timer = setInterval(tick, 1000);
  refresh(true);
  loadNote();
});
