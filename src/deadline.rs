//! The run's deadline (`--timeout`, the action's `timeout` input) and the
//! per-call deadlines derived from it. Every remote call is bounded twice:
//! by its own limit (connect, one attempt, the whole operation) and by the
//! time left in the run, whichever is shorter, so a black-holed endpoint
//! ends in a clear error within the run's budget instead of a hang.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The run's default budget (the `--timeout` default).
pub const DEFAULT_TIMEOUT: &str = "5m";

/// Connecting to any endpoint.
pub const CONNECT: Duration = Duration::from_secs(5);
/// One attempt of an AWS API call, or one read of an answer.
pub const ATTEMPT: Duration = Duration::from_secs(30);
/// One AWS API call with all its retries.
pub const OPERATION: Duration = Duration::from_secs(120);
/// One registry request, body included.
pub const REGISTRY_REQUEST: Duration = Duration::from_secs(60);
/// The GitHub OIDC token request.
pub const OIDC_REQUEST: Duration = Duration::from_secs(30);
/// The pull-request comment: listing, then creating or updating.
pub const COMMENT: Duration = Duration::from_secs(60);
/// After the deadline, how long the run still has to clean up and report
/// before the process gives up.
pub const GRACE: Duration = Duration::from_secs(30);

static DEADLINE: OnceLock<Instant> = OnceLock::new();

/// Starts the run's clock: it must end within `budget` from now. Only the
/// first call counts.
pub fn start(budget: Duration) {
    let _ = DEADLINE.set(Instant::now() + budget);
}

/// When the run must end, if [`start`] was called.
pub fn deadline() -> Option<Instant> {
    DEADLINE.get().copied()
}

/// Time left in the run (a day when no deadline was set).
pub fn remaining() -> Duration {
    match deadline() {
        Some(at) => at.saturating_duration_since(Instant::now()),
        None => Duration::from_secs(86_400),
    }
}

/// Whether the run's deadline has passed.
pub fn expired() -> bool {
    deadline().is_some_and(|at| Instant::now() >= at)
}

/// `limit`, or the time left in the run when that is shorter (at least one
/// millisecond: a zero timeout would mean "none" to some clients).
pub fn bounded(limit: Duration) -> Duration {
    limit.min(remaining()).max(Duration::from_millis(1))
}

/// Parses a `--timeout` value: `90s`, `5m`, `1h 30m` (humantime), more
/// than zero and at most a day.
pub fn parse(value: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(value.trim())
        .map_err(|e| format!("`{value}` is not a duration like 90s or 5m: {e}"))?;
    if d.is_zero() || d > Duration::from_secs(86_400) {
        return Err(format!("`{value}` must be more than 0 and at most 24h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_within_bounds() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse(DEFAULT_TIMEOUT), Ok(Duration::from_secs(300)));
        assert!(parse("0s").is_err());
        assert!(parse("2d").is_err());
        assert!(parse("soon").is_err());
    }

    #[test]
    fn a_call_never_outlives_the_run() {
        // No deadline in unit tests: the call's own limit applies.
        assert_eq!(bounded(ATTEMPT), ATTEMPT);
        assert!(!expired());
    }
}
