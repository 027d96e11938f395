//! What the tool does differently inside a GitHub Actions job.

pub mod annotations;
pub mod comment;
pub mod event;
pub mod oidc;
pub mod outputs;
pub mod publish;
pub mod summary;

use crate::console::{self, Command};

pub use crate::console::in_actions;

/// Hides `secret` from everything printed later: the console redacts it
/// from every write (at every log level, in or out of GitHub Actions), and
/// under GitHub Actions the runner is told to mask it (`::add-mask::`).
/// Called the moment a secret is obtained, before anything else is
/// printed. Multi-line secrets are masked line by line, as the runner
/// matches per line.
pub fn mask(secret: &str) {
    console::register_secret(secret);
    for line in secret.lines().filter(|l| !l.trim().is_empty()) {
        console::command(Command::AddMask, &[], line);
    }
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
/// Its title and lines may hold text that is not ours (a repository name,
/// an ARN, a registry's error): they go through [`console`], so no line can
/// start a workflow command.
pub struct Group {
    open: bool,
}

impl Group {
    /// Opens a group titled `title` (under GitHub Actions).
    pub fn start(title: &str) -> Group {
        let open = in_actions() && GROUPS.load(std::sync::atomic::Ordering::Relaxed);
        if open {
            console::command(Command::Group, &[], &title.replace(['\r', '\n'], " "));
        }
        Group { open }
    }

    /// Prints text inside the group, made inert by [`console::out`].
    pub fn line(&self, text: &str) {
        if self.open {
            console::out(text);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.open {
            console::command(Command::EndGroup, &[], "");
        }
    }
}
