//! What the tool does differently inside a GitHub Actions job.

pub mod annotations;
pub mod comment;
pub mod event;
pub mod oidc;
pub mod outputs;
pub mod publish;
pub mod summary;

use std::io::Write;

/// Whether we run inside GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Tells the runner to mask `secret` in all later log output
/// (`::add-mask::`), when running under GitHub Actions. Called the moment a
/// secret is obtained, before anything else is printed. Multi-line secrets
/// are masked line by line, as the runner matches per line.
pub fn mask(secret: &str) {
    if !in_actions() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in secret.lines().filter(|l| !l.trim().is_empty()) {
        // A failed write to stdout means nobody reads the log: nothing to protect.
        let _ = writeln!(out, "::add-mask::{line}");
    }
    let _ = out.flush();
}
