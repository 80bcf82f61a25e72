//! The same routes on tower-sessions, the session layer most axum applications use, with its
//! Redis store (`tower-sessions-redis-store`, on the fred client): what an application gets
//! without this project, measured in the same run.
//!
//! Set up as such an application would for the service's behaviour: a 30-minute idle expiry
//! renewed on every request (`Expiry::OnInactivity` with `always_save`, so each `/profile`
//! rewrites the session with a new expiry), an HttpOnly cookie named `session_id`, and a login
//! that writes the user's id and name into a new session. Each session is one Redis string of
//! MessagePack, written with `SET ... EXAT`; there is no index of a user's sessions, no throttle,
//! no deadline and no security log.

use axum::Router;
use axum::extract::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

/// The routes on a fred pool of `connections` clients to the Redis at `url`.
pub async fn router(url: &str, connections: usize) -> Result<Router, Box<dyn std::error::Error>> {
    let pool = Pool::new(Config::from_url(url)?, None, None, None, connections)?;
    pool.init().await?;
    let layer = SessionManagerLayer::new(RedisStore::new(pool))
        .with_name("session_id")
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(Duration::seconds(1800)))
        .with_always_save(true);
    Ok(Router::new()
        .route("/login", post(login))
        .route("/profile", get(profile))
        .route("/note", put(note))
        .layer(layer))
}

#[derive(serde::Deserialize)]
struct Note {
    note: String,
}

/// The service's `PUT /note` on tower-sessions: the note and a counter of its saves, read and
/// written in the session's one record (loaded with a `GET`, saved whole with a `SET` when the
/// handler returns). The read-modify-write of the counter is what two concurrent requests lose.
async fn note(session: Session, Json(note): Json<Note>) -> Response {
    let saved = async {
        let saves: i64 = session.get("note_saves").await?.unwrap_or(0);
        session.insert("note", &note.note).await?;
        session.insert("note_saves", saves + 1).await?;
        Ok::<_, tower_sessions::session::Error>(saves + 1)
    }
    .await;
    match saved {
        Ok(saves) => Json(serde_json::json!({"note": note.note, "saves": saves})).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
}

async fn login(session: Session, Json(login): Json<Login>) -> Response {
    // A login starts a new session: a new id, whatever the request carried. The layer writes it
    // when the handler returns (one `SET ... NX EXAT`), so its id is in the cookie only.
    let written = async {
        session.cycle_id().await?;
        session.insert("user_id", "user_1").await?;
        session.insert("username", &login.username).await
    }
    .await;
    match written {
        Ok(()) => Json(serde_json::json!({"message": "Login successful", "username": login.username}))
            .into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn profile(session: Session) -> Response {
    let read = async {
        let user_id: Option<String> = session.get("user_id").await?;
        let username: Option<String> = session.get("username").await?;
        Ok::<_, tower_sessions::session::Error>(user_id.zip(username))
    }
    .await;
    match read {
        Ok(Some((user_id, username))) => {
            Json(serde_json::json!({"user_id": user_id, "username": username})).into_response()
        }
        Ok(None) => StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
