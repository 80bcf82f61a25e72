//! The login throttle (lesson 09): how many logins one client may attempt, per username and in
//! all, counted in Redis so that every instance of the service shares one count.
//!
//! ## The algorithm: GCRA
//! The generic cell rate algorithm keeps one number per limit, the *theoretical arrival time*
//! (TAT): when the next attempt would be due if attempts came at exactly the allowed rate. With
//! `limit` attempts per `period`, each attempt moves the TAT forward by `period / limit`; an
//! attempt is allowed while the moved TAT stays within one `period` of now. So a client may use
//! its whole minute's budget at once, and then gets one attempt per `period / limit`: 10 per
//! minute is 10 at once, then one every 6 seconds. A refused attempt moves nothing, so waiting
//! always helps. One key per limit, holding one integer, expiring when the TAT is reached: an
//! idle client costs nothing, and no key outlives a minute.
//!
//! ## Why two limits, and why in one script
//! - Per (username, client): a flood of one user's logins from one place stops, while the same
//!   user from anywhere else is not affected. An attacker cannot lock a victim out, because the
//!   attacker's attempts count against the attacker's address only.
//! - Per client: a spray of many usernames from one place stops at the client's cap.
//!
//! Both keys carry the client in a hash tag (`login:{198.51.100.7}` and
//! `login:{198.51.100.7}:user_...`), so one script can check both in <!-- cost: POST /login | a new session minus POST /login | with the throttle off (LOGIN_ATTEMPTS_PER_MINUTE=0 and LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT=0) -->one round trip, atomically,
//! on a single Redis and on a cluster alike: either both budgets are spent or neither is.
//! Different clients hash to different slots, so no slot sees every login.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use crate::client::client_key;

use super::connection::Counted;
use super::events::{EventKind, record_refusal};
use super::{Device, SessionStore, millis, user_id_for};

// ANCHOR: throttle
/// `scripts/throttle.lua`, the GCRA check of every key it is given, all or nothing.
pub(super) static THROTTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(THROTTLE_SOURCE));

/// The Lua source of the throttle script (`redis-cli --eval src/store/scripts/throttle.lua
/// login:{1.2.3.4} login:{1.2.3.4}:user_1 , 100 10 60000`).
pub const THROTTLE_SOURCE: &str = include_str!("scripts/throttle.lua");

/// One limit: `limit` attempts per `period` counted at `key`. A `limit` of 0 turns it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The key that holds this limit's theoretical arrival time.
    pub key: String,
    /// Attempts allowed per period; 0: no limit.
    pub limit: u32,
}

/// Spends one attempt of every limit, or none: in one script, on Redis's clock. Every key must
/// be in one hash slot (share a hash tag). Returns `None` when allowed, or how long to wait.
pub async fn throttle<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let mut invocation = THROTTLE_SCRIPT.prepare_invoke();
    for limit in limits {
        invocation.key(&limit.key);
    }
    for limit in limits {
        invocation.arg(limit.limit);
    }
    invocation.arg(millis(period));
    let wait_ms: u64 = invocation.invoke_async(con).await?;
    Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
}
// ANCHOR_END: throttle

/// The service's login limits (`LOGIN_ATTEMPTS_PER_MINUTE`,
/// `LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT`); 0 turns one off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per minute for one username from one client. Default 10.
    pub per_user_and_client: u32,
    /// Attempts per minute from one client, whatever the usernames. Default 100.
    pub per_client: u32,
}

impl LoginLimits {
    /// 10 per username and client, 100 per client.
    pub const DEFAULT: LoginLimits = LoginLimits { per_user_and_client: 10, per_client: 100 };
    /// No throttling (the benchmark; tests that log in more often than a person would).
    pub const OFF: LoginLimits = LoginLimits { per_user_and_client: 0, per_client: 0 };
    /// The period both limits count over.
    pub const PERIOD: Duration = Duration::from_secs(60);

    /// True when neither limit is on: then a login does not ask the throttle at all.
    pub fn is_off(&self) -> bool {
        self.per_user_and_client == 0 && self.per_client == 0
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits::DEFAULT
    }
}

impl SessionStore {
    /// The login throttle for one attempt of `username` from `client`: `Some(wait)` when it is
    /// over a limit. A refused attempt costs
    /// <!-- cost: POST /login | refused by the throttle (429) -->two round trips in all: the
    /// throttle, then the refusal on `device`, recorded in the user's refusals if the user has a
    /// log (see `events.rs`).
    pub(super) async fn throttled(
        &self,
        con: &mut Counted<'_>,
        username: &str,
        client: IpAddr,
        device: &Device,
    ) -> redis::RedisResult<Option<Duration>> {
        let limits = self.login_limits();
        if limits.is_off() {
            return Ok(None);
        }
        let user_id = user_id_for(username);
        let client = client_key(client);
        let keys = self.keys();
        let limits = [
            Limit { key: keys.login_client(&client), limit: limits.per_client },
            Limit { key: keys.login_user(&client, &user_id), limit: limits.per_user_and_client },
        ];
        let wait = throttle(&mut *con, &limits, LoginLimits::PERIOD).await?;
        if wait.is_some() {
            record_refusal(con, keys, &user_id, &client, EventKind::Throttled, device).await?;
        }
        Ok(wait)
    }
}
