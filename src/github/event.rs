//! The event that started the workflow run (`GITHUB_EVENT_NAME` and the
//! webhook payload at `GITHUB_EVENT_PATH`), reduced to what the pull-request
//! comment needs: which pull request, its head commit, and whether it comes
//! from a fork.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Which pull-request event started the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestEvent {
    /// `pull_request`: runs in the context of the merge commit. For a pull
    /// request from a fork, the token is read-only.
    PullRequest,
    /// `pull_request_target`: runs in the context of the base branch with the
    /// base repository's token, also for forks.
    PullRequestTarget,
}

impl PullRequestEvent {
    /// The event's name, as in `GITHUB_EVENT_NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            PullRequestEvent::PullRequest => "pull_request",
            PullRequestEvent::PullRequestTarget => "pull_request_target",
        }
    }
}

/// The pull request a run is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The event that started the run.
    pub event: PullRequestEvent,
    /// The pull request's number.
    pub number: u64,
    /// The commit at the head of the pull request's branch.
    pub head_sha: String,
    /// `owner/name` of the repository the head branch lives in; `None` when
    /// that repository was deleted (GitHub sends `"repo": null`).
    pub head_repo: Option<String>,
    /// `owner/name` of the repository the pull request targets.
    pub base_repo: String,
}

impl PullRequest {
    /// Whether the head branch lives in another repository than the base
    /// (a fork, or a deleted one). Compared case-insensitively, as GitHub
    /// treats owner and repository names.
    pub fn is_fork(&self) -> bool {
        self.head_repo
            .as_deref()
            .is_none_or(|head| !head.eq_ignore_ascii_case(&self.base_repo))
    }

    /// Whether the run's token is read-only because of where the pull
    /// request comes from: a fork under `pull_request`. Under
    /// `pull_request_target` the token is the base repository's.
    pub fn read_only_token(&self) -> bool {
        self.event == PullRequestEvent::PullRequest && self.is_fork()
    }
}

/// Why the event could not be read.
#[derive(Debug)]
pub enum EventError {
    /// A pull-request event without `GITHUB_EVENT_PATH`.
    MissingPath {
        /// The event's name.
        event: String,
    },
    /// The payload file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The payload is not the JSON of a pull-request event.
    Malformed {
        /// The file, when the payload came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::MissingPath { event } => write!(
                f,
                "GITHUB_EVENT_NAME is {event} but GITHUB_EVENT_PATH is not set, so the pull request is unknown"
            ),
            EventError::Read { path, source } => write!(
                f,
                "cannot read the event payload {}: {source}",
                path.display()
            ),
            EventError::Malformed { path, reason } => match path {
                Some(path) => write!(
                    f,
                    "the event payload {} is not a pull-request event: {reason}",
                    path.display()
                ),
                None => write!(f, "the event payload is not a pull-request event: {reason}"),
            },
        }
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EventError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The parts of the webhook payload we read. Everything else is ignored.
#[derive(Deserialize)]
struct Payload {
    number: u64,
    pull_request: PullRequestPayload,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    head: Branch,
    base: Branch,
}

#[derive(Deserialize)]
struct Branch {
    sha: String,
    repo: Option<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

/// Which pull-request event `name` is, `None` for any other event.
pub fn pull_request_event(name: &str) -> Option<PullRequestEvent> {
    match name {
        "pull_request" => Some(PullRequestEvent::PullRequest),
        "pull_request_target" => Some(PullRequestEvent::PullRequestTarget),
        _ => None,
    }
}

/// Parses the JSON payload of a `pull_request` or `pull_request_target`
/// event. `path` only labels errors.
pub fn parse_payload(
    event: PullRequestEvent,
    json: &str,
    path: Option<&Path>,
) -> Result<PullRequest, EventError> {
    let malformed = |reason: String| EventError::Malformed {
        path: path.map(Path::to_path_buf),
        reason,
    };
    // serde_json's message names the missing field or the line and column.
    let payload: Payload = serde_json::from_str(json).map_err(|e| malformed(e.to_string()))?;
    let base_repo = payload
        .pull_request
        .base
        .repo
        .map(|r| r.full_name)
        .ok_or_else(|| malformed("pull_request.base.repo is null".into()))?;
    let head_sha = payload.pull_request.head.sha;
    if head_sha.is_empty() || !head_sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(format!(
            "pull_request.head.sha {head_sha:?} is not a commit id"
        )));
    }
    Ok(PullRequest {
        event,
        number: payload.number,
        head_sha,
        head_repo: payload.pull_request.head.repo.map(|r| r.full_name),
        base_repo,
    })
}

