//! The sticky pull-request comment: one comment per workflow, job and
//! target, found again by a hidden marker and updated in place on every run,
//! so a pull request never collects a pile of stale reports.
//!
//! The comment is posted through the issue-comments REST API (a pull request
//! is an issue), which needs `pull-requests: write` (or `issues: write`).
//! Where that is not possible — a fork's read-only token, a token without
//! the permission — the outcome is a [`CommentOutcome::Fallback`]: the
//! findings are still in the job summary and the annotations, and the step
//! does not fail because of the comment.
//!
//! The token goes to `GITHUB_API_URL`'s origin (scheme, host, port) and
//! nowhere else: redirects are not followed and a next page on another
//! origin is not fetched (both are fallbacks). What the API says about the
//! comment is not trusted either: its `html_url` becomes the `comment-url`
//! output only when it is a link into `GITHUB_SERVER_URL` ([`CommentLink`]).

use std::fmt::{self, Write};
use std::str::FromStr;

use secrecy::SecretString;

use crate::report::{Verdict, safe_url};

use super::annotations::{escape_data, escape_property};
use super::event::{self, EventError, PullRequest};

/// GitHub's limit for a comment body: 65,536 characters. Past it the API
/// answers 422 "Body is too long (maximum is 65536 characters)".
pub const COMMENT_LIMIT: usize = 65_536;

/// At most this many findings are listed in the comment; the job summary has
/// them all.
pub const MAX_COMMENT_FINDINGS: usize = 100;

/// At most this many path diagrams are drawn in the comment, in at most
/// [`COMMENT_DIAGRAM_BUDGET`] characters; the job summary has them all.
pub const MAX_COMMENT_DIAGRAMS: usize = 3;

/// The characters the comment's path diagrams may take, of [`COMMENT_LIMIT`]:
/// drawn after the findings table and before the findings' details, so the
/// fitting cuts details first and never a diagram.
pub const COMMENT_DIAGRAM_BUDGET: usize = 16_000;

/// The hidden marker's opening, followed by the key and ` -->`.
pub const MARKER_PREFIX: &str = "<!-- ecr-fargate-preflight:";

/// Comment pages read at most (100 comments each), so a server whose `Link`
/// header never ends cannot keep us looping.
const MAX_PAGES: usize = 100;

/// The API base when `GITHUB_API_URL` is not set: github.com.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// When to post the pull-request comment (the `comment` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CommentMode {
    /// Post when the verdict is `fail` (an error-severity finding); once a
    /// comment exists, always update it, so a passing re-run replaces stale
    /// errors with "pass".
    #[default]
    OnFailure,
    /// Post or update on every run.
    Always,
    /// Never comment; no API call is made.
    Never,
}

impl CommentMode {
    /// The input spellings, in the order of the documentation.
    pub const CHOICES: [&'static str; 3] = ["on-failure", "always", "never"];

    /// The input spelling of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentMode::OnFailure => "on-failure",
            CommentMode::Always => "always",
            CommentMode::Never => "never",
        }
    }
}

impl fmt::Display for CommentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `comment` value that is none of [`CommentMode::CHOICES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCommentMode(pub String);

impl fmt::Display for InvalidCommentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid comment mode {:?}: expected one of {}",
            self.0,
            CommentMode::CHOICES.join(", ")
        )
    }
}

impl std::error::Error for InvalidCommentMode {}

impl FromStr for CommentMode {
    type Err = InvalidCommentMode;

    /// Parses an input spelling; surrounding blanks are ignored, an empty
    /// value is the default (`on-failure`), as for an input left unset.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "on-failure" => Ok(CommentMode::OnFailure),
            "always" => Ok(CommentMode::Always),
            "never" => Ok(CommentMode::Never),
            other => Err(InvalidCommentMode(other.to_string())),
        }
    }
}

/// Why a [`CommentContext`] could not be built.
#[derive(Debug)]
pub enum ContextError {
    /// The event payload could not be read.
    Event(EventError),
    /// The token holds characters an HTTP header cannot carry (the token
    /// itself is never printed).
    InvalidToken,
    /// `GITHUB_API_URL` is not an http(s) URL.
    InvalidApiUrl(String),
    /// `GITHUB_REPOSITORY` is missing or not `owner/name`.
    InvalidRepository(String),
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::Event(e) => e.fmt(f),
            ContextError::InvalidToken => f.write_str(
                "the github-token holds spaces or control characters; pass the token alone",
            ),
            ContextError::InvalidApiUrl(url) => {
                write!(f, "GITHUB_API_URL {url:?} is not an http(s) URL")
            }
            ContextError::InvalidRepository(repo) => write!(
                f,
                "GITHUB_REPOSITORY {repo:?} is not owner/name, so the pull request's repository is unknown"
            ),
        }
    }
}

impl std::error::Error for ContextError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ContextError::Event(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EventError> for ContextError {
    fn from(e: EventError) -> Self {
        ContextError::Event(e)
    }
}

/// Everything the comment needs to know about the run, read from the
/// runner's environment, plus the token. Its `Debug` never shows the token.
#[derive(Debug, Clone)]
pub struct CommentContext {
    /// The REST API base: `GITHUB_API_URL`, such as
    /// `https://ghes.example.com/api/v3` on GitHub Enterprise Server.
    pub api_url: String,
    /// The web base for links: `GITHUB_SERVER_URL`.
    pub server_url: String,
    /// `owner/name`: `GITHUB_REPOSITORY`.
    pub repository: String,
    /// `GITHUB_RUN_ID`, for the link to the run.
    pub run_id: Option<String>,
    /// `GITHUB_RUN_ATTEMPT`, for the link to this attempt.
    pub run_attempt: Option<String>,
    /// `GITHUB_WORKFLOW`: the workflow's name.
    pub workflow: String,
    /// `GITHUB_JOB`: the job's id.
    pub job: String,
    /// `GITHUB_SHA`: the commit the run checked out (for `pull_request`, the
    /// merge commit). The footer prefers the pull request's head commit.
    pub sha: Option<String>,
    /// The pull request, when the run was started by one.
    pub pull_request: Option<PullRequest>,
    /// The hidden marker that identifies this job's comment; see [`marker`].
    pub marker: String,
    /// The token; `None` when none was given.
    token: Option<SecretString>,
}

