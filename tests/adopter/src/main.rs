use axum::{Router, routing::{get, post}};
use session_storage::{AppState, Authenticated, Config};
async fn hello(who: Authenticated) -> String { format!("hello {} ({})", who.username(), who.user_id()) }
async fn act(who: Authenticated) -> String { format!("done for {}", who.username()) }
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes: Router<AppState> = Router::new().route("/hello", get(hello)).route("/act", post(act));
    session_storage::run(Config::from_env()?, routes).await?;
    Ok(())
}
