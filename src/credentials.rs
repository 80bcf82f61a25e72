//! The password check: the one place that decides whether a password is a user's, for
//! `POST /login` and `POST /reauth` alike.
//!
//! The original mini-project accepts any password, and so does the service by default
//! ([`AnyPassword`]): this workbook is about sessions, not about storing passwords. An
//! application puts its own check in [`AppState::passwords`](crate::AppState::passwords) (an
//! `Argon2` hash in its database, an LDAP bind, ...), and both routes use it.

use std::future::Future;
use std::pin::Pin;

// ANCHOR: password_check
/// Decides whether `password` is `username`'s. Async, because a real check asks a database or
/// spends deliberate CPU (a password hash), and must not block the runtime: compute a hash in
/// `tokio::task::spawn_blocking`, since each serving thread (`SERVE_THREADS`) is a runtime of
/// one thread, whose other connections wait while it computes.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use session_storage::PasswordCheck;
///
/// /// Only `alice` with `wonderland`, for a test.
/// struct OneUser;
///
/// impl PasswordCheck for OneUser {
///     fn verify<'a>(&'a self, username: &'a str, password: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
///         Box::pin(async move { username == "alice" && password == "wonderland" })
///     }
/// }
/// ```
pub trait PasswordCheck: Send + Sync + 'static {
    /// True when `password` is `username`'s password.
    fn verify<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

    /// [`verify`](Self::verify), told the name's canonical form as well (RFC 8265, see
    /// [`canonical_username`](crate::store::canonical_username)): `Bob`, `bob` and a fullwidth
    /// `ｂob` are one user to the service, which derives the user's id from the canonical form.
    /// An application whose accounts are told apart by case would otherwise let `Bob`'s password
    /// open a session whose id is `bob`'s: override this to look the account up by `canonical`.
    /// The service calls this; the default asks `verify` with the name as typed.
    fn verify_named<'a>(
        &'a self,
        username: &'a str,
        canonical: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let _ = canonical;
        self.verify(username, password)
    }
}

/// The original mini-project's check: every password is accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyPassword;

impl PasswordCheck for AnyPassword {
    fn verify<'a>(&'a self, _: &'a str, _: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(true))
    }
}
// ANCHOR_END: password_check
