//! The run's deadline (`--timeout`, the action's `timeout` input) and the
//! per-call deadlines derived from it. Every remote call is bounded twice:
//! by its own limit (connect, one attempt, the whole operation) and by the
//! time left in the run, whichever is shorter, so a black-holed endpoint
//! ends in a clear error within the run's budget instead of a hang.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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
/// The part of [`GRACE`] the probe's cleanup may use (deleting, then
/// reading back); the rest is left for judging and writing the report.
pub const CLEANUP: Duration = Duration::from_secs(20);
/// The cleanup's window after an interruption: shorter, because whoever
/// sent the signal kills the process soon after (a runner cancelling a
/// job follows its first signal with a kill within seconds).
pub const CLEANUP_AFTER_SIGNAL: Duration = Duration::from_secs(5);

static DEADLINE: OnceLock<Instant> = OnceLock::new();
/// When the run was interrupted (SIGINT, SIGTERM), and by what.
static INTERRUPTED: OnceLock<(Instant, &'static str)> = OnceLock::new();
/// Wakes whoever waits in [`reached`] when the run is interrupted.
static WAKE: Notify = Notify::const_new();

/// Starts the run's clock: it must end within `budget` from now. Only the
/// first call counts.
pub fn start(budget: Duration) {
    let _ = DEADLINE.set(Instant::now() + budget);
}

/// When the run must end, if [`start`] was called: the `--timeout`
/// deadline, or the moment the run was interrupted when that came first.
pub fn deadline() -> Option<Instant> {
    match (
        DEADLINE.get().copied(),
        INTERRUPTED.get().map(|(at, _)| *at),
    ) {
        (Some(d), Some(i)) => Some(d.min(i)),
        (d, i) => d.or(i),
    }
}

/// Ends the run now, as a passed deadline does: the phase under way stops,
/// what was gathered is cleaned up, judged and reported. `why` names the
/// signal. Only the first call counts.
pub fn interrupt(why: &'static str) {
    let _ = INTERRUPTED.set((Instant::now(), why));
    WAKE.notify_waiters();
}

/// What interrupted the run, if something did.
pub fn interrupted() -> Option<&'static str> {
    INTERRUPTED.get().map(|(_, why)| *why)
}

/// Completes when the run's deadline passes or the run is interrupted;
/// never when no deadline was set and nothing interrupts it.
pub async fn reached() {
    loop {
        // Registered before the check, so an interruption in between is not missed.
        let woken = WAKE.notified();
        if expired() {
            return;
        }
        match deadline() {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = woken => {}
                }
            }
            None => woken.await,
        }
    }
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

/// `limit`, or the time left for cleaning up after the deadline (within
/// [`CLEANUP`] of it, [`CLEANUP_AFTER_SIGNAL`] of an interruption) when
/// that is shorter: the probe deletes its image
/// even when the run was cut short.
pub fn bounded_for_cleanup(limit: Duration) -> Duration {
    let window = if interrupted().is_some() {
        CLEANUP_AFTER_SIGNAL
    } else {
        CLEANUP
    };
    let left = match deadline() {
        Some(at) => (at + window).saturating_duration_since(Instant::now()),
        None => limit,
    };
    limit.min(left).max(Duration::from_millis(1))
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

/// Runs one phase of the run under the run's deadline: `None` when the
/// deadline passed (or the run was interrupted) first. The phase is dropped
/// where it was; what the caller gathered before it is kept and reported.
pub async fn within_deadline<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        r = work => Some(r),
        () = reached() => None,
    }
}

/// Notes that the run's deadline passed (or a signal interrupted it) during
/// `phase`, waiting on `endpoint`: `run/deadline-exceeded` or
/// `run/interrupted`, once per report (the first phase it hit is the one
/// named; the later ones were skipped because of it).
pub fn note_cut_short(findings: &mut Vec<crate::report::Finding>, phase: &str, endpoint: &str) {
    let finding = match interrupted() {
        Some(signal) => crate::rules::RUN_INTERRUPTED.finding(
            format!("Interrupted by {signal} during the {phase}"),
            format!(
                "The run was interrupted by {signal} while the {phase} was waiting on {endpoint}. What was gathered before was cleaned up, judged and reported; the rest was not checked."
            ),
        ),
        None => crate::rules::RUN_DEADLINE_EXCEEDED.finding(
            format!("Out of time during the {phase}"),
            format!(
                "The run's deadline (--timeout) passed while the {phase} was waiting on {endpoint}. What was gathered before was judged and reported; the rest was not checked."
            ),
        ),
    };
    if !findings.iter().any(|f| f.rule == finding.rule) {
        findings.push(finding);
    }
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
        assert_eq!(bounded_for_cleanup(ATTEMPT), ATTEMPT);
        assert!(!expired());
        assert!(CLEANUP < GRACE, "the report needs time after the cleanup");
    }
}