impl CommentContext {
    /// Builds the context from this process's environment. `token` is the
    /// `github-token` input (masked at once under Actions); `key`
    /// distinguishes the comments of one job's matrix legs or targets (see
    /// [`discriminator`]).
    pub fn from_env(token: &str, key: Option<&str>) -> Result<CommentContext, ContextError> {
        CommentContext::from_lookup(|name| std::env::var(name).ok(), token, key)
    }

    /// [`CommentContext::from_env`] with the variables looked up by `var`,
    /// for tests and callers that hold the environment elsewhere.
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        token: &str,
        key: Option<&str>,
    ) -> Result<CommentContext, ContextError> {
        let token = token.trim();
        super::mask(token);
        if token.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(ContextError::InvalidToken);
        }
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let api_url = var("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
        if !url::Url::parse(&api_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            return Err(ContextError::InvalidApiUrl(api_url));
        }
        let pull_request = event::read_event(
            &var("GITHUB_EVENT_NAME").unwrap_or_default(),
            var("GITHUB_EVENT_PATH")
                .as_deref()
                .map(std::path::Path::new),
        )?;
        let repository = var("GITHUB_REPOSITORY")
            .or_else(|| pull_request.as_ref().map(|pr| pr.base_repo.clone()))
            .unwrap_or_default();
        if pull_request.is_some() && split_repository(&repository).is_none() {
            return Err(ContextError::InvalidRepository(repository));
        }
        let workflow = var("GITHUB_WORKFLOW").unwrap_or_default();
        let job = var("GITHUB_JOB").unwrap_or_default();
        Ok(CommentContext {
            marker: marker(&workflow, &job, key),
            api_url,
            server_url: var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            repository,
            run_id: var("GITHUB_RUN_ID"),
            run_attempt: var("GITHUB_RUN_ATTEMPT"),
            workflow,
            job,
            sha: var("GITHUB_SHA"),
            pull_request,
            token: (!token.is_empty()).then(|| SecretString::from(token.to_string())),
        })
    }

    /// The link to this run's attempt:
    /// `{server}/{repo}/actions/runs/{id}/attempts/{n}`, or to the run when
    /// the attempt is unknown; `None` without a run id.
    pub fn run_url(&self) -> Option<String> {
        let id = self.run_id.as_deref()?;
        let mut url = format!(
            "{}/{}/actions/runs/{id}",
            self.server_url.trim_end_matches('/'),
            self.repository
        );
        if let Some(attempt) = &self.run_attempt {
            let _ = write!(url, "/attempts/{attempt}");
        }
        safe_url(&url)
    }

    /// The commit the comment is about: the pull request's head, else `GITHUB_SHA`.
    pub fn commit(&self) -> Option<&str> {
        self.pull_request
            .as_ref()
            .map(|pr| pr.head_sha.as_str())
            .or(self.sha.as_deref())
    }
}

/// `owner` and `name` of `owner/name`, when both are valid GitHub names.
fn split_repository(repository: &str) -> Option<(&str, &str)> {
    let (owner, name) = repository.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (valid(owner) && valid(name)).then_some((owner, name))
}

/// What [`upsert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    /// A new comment was posted.
    Created {
        /// The comment's id.
        id: u64,
        /// The comment's `html_url`, checked, for the `comment-url` output.
        link: CommentLink,
    },
    /// Our earlier comment was updated in place.
    Updated {
        /// The comment's id.
        id: u64,
        /// The comment's `html_url`, checked, for the `comment-url` output.
        link: CommentLink,
    },
    /// Nothing to do, by design: `comment: never`, not a pull-request event,
    /// or `on-failure` with a passing run and no earlier comment.
    Skipped {
        /// Why, in one sentence.
        reason: String,
    },
    /// A comment was due but cannot be posted: a fork's read-only token, no
    /// token, the API refused (403/404), or it sent us to another place (a
    /// redirect, a next page on another origin), where the token does not
    /// go. The findings are in the job
    /// summary and the annotations; print [`CommentOutcome::workflow_command`]
    /// as a notice.
    Fallback {
        /// Why, and what to change.
        reason: String,
    },
    /// The API failed otherwise. Reported as a warning; the step's exit code
    /// does not change.
    Failed {
        /// What failed.
        reason: String,
    },
}

