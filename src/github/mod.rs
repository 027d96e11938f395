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

/// Whether phase groups are printed: off when stdout carries the JSON or
/// markdown report itself (`--format json` without `--output`), so the
/// report stays parseable.
static GROUPS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns phase groups ([`Group`]) on or off for this process.
pub fn set_groups(enabled: bool) {
    GROUPS.store(enabled, std::sync::atomic::Ordering::Relaxed);
}

/// A collapsible `::group::` in the job log for one phase of a run. It ends
/// (`::endgroup::`) when dropped. Outside GitHub Actions nothing is printed.
/// Only our own text goes in: [`Group::line`] makes sure no line can start a
/// workflow command.
pub struct Group {
    open: bool,
}

impl Group {
    /// Opens a group titled `title` (under GitHub Actions).
    pub fn start(title: &str) -> Group {
        let open = in_actions() && GROUPS.load(std::sync::atomic::Ordering::Relaxed);
        if open {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "::group::{}", title.replace(['\r', '\n'], " "));
            let _ = out.flush();
        }
        Group { open }
    }

    /// Prints one line inside the group; a line that would start with `::`
    /// is indented so the runner cannot take it for a command.
    pub fn line(&self, text: &str) {
        if !self.open {
            return;
        }
        let mut out = std::io::stdout().lock();
        for l in text.lines() {
            let _ = if l.trim_start().starts_with("::") {
                writeln!(out, "  {l}")
            } else {
                writeln!(out, "{l}")
            };
        }
        let _ = out.flush();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.open {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "::endgroup::");
            let _ = out.flush();
        }
    }
}