/// The pull request of the event named `name` with its payload at `path`:
/// `Ok(None)` for any event other than `pull_request` and
/// `pull_request_target`; an error when such an event's payload is missing,
/// unreadable or not a pull-request payload.
pub fn read_event(name: &str, path: Option<&Path>) -> Result<Option<PullRequest>, EventError> {
    let Some(event) = pull_request_event(name) else {
        return Ok(None);
    };
    let path = path.ok_or_else(|| EventError::MissingPath {
        event: name.to_string(),
    })?;
    let json =
        crate::files::read_text(path, crate::files::EVENT_LIMIT).map_err(|e| EventError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.reason()),
        })?;
    parse_payload(event, &json, Some(path)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real `pull_request` webhook payload (`opened`).
    fn payload(head_repo: &str, base_repo: &str) -> String {
        format!(
            r#"{{
  "action": "opened",
  "number": 42,
  "pull_request": {{
    "url": "https://api.github.com/repos/{base_repo}/pulls/42",
    "id": 1, "node_id": "PR_x", "number": 42, "state": "open", "locked": false,
    "title": "Add preflight", "user": {{"login": "octocat", "id": 1, "type": "User"}},
    "draft": false,
    "head": {{
      "label": "octocat:feature", "ref": "feature",
      "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
      "user": {{"login": "octocat", "id": 1, "type": "User"}},
      "repo": {{"id": 2, "name": "app", "full_name": "{head_repo}", "private": false, "fork": true}}
    }},
    "base": {{
      "label": "acme:main", "ref": "main",
      "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
      "repo": {{"id": 3, "name": "app", "full_name": "{base_repo}", "private": false, "fork": false}}
    }}
  }},
  "repository": {{"id": 3, "full_name": "{base_repo}"}},
  "sender": {{"login": "octocat", "id": 1, "type": "User"}}
}}"#
        )
    }

    #[test]
    fn reads_number_head_and_repos() {
        let pr = parse_payload(
            PullRequestEvent::PullRequest,
            &payload("acme/app", "acme/app"),
            None,
        )
        .unwrap();
        assert_eq!(pr.number, 42);
        assert_eq!(pr.head_sha, "6dcb09b5b57875f334f61aebed695e2e4193db5e");
        assert_eq!(pr.base_repo, "acme/app");
        assert!(!pr.is_fork());
        assert!(!pr.read_only_token());
    }

    #[test]
    fn detects_forks() {
        let pr = parse_payload(
            PullRequestEvent::PullRequest,
            &payload("octocat/app", "acme/app"),
            None,
        )
        .unwrap();
        assert!(pr.is_fork());
        assert!(pr.read_only_token());
        // Same repository, other case: not a fork.
        let same = parse_payload(
            PullRequestEvent::PullRequest,
            &payload("Acme/App", "acme/app"),
            None,
        )
        .unwrap();
        assert!(!same.is_fork());
        // pull_request_target runs with the base repository's token.
        let target = parse_payload(
            PullRequestEvent::PullRequestTarget,
            &payload("octocat/app", "acme/app"),
            None,
        )
        .unwrap();
        assert!(target.is_fork());
        assert!(!target.read_only_token());
    }

    #[test]
    fn a_deleted_head_repository_counts_as_a_fork() {
        let json = payload("x/y", "acme/app").replace(
            r#"{"id": 2, "name": "app", "full_name": "x/y", "private": false, "fork": true}"#,
            "null",
        );
        let pr = parse_payload(PullRequestEvent::PullRequest, &json, None).unwrap();
        assert_eq!(pr.head_repo, None);
        assert!(pr.is_fork());
    }

    #[test]
    fn other_events_have_no_pull_request() {
        for name in ["push", "workflow_dispatch", "schedule", "issue_comment", ""] {
            assert!(read_event(name, None).unwrap().is_none(), "{name}");
        }
        // Even with a payload that is not a pull request's.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, r#"{"ref": "refs/heads/main"}"#).unwrap();
        assert!(read_event("push", Some(&path)).unwrap().is_none());
    }

    #[test]
    fn reads_the_payload_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, payload("acme/app", "acme/app")).unwrap();
        let pr = read_event("pull_request_target", Some(&path))
            .unwrap()
            .unwrap();
        assert_eq!(pr.event, PullRequestEvent::PullRequestTarget);
        assert_eq!(pr.number, 42);
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let e = read_event("pull_request", Some(&missing)).unwrap_err();
        assert!(matches!(e, EventError::Read { .. }), "{e}");
        assert!(e.to_string().contains("missing.json"), "{e}");

        let e = read_event("pull_request", None).unwrap_err();
        assert!(e.to_string().contains("GITHUB_EVENT_PATH"), "{e}");

        let cases = [
            "",
            "not json",
            "[]",
            r#"{"number": 1}"#,
            r#"{"number": -1, "pull_request": {}}"#,
            r#"{"number": 1, "pull_request": {"head": {"sha": "abc"}, "base": {"sha": "def", "repo": null}}}"#,
            r#"{"number": 1, "pull_request": {"head": {"sha": "$(rm)", "repo": null}, "base": {"sha": "d", "repo": {"full_name": "a/b"}}}}"#,
        ];
        for json in cases {
            let path = dir.path().join("bad.json");
            std::fs::write(&path, json).unwrap();
            let e = read_event("pull_request", Some(&path)).unwrap_err();
            assert!(matches!(e, EventError::Malformed { .. }), "{json}: {e}");
            assert!(e.to_string().contains("bad.json"), "{e}");
        }
    }
}
