//! Exit codes and the errors that end a run early.

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Nothing at or above `--fail-on`.
    Clean = 0,
    /// Findings at or above `--fail-on`.
    Findings = 1,
    /// Bad usage or configuration.
    Usage = 2,
    /// The check could not run or could not verify what the verdict depends
    /// on (verdict `not-verified`: no credentials, an unreachable registry or
    /// API, a TLS failure, a timeout, an answer that cannot be trusted).
    CouldNotRun = 3,
}

/// Bad usage or configuration, found before anything is sent: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
