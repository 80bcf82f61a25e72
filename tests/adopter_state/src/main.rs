//! A shop with a state of its own (its price list) and the shopper's data in the session:
//! `run_with` hands the service's `AppState` to the closure that builds the shop's router, and
//! `FromRef` lets the shop's handlers take `SessionData` beside `State<Shop>`.
// ANCHOR: shop
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::{
    Json, Router,
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};
use session_storage::store::Changes;
use session_storage::{ApiError, AppState, Config, SessionData};

#[derive(Clone)]
struct Shop {
    sessions: AppState,
    prices: Arc<HashMap<String, i64>>,
}

impl FromRef<Shop> for AppState {
    fn from_ref(shop: &Shop) -> AppState {
        shop.sessions.clone()
    }
}

/// A typed value, stored as JSON in the session's field `data:preferences`.
#[derive(Serialize, Deserialize)]
struct Preferences {
    currency: String,
    gift_wrap: bool,
}

#[derive(Serialize)]
struct Cart {
    items: BTreeMap<String, i64>,
    total_cents: i64,
    preferences: Option<Preferences>,
}

/// One more of `sku`: two counters changed in Redis in one round trip, so two tabs adding at
/// once never lose an item.
async fn add(
    State(shop): State<Shop>,
    mut data: SessionData,
    Path(sku): Path<String>,
) -> Result<Json<Cart>, ApiError> {
    let price = *shop.prices.get(&sku).ok_or(ApiError::NotFound)?;
    let changes = Changes::new().increment(&format!("cart.{sku}"), 1)?.increment("cart_total", price)?;
    data.apply(changes).await?;
    cart(&data).map(Json)
}

async fn prefer(mut data: SessionData, Json(preferences): Json<Preferences>) -> Result<Json<Cart>, ApiError> {
    data.insert("preferences", &preferences).await?;
    cart(&data).map(Json)
}

async fn show(data: SessionData) -> Result<Json<Cart>, ApiError> {
    cart(&data).map(Json)
}

fn cart(data: &SessionData) -> Result<Cart, ApiError> {
    let mut items = BTreeMap::new();
    for name in data.names() {
        if let Some(sku) = name.strip_prefix("cart.") {
            items.insert(sku.to_string(), data.get(&name)?.unwrap_or(0));
        }
    }
    let total_cents = data.get("cart_total")?.unwrap_or(0);
    Ok(Cart { items, total_cents, preferences: data.get("preferences")? })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prices = Arc::new(HashMap::from([("tea".to_string(), 450), ("milk".to_string(), 120)]));
    session_storage::run_with(Config::from_env()?, move |sessions| {
        let shop = Shop { sessions, prices: prices.clone() };
        Router::new()
            .route("/cart", get(show))
            .route("/cart/{sku}", post(add))
            .route("/preferences", put(prefer))
            .with_state(shop)
    })
    .await?;
    Ok(())
}
// ANCHOR_END: shop
