//! The design's limit: axum and one redis-rs `ConnectionManager` doing one pipelined round trip
//! per request, and nothing else.
//!
//! `GET /profile` is `HGETALL` + `EXPIRE` in one pipeline; `POST /login` is `MULTI HSET EXPIRE
//! EXEC`. There is no cookie check beyond finding the value, no index, no limits, no deadline,
//! no security headers: what a session service built on one round trip per request cannot beat
//! on this machine. The benchmark reports the service's figures as ratios to these (and to the
//! bare-axum ceiling), measured in the same run (the learning issue's "reference server").

use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use redis::aio::ConnectionManager;
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