impl CommentOutcome {
    /// The comment's URL, when one was created or updated and its `html_url`
    /// passed [`CommentLink::check`]: only ever a link into the GitHub server.
    pub fn url(&self) -> Option<&str> {
        match self {
            CommentOutcome::Created { link, .. } | CommentOutcome::Updated { link, .. } => {
                link.url()
            }
            _ => None,
        }
    }

    /// The workflow command that tells the user about a fallback (`::notice`),
    /// a failure (`::warning`) or a posted comment whose URL was refused
    /// (`::warning`: there is no `comment-url` output), escaped; `None` for
    /// the other outcomes.
    pub fn workflow_command(&self) -> Option<String> {
        let refused;
        let (level, reason) = match self {
            CommentOutcome::Fallback { reason } => ("notice", reason),
            CommentOutcome::Failed { reason } => ("warning", reason),
            CommentOutcome::Created { id, link } | CommentOutcome::Updated { id, link } => {
                refused = format!(
                    "The comment (id {id}) was posted, but there is no comment-url output: {}.",
                    link.refusal()?
                );
                ("warning", &refused)
            }
            _ => return None,
        };
        Some(format!(
            "::{level} title={}::{}",
            escape_property("Pull-request comment"),
            escape_data(reason)
        ))
    }
}

impl fmt::Display for CommentOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommentOutcome::Created { id, link } => {
                write!(f, "posted the pull-request comment {}", link.describe(*id))
            }
            CommentOutcome::Updated { id, link } => {
                write!(f, "updated the pull-request comment {}", link.describe(*id))
            }
            CommentOutcome::Skipped { reason } => write!(f, "no pull-request comment: {reason}"),
            CommentOutcome::Fallback { reason } | CommentOutcome::Failed { reason } => {
                write!(f, "the pull-request comment was not posted: {reason}")
            }
        }
    }
}

/// A comment's `html_url` as the API gave it, checked before anything
/// passes it on: the `comment-url` output is read by later steps (and may
/// end up in links), so it is only ever a link into the GitHub server. The
/// only way to make one is [`CommentLink::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentLink(Result<String, String>);

impl CommentLink {
    /// Checks `html_url` against `server_url` (`GITHUB_SERVER_URL`, such as
    /// `https://github.com` or a GitHub Enterprise Server's
    /// `https://HOST`): it must be an `https` URL (`http` only when the
    /// server itself is http, as in tests) on the server's host and port,
    /// without a user name or password, and without blanks or control
    /// characters. Anything else is refused with the reason.
    pub fn check(html_url: &str, server_url: &str) -> CommentLink {
        let Some(server) = url::Url::parse(server_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        else {
            return CommentLink(Err(format!(
                "GITHUB_SERVER_URL {server_url:?} is not an http(s) URL, so the comment's html_url cannot be checked"
            )));
        };
        let expected = if server.scheme() == "http" {
            format!(
                "an http(s) link on {}",
                server.origin().ascii_serialization()
            )
        } else {
            format!("an https link on {}", server.origin().ascii_serialization())
        };
        let shown: String = html_url.chars().take(200).collect();
        let refused = || {
            CommentLink(Err(format!(
                "the API gave the comment's html_url as {shown:?}, which is not {expected} (GITHUB_SERVER_URL)"
            )))
        };
        if html_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return refused();
        }
        let Ok(url) = url::Url::parse(html_url) else {
            return refused();
        };
        let scheme_ok =
            url.scheme() == "https" || (url.scheme() == "http" && server.scheme() == "http");
        let port_ok = if url.scheme() == server.scheme() {
            url.port_or_known_default() == server.port_or_known_default()
        } else {
            url.port().is_none()
        };
        let ok = scheme_ok
            && port_ok
            && url.host_str().is_some()
            && url.host_str() == server.host_str()
            && url.username().is_empty()
            && url.password().is_none();
        if !ok {
            return refused();
        }
        CommentLink(Ok(url.into()))
    }

    /// The checked URL; `None` when it was refused.
    pub fn url(&self) -> Option<&str> {
        self.0.as_deref().ok()
    }

    /// Why the URL was refused; `None` when it passed.
    pub fn refusal(&self) -> Option<&str> {
        self.0.as_ref().err().map(String::as_str)
    }

    /// The URL, or for a refused one the comment's id.
    fn describe(&self, id: u64) -> String {
        match &self.0 {
            Ok(url) => url.clone(),
            Err(_) => format!("(id {id}; its URL was refused)"),
        }
    }
}

mod api;
mod body;
#[cfg(test)]
mod tests;

pub use api::{upsert, upsert_from_env};
pub use body::{discriminator, marker, render_comment};
