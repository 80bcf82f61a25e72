//! [`Unavailable`]: the store's one error. Every failure to reach Redis, or to hear back from
//! it in time, is one of its two variants; the HTTP layer turns it into a 503.

use std::fmt;
use std::time::Duration;

/// Why the store could not answer: the service turns it into a 503.
///
/// The cause is kept (not flattened into a string), so a log line can show the whole chain
/// through [`std::error::Error::source`].
#[derive(Debug)]
pub enum Unavailable {
    /// No answer within the deadline: Redis is stalled, overloaded or unreachable.
    TimedOut {
        /// The deadline that passed.
        after: Duration,
        /// Tokio's timeout error.
        source: tokio::time::error::Elapsed,
    },
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::TimedOut { after, .. } => {
                write!(f, "session store unavailable: no answer within {} ms", after.as_millis())
            }
            Unavailable::Redis(_) => f.write_str("session store unavailable: Redis failed"),
        }
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unavailable::TimedOut { source, .. } => Some(source),
            Unavailable::Redis(error) => Some(error),
        }
    }
}

impl Unavailable {
    /// True when Redis refused a write for lack of memory (`OOM`: at `maxmemory` under
    /// `noeviction`), as opposed to being slow or gone.
    ///
    /// A refused `MULTI` counts too: Redis answers its `EXEC` with `EXECABORT` when it refused a
    /// queued command, and the store's transactions are fixed, well-formed commands, so what
    /// Redis refuses there is the write itself (at `maxmemory`, the `OOM` of a queued `HSET`).
    /// Without this, the same full Redis would answer a login "full" or "unavailable" depending
    /// on which round trip first crossed the limit.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            Unavailable::Redis(error) => {
                let refused = |code: &str| matches!(code, "OOM" | "EXECABORT");
                error.code().is_some_and(refused)
                    // A pipeline's error holds each failed command's (the session's write
                    // pipeline sends MULTI ... EXEC inside it).
                    || error
                        .clone()
                        .into_server_errors()
                        .is_some_and(|errors| errors.iter().any(|(_, error)| refused(error.code())))
                    || error.to_string().contains("OOM command not allowed")
            }
            Unavailable::TimedOut { .. } => false,
        }
    }
}

impl From<redis::RedisError> for Unavailable {
    fn from(error: redis::RedisError) -> Self {
        Unavailable::Redis(error)
    }
}
