//! The `session-storage` binary: the service, nothing added. `cargo install --path .` installs
//! it; every setting is an environment variable (README.md). Its release build compiles none of
//! the workbook's test tools.

use std::process::ExitCode;

use axum::Router;
use session_storage::Config;

/// mimalloc instead of the system allocator (feature `mimalloc`, on by default): the request
/// path allocates small buffers, and glibc's malloc and free were about 7% of the server's CPU
/// under load (see the Performance chapter).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    session_storage::init_tracing(env!("CARGO_CRATE_NAME"));
    match session_storage::run(config, Router::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
