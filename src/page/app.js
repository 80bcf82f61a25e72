// The page's script: plain JavaScript, no framework, no build step. It calls the same routes
// as the curl walkthrough, with fetch(); the browser adds the session cookie by itself.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  loggedIn: false,
  // When the idle TTL runs out, by this browser's clock: now + expires_in at the last answer.
  idleEndsAt: 0,
  timer: null,
};

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
    const cells = [session.handle, time(session.created_at), time(session.last_active), minutes(session.expires_in)];
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

/** Reads the session and the list of sessions; both renew the session, like /profile. */
async function refresh(quiet) {
  const details = await api("GET", "/session/details");
  if (details.status === 200) {
    showSession(details.body);
    const list = await api("GET", "/sessions");
    if (list.status === 200) {
      showSessions(list.body.sessions);
      if (!quiet) {
        say("");
      }
    } else {
      sayError(list);
    }
  } else if (details.status === 401 && quiet) {
    // First visit, no session: just the form.
    showLoggedOut();
  } else {
    sayError(details);
  }
}

async function login(event) {
  event.preventDefault();
  const answer = await api("POST", "/login", { username: $("username").value, password: $("password").value });
  if (answer.status === 200) {
    $("password").value = "";
    say("Logged in as " + answer.body.username + ".", "info");
    await refresh(true);
  } else {
    sayError(answer);
  }
}

async function logout() {
  const answer = await api("POST", "/logout");
  if (answer.status === 200) {
    showLoggedOut();
    say(answer.body.message + ".", "info");
  } else {
    sayError(answer);
  }
}

async function logoutEverywhere() {
  const answer = await api("POST", "/logout-everywhere");
  if (answer.status === 200) {
    showLoggedOut();
    say(answer.body.message + ": " + answer.body.revoked + " session(s) ended.", "info");
  } else {
    sayError(answer);
  }
}

async function revoke(handle, current) {
  const answer = await api("DELETE", "/sessions/" + encodeURIComponent(handle));
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
  state.timer = setInterval(tick, 1000);
  refresh(true);
});
