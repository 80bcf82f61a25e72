//! The design's limit: axum and one redis-rs `ConnectionManager` doing one pipelined round trip
//! per request, and nothing else.
//!
//! `GET /profile` is `HGETALL` + `EXPIRE` in one pipeline; `POST /login` is `MULTI HSET EXPIRE
//! EXEC`. There is no cookie check beyond finding the value, no index, no limits, no deadline,
//! no security headers: what a session service built on one round trip per request cannot beat
//! on this machine. The benchmark reports the service's figures as ratios to these (and to the
//! bare-axum ceiling), measured in the same run (the learning issue's "reference server").
//!
//! `POST /login-floor` is the least a login can send and still store what the service stores
//! for it: the session with its device and address (issue 24), its entry in the user's index
//! with the index's TTL (issue 06), and a `login` event in the user's capped log with the log's
//! TTL (issue 24), the same keys and fields as the service's, all in one `MULTI` ... `EXEC`.
//! No Lua, no pruning, no per-user bound, no check after the write: none of the guarantees,
//! only the data. What it costs (req/s, Redis CPU, bytes) is a floor under the service's login.
//! It is lower than any the service may reach: its one transaction names keys of three hash
//! slots, which works on one Redis only; the service keeps each transaction to one slot.

use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use redis::aio::ConnectionManager;
use session_storage::store::{Keys, SessionId, fields};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The idle lifetime, as the service's default.
const TTL_SECS: u64 = 1800;

/// The connection and the count of round trips made (the benchmark's "round trips/req").
#[derive(Clone)]
struct Reference {
    con: ConnectionManager,
    round_trips: Arc<AtomicU64>,
}

/// The reference server's routes on `con` (a clone of the benchmark's connection), counting
/// its round trips in `round_trips`.
pub fn router(con: ConnectionManager, round_trips: Arc<AtomicU64>) -> Router {
    Router::new()
        .route("/profile", get(profile))
        .route("/login", post(login))
        .route("/login-floor", post(login_floor))
        .with_state(Reference { con, round_trips })
}

/// The value of the first `session_id` cookie, with no other check.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    let header = headers.get(COOKIE)?.to_str().ok()?;
    header.split(';').find_map(|pair| pair.trim().strip_prefix("session_id="))
}

async fn profile(
    State(Reference { mut con, round_trips }): State<Reference>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = session_id(&headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    round_trips.fetch_add(1, Ordering::Relaxed);
    let key = format!("session:{id}");
    let reply: Result<(std::collections::HashMap<String, String>, bool), _> =
        redis::pipe().hgetall(&key).expire(&key, TTL_SECS as i64).query_async(&mut con).await;
    match reply {
        Ok((fields, _)) if !fields.is_empty() => Json(serde_json::json!({
            "user_id": fields.get("user_id"),
            "username": fields.get("username"),
        }))
        .into_response(),
        Ok(_) => StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
}

async fn login(
    State(Reference { mut con, round_trips }): State<Reference>,
    Json(login): Json<Login>,
) -> Response {
    round_trips.fetch_add(1, Ordering::Relaxed);
    let id = uuid::Uuid::new_v4().to_string();
    let key = format!("session:{id}");
    let written: Result<(), _> = redis::pipe()
        .atomic()
        .hset_multiple(
            &key,
            &[("user_id", "user_1"), ("username", login.username.as_str()), ("created_at", "0")],
        )
        .ignore()
        .expire(&key, TTL_SECS as i64)
        .ignore()
        .query_async(&mut con)
        .await;
    match written {
        Ok(()) => {
            let cookie = format!("session_id={id}; HttpOnly; Path=/; Max-Age={TTL_SECS}");
            let body = serde_json::json!({"message": "Login successful", "username": login.username, "session_id": id});
            ([(SET_COOKIE, cookie)], Json(body)).into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The floor's device: what the benchmark's logins (no `User-Agent` from wrk's script) and an
/// address give.
fn floor_device() -> session_storage::store::Device {
    session_storage::store::Device::new("Firefox on Linux", Some(std::net::IpAddr::from([127, 0, 0, 1])))
}

/// The floor login's one transaction for `username` (see the module's docs): the same keys,
/// fields, caps and TTLs as the service's login, nothing else. `now_ms` is this process's
/// clock (the floor reads no Redis clock).
pub fn floor_login(pipe: &mut redis::Pipeline, username: &str, id: &SessionId, now_ms: u64) {
    use session_storage::store::{EventKind, Lifetimes, MAX_EVENTS, NewEvent, event_commands, user_id_for};
    let keys = Keys::default();
    let lifetimes = Lifetimes::DEFAULT;
    let user_id = user_id_for(username);
    let device = floor_device();
    let session = keys.session(id);
    let index = keys.user_sessions(&user_id);
    let expires_ms = now_ms + u64::try_from(lifetimes.absolute.as_millis()).unwrap_or(u64::MAX);
    let ip = device.ip().map(|ip| ip.to_string()).unwrap_or_default();
    pipe.atomic();
    pipe.cmd("HSET").arg(&session).arg(fields::USER_ID).arg(&user_id).arg(fields::USERNAME).arg(username);
    pipe.arg(fields::CREATED_AT).arg(now_ms / 1000).arg(fields::DEVICE).arg(device.name());
    pipe.arg(fields::IP).arg(ip).ignore();
    pipe.cmd("EXPIRE").arg(&session).arg(lifetimes.idle.as_secs()).ignore();
    pipe.cmd("ZADD").arg(&index).arg(expires_ms).arg(id.to_string()).ignore();
    pipe.cmd("PEXPIREAT").arg(&index).arg(expires_ms).ignore();
    let handle = id.handle();
    let event = NewEvent { kind: EventKind::Login, device: &device, handle: Some(&handle) };
    event_commands(pipe, &keys.user_events(&user_id), &event, MAX_EVENTS, lifetimes.absolute);
}

async fn login_floor(
    State(Reference { mut con, round_trips }): State<Reference>,
    Json(login): Json<Login>,
) -> Response {
    round_trips.fetch_add(1, Ordering::Relaxed);
    let id = SessionId::new();
    let now_ms = session_storage::store::unix_now().saturating_mul(1000);
    let mut pipe = redis::pipe();
    floor_login(&mut pipe, &login.username, &id, now_ms);
    let written: Result<(), _> = pipe.query_async(&mut con).await;
    match written {
        Ok(()) => {
            let cookie = format!("session_id={id}; HttpOnly; Path=/; Max-Age={TTL_SECS}");
            let body = serde_json::json!({"message": "Login successful", "username": login.username, "session_id": id.to_string()});
            ([(SET_COOKIE, cookie)], Json(body)).into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
