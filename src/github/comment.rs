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

use std::collections::HashSet;
use std::fmt::{self, Write};
use std::str::FromStr;
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::issues::Comment;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::report::{
    Report, Severity, Verdict, escape_markdown, finding_details, rule_link, safe_url,
};

use super::annotations::{escape_data, escape_property};
use super::event::{self, EventError, PullRequest};
use super::summary::{Measure, fit_markdown};

/// GitHub's limit for a comment body: 65,536 characters. Past it the API
/// answers 422 "Body is too long (maximum is 65536 characters)".
pub const COMMENT_LIMIT: usize = 65_536;

/// At most this many findings are listed in the comment; the job summary has
/// them all.
pub const MAX_COMMENT_FINDINGS: usize = 100;

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

/// One part of the marker's key, made safe inside an HTML comment: letters,
/// digits and `._+=@/` are kept, a `-` is kept but never doubled (`--` would
/// end the comment), everything else becomes `_`, and it is cut to 100
/// characters.
fn sanitize_key_part(part: &str) -> String {
    let mut out = String::new();
    for c in part.trim().chars().take(100) {
        let c = if c.is_alphanumeric() || "._+=@/-".contains(c) {
            c
        } else {
            '_'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The hidden marker of the comment for `workflow` and `job`, with the
/// caller's `key` telling apart matrix legs and targets of the same job:
/// `<!-- ecr-fargate-preflight:WORKFLOW:JOB[:KEY] -->`. Each part is
/// sanitized (no `:`, no `--`, no `>`), so one job's marker is never a
/// prefix of another's and cannot close the HTML comment.
pub fn marker(workflow: &str, job: &str, key: Option<&str>) -> String {
    let mut m = format!(
        "{MARKER_PREFIX}{}:{}",
        sanitize_key_part(workflow),
        sanitize_key_part(job)
    );
    if let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) {
        let _ = write!(m, ":{}", sanitize_key_part(key));
    }
    m.push_str(" -->");
    m
}

/// A comment key for a job's targets: the first 12 hex digits of a SHA-256
/// over the `(name, value)` pairs (repository, cluster, region, role,
/// command …), followed by `.` and `comment_key` when the user gave one. Two
/// matrix legs that check different targets get different keys, and so
/// different comments; the same targets on a re-run get the same key.
pub fn discriminator(targets: &[(&str, &str)], comment_key: Option<&str>) -> String {
    let mut hash = Sha256::new();
    for (name, value) in targets {
        // Lengths first, so ("a", "bc") and ("ab", "c") differ.
        hash.update(format!("{}:{}:{name}{value}\n", name.len(), value.len()));
    }
    let digest = hash.finalize();
    let mut key: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    if let Some(user) = comment_key.map(str::trim).filter(|k| !k.is_empty()) {
        key.push('.');
        key.push_str(user);
    }
    key
}

/// The icon and word of a severity.
fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Notice => "ℹ️ notice",
    }
}

/// The heading: verdict first.
fn headline(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Fail => "## ❌ ECR Fargate preflight: fail",
        Verdict::Pass if report.summary.warnings > 0 => {
            "## ⚠️ ECR Fargate preflight: pass, with warnings"
        }
        Verdict::Pass => "## ✅ ECR Fargate preflight: pass",
        Verdict::NotVerified => "## ❔ ECR Fargate preflight: not verified",
    }
}

/// The comment's content between marker and footer, with at most
/// [`MAX_COMMENT_FINDINGS`] findings.
fn content(report: &Report, ctx: &CommentContext, run_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", headline(report));
    let c = report.summary;
    let _ = write!(
        out,
        "**{}** error(s), **{}** warning(s), **{}** notice(s)",
        c.errors, c.warnings, c.notices
    );
    if let Some(sha) = ctx.commit() {
        let _ = write!(out, " at {}", escape_markdown(short_sha(sha)));
    }
    out.push_str(".\n\n");
    if report.findings.is_empty() {
        out.push_str(
            "No findings: the push and the checked task networking work as configured.\n\n",
        );
        return out;
    }
    let shown = &report.findings[..report.findings.len().min(MAX_COMMENT_FINDINGS)];
    out.push_str("| severity | rule | finding | resource |\n|---|---|---|---|\n");
    for f in shown {
        let resources: Vec<String> = f.resources.iter().map(|r| escape_markdown(r)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            severity_label(f.severity),
            rule_link(f),
            escape_markdown(&f.title),
            resources.join("<br>")
        );
    }
    let hidden = report.findings.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n{hidden} more finding(s) are not listed here; {}.",
            summary_pointer(run_url)
        );
    }
    out.push('\n');
    for f in shown {
        finding_details(&mut out, f);
    }
    out
}

/// "the full report is in the job summary", linked to the run when known.
fn summary_pointer(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("the full report is in the [job summary]({url})"),
        None => "the full report is in the job summary".to_string(),
    }
}

/// The first 7 characters of a commit id.
fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The footer: commit, run link, where the full report is.
fn footer(ctx: &CommentContext, run_url: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(sha) = ctx.commit() {
        parts.push(format!("commit {}", escape_markdown(short_sha(sha))));
    }
    if !ctx.workflow.is_empty() || !ctx.job.is_empty() {
        parts.push(format!(
            "{} / {}",
            escape_markdown(&ctx.workflow),
            escape_markdown(&ctx.job)
        ));
    }
    if let Some(url) = run_url {
        let attempt = ctx
            .run_attempt
            .as_deref()
            .map(|a| format!(" (attempt {})", escape_markdown(a)))
            .unwrap_or_default();
        parts.push(format!("[workflow run]({url}){attempt}"));
    }
    parts.push(format!(
        "full report in the job summary · {} {}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    ));
    format!("\n---\n<sub>{}</sub>\n", parts.join(" · "))
}

/// The comment body fitted into `limit` as counted by `measure`: marker
/// first (so the comment is found again even when cut), content cut with a
/// visible notice linking to the job summary, footer last.
fn render_fitted(report: &Report, ctx: &CommentContext, limit: usize, measure: Measure) -> String {
    let run_url = ctx.run_url();
    let head = format!("{}\n", ctx.marker);
    let footer = footer(ctx, run_url.as_deref());
    let content = content(report, ctx, run_url.as_deref());
    let hidden = report.findings.len().saturating_sub(MAX_COMMENT_FINDINGS);
    let budget = limit.saturating_sub(measure.of(&head) + measure.of(&footer));
    let body = fit_markdown(&content, budget, measure, |cut| {
        format!(
            "\n> ✂️ **Truncated** to fit GitHub's comment limit: {} finding(s) not shown; {}.\n",
            cut + hidden,
            summary_pointer(run_url.as_deref())
        )
    });
    format!("{head}{body}{footer}")
}

/// The comment's markdown for `report`: the hidden marker, the verdict and
/// counts, a table of findings (severity, rule, finding, resource), a
/// `<details>` block per finding with its evidence and fix, and a footer with
/// the commit and a link to the run. Everything that came from AWS or the
/// repository is escaped. At most [`COMMENT_LIMIT`] characters (counted as
/// UTF-16 code units, never fewer than GitHub's count), cut visibly with a
/// pointer to the job summary, with every code fence and `<details>` closed.
pub fn render_comment(report: &Report, ctx: &CommentContext) -> String {
    render_fitted(report, ctx, COMMENT_LIMIT, Measure::Utf16)
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

/// The octocrab client for `ctx`: its API base (path prefix kept, as on
/// GitHub Enterprise Server), the token, and timeouts so a dead server
/// cannot hold the step. Octocrab retries server errors a few times itself.
///
/// It follows no redirects: the crate is built without octocrab's
/// `follow-redirect` feature, whose tower-http layer runs below octocrab's
/// auth layer, drops `Authorization` only on a hop that changes origin, and
/// restores the original headers on the next hop, so a redirect to another
/// host that redirects once more within itself received the token. A
/// redirect now comes back as an error ([`api_error`]).
fn client(ctx: &CommentContext, token: &SecretString) -> octocrab::Result<Octocrab> {
    Octocrab::builder()
        .base_uri(ctx.api_url.as_str())?
        // octocrab's auth layer also trusts the upload URI, by default
        // uploads.github.com even for a GHES base; we upload nothing.
        .upload_uri(ctx.api_url.as_str())?
        .personal_token(token.clone())
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(30)))
        .build()
}

/// Whether `comment` is ours: its first line is our marker exactly (we write
/// it there; GitHub may have turned the line ending into CRLF).
fn has_marker(comment: &Comment, marker: &str) -> bool {
    comment
        .body
        .as_deref()
        .and_then(|b| b.lines().next())
        .is_some_and(|first| first.trim() == marker)
}

/// Our earlier comment on issue `number`, reading every page of comments
/// (100 each, following the `Link` header), oldest first. Among comments
/// with our marker, one written by a bot is preferred — `GITHUB_TOKEN` and
/// GitHub App tokens comment as bots, and which bot cannot be asked (the
/// token may not call `GET /user`); a person's comment with our marker is
/// taken only when no bot's exists, for personal access tokens. A next
/// page on another origin than `GITHUB_API_URL`'s is not fetched.
async fn find_ours(
    client: &Octocrab,
    ctx: &CommentContext,
    owner: &str,
    repo: &str,
    number: u64,
) -> Result<Option<Comment>, ListError> {
    let marker = ctx.marker.as_str();
    let mut page = client
        .issues(owner, repo)
        .list_comments(number)
        .per_page(100u8)
        .send()
        .await?;
    let mut by_person = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        for comment in page.take_items() {
            if has_marker(&comment, marker) {
                if comment.user.r#type == "Bot" {
                    return Ok(Some(comment));
                }
                by_person.get_or_insert(comment);
            }
        }
        let Some(next) = page.next.take() else { break };
        if !seen.insert(next.to_string()) {
            break;
        }
        on_api_origin(ctx, &next.to_string()).map_err(ListError::ForeignPage)?;
        match client.get_page::<Comment>(&Some(next)).await? {
            Some(p) => page = p,
            None => break,
        }
    }
    Ok(by_person)
}

/// Why our earlier comment could not be looked for.
#[derive(Debug)]
enum ListError {
    /// The API failed or refused.
    Api(octocrab::Error),
    /// The `Link` header put the next page on this other origin.
    ForeignPage(String),
}

impl From<octocrab::Error> for ListError {
    fn from(e: octocrab::Error) -> Self {
        ListError::Api(e)
    }
}

/// The origin (scheme, host, port) of `GITHUB_API_URL`: the only place the
/// token goes.
fn api_origin(ctx: &CommentContext) -> Option<url::Url> {
    url::Url::parse(&ctx.api_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// `Ok` when `uri` (absolute, or relative to the API base) is on
/// `GITHUB_API_URL`'s origin; else the origin it is on, for the message.
/// An https API sent to http is another origin too.
fn on_api_origin(ctx: &CommentContext, uri: &str) -> Result<(), String> {
    let Some(base) = api_origin(ctx) else {
        return Err(format!("an unusable GITHUB_API_URL {:?}", ctx.api_url));
    };
    match base.join(uri) {
        Ok(target) if target.origin() == base.origin() => Ok(()),
        Ok(target) => Err(target.origin().ascii_serialization()),
        Err(_) => Err("an unreadable URL".into()),
    }
}

/// `GITHUB_API_URL`'s origin as the messages name it.
fn api_origin_name(ctx: &CommentContext) -> String {
    api_origin(ctx).map_or_else(|| ctx.api_url.clone(), |u| u.origin().ascii_serialization())
}

/// The fallback when the `Link` header puts the next page on `origin`.
fn foreign_page(ctx: &CommentContext, origin: &str) -> CommentOutcome {
    CommentOutcome::Fallback {
        reason: format!(
            "the API's Link header puts the next page of the pull request's comments on {origin}, not on {} (GITHUB_API_URL); it is not fetched, since the github-token goes only to GITHUB_API_URL. The findings are in the job summary and the annotations.",
            api_origin_name(ctx)
        ),
    }
}

/// What to tell the user about an API error while `doing` something. A
/// redirect is a fallback: the client does not follow redirects (the token
/// must not go anywhere but `GITHUB_API_URL`), and GitHub's API does not
/// redirect these calls for a repository under its current name.
fn api_error(doing: &str, ctx: &CommentContext, err: &octocrab::Error) -> CommentOutcome {
    if let octocrab::Error::GitHub { source, .. } = err {
        let status = source.status_code.as_u16();
        if source.status_code.is_redirection() {
            return CommentOutcome::Fallback {
                reason: format!(
                    "{doing} was answered with HTTP {status}, a redirect, which is not followed: the github-token goes only to {} (GITHUB_API_URL). The findings are in the job summary and the annotations; check GITHUB_API_URL and any proxy in between.",
                    api_origin_name(ctx)
                ),
            };
        }
        let message: String = source.message.chars().take(300).collect();
        if matches!(status, 403 | 404) {
            return CommentOutcome::Fallback {
                reason: format!(
                    "{doing} was refused ({status}: {message}). The findings are in the job summary and the annotations; to get the comment, give the job `permissions: pull-requests: write` (a fork's pull_request run is always read-only)."
                ),
            };
        }
        return CommentOutcome::Failed {
            reason: format!("{doing} failed ({status}: {message})"),
        };
    }
    CommentOutcome::Failed {
        reason: format!("{doing} failed: {err}"),
    }
}

/// The HTTP status of an error GitHub answered.
fn status(err: &octocrab::Error) -> Option<u16> {
    match err {
        octocrab::Error::GitHub { source, .. } => Some(source.status_code.as_u16()),
        _ => None,
    }
}

/// Whether GitHub refused the body as too long (422).
fn too_long(err: &octocrab::Error) -> bool {
    let octocrab::Error::GitHub { source, .. } = err else {
        return false;
    };
    let errors = source
        .errors
        .as_ref()
        .map(|e| serde_json::Value::Array(e.clone()).to_string())
        .unwrap_or_default();
    source.status_code.as_u16() == 422
        && format!("{} {errors}", source.message)
            .to_ascii_lowercase()
            .contains("too long")
}

/// Creates or updates (PATCH) the comment with `body`.
async fn write_comment(
    client: &Octocrab,
    owner: &str,
    repo: &str,
    number: u64,
    existing: Option<u64>,
    body: &str,
) -> octocrab::Result<Comment> {
    match existing {
        Some(id) => {
            client
                .patch(
                    format!("/repos/{owner}/{repo}/issues/comments/{id}"),
                    Some(&serde_json::json!({ "body": body })),
                )
                .await
        }
        None => {
            client
                .issues(owner, repo)
                .create_comment(number, body)
                .await
        }
    }
}

/// Posts or updates this job's comment on the run's pull request, as `mode`
/// says: finds our earlier comment by its marker and updates it in place
/// (never a duplicate), creates one only when due. Never panics and never
/// fails the step: problems come back as [`CommentOutcome::Fallback`] or
/// [`CommentOutcome::Failed`]. A body GitHub refuses as too long is sent
/// once more, cut to half the limit in bytes.
pub async fn upsert(report: &Report, ctx: &CommentContext, mode: CommentMode) -> CommentOutcome {
    let skipped = |reason: &str| CommentOutcome::Skipped {
        reason: reason.to_string(),
    };
    if mode == CommentMode::Never {
        return skipped("the comment input is never");
    }
    let Some(pr) = &ctx.pull_request else {
        return skipped("the run was not started by a pull request");
    };
    if pr.read_only_token() {
        return CommentOutcome::Fallback {
            reason: format!(
                "pull request #{} comes from a fork ({}), so this run's token is read-only; the findings are in the job summary and the annotations",
                pr.number,
                pr.head_repo.as_deref().unwrap_or("a deleted repository")
            ),
        };
    }
    let Some(token) = &ctx.token else {
        return CommentOutcome::Fallback {
            reason:
                "no github-token was given; the findings are in the job summary and the annotations"
                    .into(),
        };
    };
    let Some((owner, repo)) = split_repository(&ctx.repository) else {
        return CommentOutcome::Failed {
            reason: format!("GITHUB_REPOSITORY {:?} is not owner/name", ctx.repository),
        };
    };
    let client = match client(ctx, token) {
        Ok(c) => c,
        Err(e) => return api_error("setting up the GitHub API client", ctx, &e),
    };
    let existing = match find_ours(&client, ctx, owner, repo, pr.number).await {
        Ok(c) => c.map(|c| c.id.into_inner()),
        Err(ListError::Api(e)) => return api_error("listing the pull request's comments", ctx, &e),
        Err(ListError::ForeignPage(origin)) => return foreign_page(ctx, &origin),
    };
    if existing.is_none() && mode == CommentMode::OnFailure && report.verdict == Verdict::Pass {
        return skipped("the run passes and there is no earlier comment to update");
    }
    let mut result = write_comment(
        &client,
        owner,
        repo,
        pr.number,
        existing,
        &render_comment(report, ctx),
    )
    .await;
    let mut existing = existing;
    if existing.is_some()
        && let Err(e) = &result
        && status(e) == Some(404)
    {
        // Deleted between listing and updating: post it anew.
        existing = None;
        result = write_comment(
            &client,
            owner,
            repo,
            pr.number,
            None,
            &render_comment(report, ctx),
        )
        .await;
    }
    if let Err(e) = &result
        && too_long(e)
    {
        let harder = render_fitted(report, ctx, COMMENT_LIMIT / 2, Measure::Bytes);
        result = write_comment(&client, owner, repo, pr.number, existing, &harder).await;
    }
    let doing = if existing.is_some() {
        "updating the pull-request comment"
    } else {
        "posting the pull-request comment"
    };
    match result {
        Ok(c) => {
            let id = c.id.into_inner();
            let link = CommentLink::check(c.html_url.as_str(), &ctx.server_url);
            if existing.is_some() {
                CommentOutcome::Updated { id, link }
            } else {
                CommentOutcome::Created { id, link }
            }
        }
        Err(e) => api_error(doing, ctx, &e),
    }
}

/// [`CommentContext::from_env`] then [`upsert`], for the action: `never`
/// reads nothing; a context that cannot be built is a
/// [`CommentOutcome::Failed`].
pub async fn upsert_from_env(
    report: &Report,
    token: &str,
    key: Option<&str>,
    mode: CommentMode,
) -> CommentOutcome {
    if mode == CommentMode::Never {
        return CommentOutcome::Skipped {
            reason: "the comment input is never".into(),
        };
    }
    match CommentContext::from_env(token, key) {
        Ok(ctx) => upsert(report, &ctx, mode).await,
        Err(e) => CommentOutcome::Failed {
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;
    use std::collections::HashMap;

    fn context(vars: &[(&str, &str)]) -> Result<CommentContext, ContextError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CommentContext::from_lookup(|k| env.get(k).cloned(), "ghs_x", Some("k1"))
    }

    #[test]
    fn modes_parse_from_their_input_spellings() {
        assert_eq!("on-failure".parse(), Ok(CommentMode::OnFailure));
        assert_eq!(" always ".parse(), Ok(CommentMode::Always));
        assert_eq!("never".parse(), Ok(CommentMode::Never));
        assert_eq!("".parse(), Ok(CommentMode::OnFailure));
        assert_eq!(CommentMode::default(), CommentMode::OnFailure);
        let e = "sometimes".parse::<CommentMode>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid comment mode \"sometimes\": expected one of on-failure, always, never"
        );
        for choice in CommentMode::CHOICES {
            let mode: CommentMode = choice.parse().unwrap();
            assert_eq!(mode.to_string(), choice);
            // clap's spelling is the same.
            assert_eq!(
                clap::ValueEnum::to_possible_value(&mode)
                    .unwrap()
                    .get_name(),
                choice
            );
        }
    }

    #[test]
    fn the_marker_holds_workflow_job_and_key_and_cannot_close_the_comment() {
        assert_eq!(
            marker("CI", "preflight", Some("ab12")),
            "<!-- ecr-fargate-preflight:CI:preflight:ab12 -->"
        );
        assert_eq!(
            marker("CI", "preflight", None),
            "<!-- ecr-fargate-preflight:CI:preflight -->"
        );
        assert_eq!(
            marker("CI", "preflight", Some("  ")),
            marker("CI", "preflight", None)
        );
        let evil = marker("a-->b", "x--y>z", Some("k:-->\n<!--"));
        assert_eq!(evil.matches("--").count(), 2, "{evil}");
        assert!(evil.starts_with("<!-- ") && evil.ends_with(" -->"));
        assert_eq!(evil.matches('>').count(), 1, "{evil}");
        assert_eq!(evil.matches(':').count(), 3, "{evil}");
        // Parts cannot run into one another.
        assert_ne!(marker("a:b", "c", None), marker("a", "b:c", None));
        assert_ne!(
            marker("CI", "job", Some("eu")),
            marker("CI", "job", Some("us"))
        );
        // Unicode names stay readable.
        assert!(marker("Déploiement", "j", None).contains("Déploiement"));
    }

    #[test]
    fn the_discriminator_hashes_the_targets() {
        let a = discriminator(&[("repository", "team/app"), ("region", "eu-west-1")], None);
        let b = discriminator(&[("repository", "team/app"), ("region", "us-east-1")], None);
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(
            a,
            discriminator(&[("repository", "team/app"), ("region", "eu-west-1")], None)
        );
        assert_ne!(
            discriminator(&[("a", "bc")], None),
            discriminator(&[("ab", "c")], None)
        );
        let with = discriminator(&[("repository", "team/app")], Some("prod"));
        assert!(with.ends_with(".prod"), "{with}");
    }

    #[test]
    fn the_context_comes_from_the_runner_variables() {
        let ctx = context(&[
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_SERVER_URL", "https://ghes.example.com/"),
            ("GITHUB_API_URL", "https://ghes.example.com/api/v3"),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_RUN_ATTEMPT", "3"),
            ("GITHUB_WORKFLOW", "CI"),
            ("GITHUB_JOB", "check"),
            ("GITHUB_SHA", "0123456789abcdef"),
            ("GITHUB_EVENT_NAME", "push"),
        ])
        .unwrap();
        assert_eq!(ctx.api_url, "https://ghes.example.com/api/v3");
        assert_eq!(
            ctx.run_url().unwrap(),
            "https://ghes.example.com/acme/app/actions/runs/99/attempts/3"
        );
        assert_eq!(ctx.marker, "<!-- ecr-fargate-preflight:CI:check:k1 -->");
        assert_eq!(ctx.pull_request, None);
        assert_eq!(ctx.commit(), Some("0123456789abcdef"));
        assert!(!format!("{ctx:?}").contains("ghs_x"));

        let ctx = context(&[("GITHUB_REPOSITORY", "acme/app")]).unwrap();
        assert_eq!(ctx.api_url, DEFAULT_API_URL);
        assert_eq!(ctx.run_url(), None);
    }

    #[test]
    fn bad_context_values_are_errors() {
        let e = context(&[("GITHUB_API_URL", "ftp://x")]).unwrap_err();
        assert!(matches!(e, ContextError::InvalidApiUrl(_)), "{e}");
        let e = context(&[("GITHUB_EVENT_NAME", "pull_request")]).unwrap_err();
        assert!(e.to_string().contains("GITHUB_EVENT_PATH"), "{e}");
        let e = context(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
        ])
        .unwrap_err();
        assert!(matches!(e, ContextError::Event(_)), "{e}");
        let e = CommentContext::from_lookup(|_| None, "ghs_a\nb", None).unwrap_err();
        assert!(matches!(e, ContextError::InvalidToken));
        assert!(!e.to_string().contains("ghs_a"));
        assert_eq!(split_repository("acme/app"), Some(("acme", "app")));
        for bad in ["", "acme", "acme/", "/app", "a/b/c", "a b/c", "acme/app?x"] {
            assert_eq!(split_repository(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_body_has_verdict_table_details_and_footer() {
        let ctx = context(&[
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_RUN_ID", "7"),
            ("GITHUB_WORKFLOW", "CI"),
            ("GITHUB_JOB", "check"),
            ("GITHUB_SHA", "abcdef0123456789"),
        ])
        .unwrap();
        let finding = rules::PUSH_ACCESS_DENIED
            .finding("PutImage denied", "PUT manifest answered 403")
            .with_resources(["arn:aws:ecr:us-east-1:1:repository/a"])
            .with_fix(crate::report::Fix {
                description: "Grant it.".into(),
                policy_statement: Some(serde_json::json!({"Effect": "Allow"})),
                terraform: Some("resource {}\n```".into()),
                aws_cli: Some("aws iam put-role-policy".into()),
            });
        let report = Report::new(None, None, vec![finding], vec![]);
        let body = render_comment(&report, &ctx);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], ctx.marker);
        assert_eq!(lines[1], "## ❌ ECR Fargate preflight: fail");
        assert!(
            lines[3].starts_with("**1** error(s), **0** warning(s)"),
            "{}",
            lines[3]
        );
        assert!(body.contains("| severity | rule | finding | resource |"));
        assert!(body.contains(
            "| ❌ error | [push/access-denied](https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html) | PutImage denied | arn:aws:ecr:us-east-1:1:repository/a |"
        ), "{body}");
        assert!(
            body.contains(
                "<details><summary>error: push/access-denied — PutImage denied</summary>"
            ),
            "{body}"
        );
        assert!(
            body.contains("```json\n{\n  \"Effect\": \"Allow\"\n}\n```"),
            "{body}"
        );
        assert!(body.contains("````hcl\nresource {}\n```\n````"), "{body}");
        assert!(body.contains("```sh\naws iam put-role-policy\n```"));
        assert!(body.contains("commit abcdef0"), "{body}");
        assert!(body.contains("[workflow run](https://github.com/acme/app/actions/runs/7)"));
        assert!(body.contains("full report in the job summary"));
        assert!(body.trim_end().ends_with("</sub>"));

        let warn = Report::new(
            None,
            None,
            vec![rules::PUSH_CLEANUP_DENIED.finding("t", "m")],
            vec![],
        );
        assert!(
            render_comment(&warn, &ctx)
                .contains("## ⚠️ ECR Fargate preflight: pass, with warnings")
        );
        let pass = render_comment(&Report::new(None, None, vec![], vec![]), &ctx);
        assert!(pass.contains("## ✅ ECR Fargate preflight: pass"));
        assert!(!pass.contains("<details>"));
    }

    #[test]
    fn more_than_the_listed_findings_are_counted() {
        let ctx = context(&[("GITHUB_REPOSITORY", "acme/app")]).unwrap();
        let findings = (0..MAX_COMMENT_FINDINGS + 5)
            .map(|i| rules::PUSH_ACCESS_DENIED.finding(format!("t{i}"), "m"))
            .collect();
        let body = render_comment(&Report::new(None, None, findings, vec![]), &ctx);
        assert!(
            body.contains(
                "5 more finding(s) are not listed here; the full report is in the job summary."
            ),
            "{body}"
        );
        assert_eq!(body.matches("<details>").count(), MAX_COMMENT_FINDINGS);
    }

    #[test]
    fn a_comment_link_must_point_into_the_github_server() {
        let ok = |url: &str, server: &str| CommentLink::check(url, server).url().map(String::from);
        // github.com, GitHub Enterprise Server, and an http server (tests).
        let good = [
            (
                "https://github.com/acme/app/pull/42#issuecomment-1",
                "https://github.com",
            ),
            (
                "https://github.com/acme/app/pull/42#issuecomment-1",
                "https://github.com/",
            ),
            ("https://GitHub.com/acme/app/pull/42", "https://github.com"),
            (
                "https://github.com:443/acme/app/pull/42",
                "https://github.com",
            ),
            (
                "https://ghes.example.com/acme/app/pull/7#issuecomment-3",
                "https://ghes.example.com",
            ),
            (
                "https://octo.ghe.com/acme/app/pull/7",
                "https://octo.ghe.com",
            ),
            (
                "http://127.0.0.1:8080/acme/app/pull/7",
                "http://127.0.0.1:8080",
            ),
            ("https://127.0.0.1/acme/app/pull/7", "http://127.0.0.1:8080"),
        ];
        for (url, server) in good {
            assert!(ok(url, server).is_some(), "{url} on {server}");
        }
        assert_eq!(
            ok("https://GitHub.com/a/b/pull/1", "https://github.com").as_deref(),
            Some("https://github.com/a/b/pull/1")
        );
        let bad = [
            ("javascript:alert(1)", "https://github.com"),
            ("data:text/html,x", "https://github.com"),
            ("http://evil.example/acme/app/pull/42", "https://github.com"),
            (
                "https://evil.example/acme/app/pull/42",
                "https://github.com",
            ),
            // A downgrade, a look-alike host, a user name, another port.
            ("http://github.com/acme/app/pull/42", "https://github.com"),
            ("https://github.com.evil.example/a", "https://github.com"),
            ("https://evil.example.github.com/a", "https://github.com"),
            ("https://github.com@evil.example/a", "https://github.com"),
            ("https://user:pw@github.com/a", "https://github.com"),
            ("https://github.com:8443/a", "https://github.com"),
            ("http://127.0.0.1:9999/a", "http://127.0.0.1:8080"),
            // GHES links must be on the GHES host, not github.com, and back.
            (
                "https://github.com/acme/app/pull/7",
                "https://ghes.example.com",
            ),
            (
                "https://api.github.com/repos/acme/app",
                "https://github.com",
            ),
            // What the parser would silently drop or what cannot be an output line.
            ("https://github.com/a\nb", "https://github.com"),
            ("https://github.com/a b", "https://github.com"),
            ("/acme/app/pull/42", "https://github.com"),
            ("", "https://github.com"),
        ];
        for (url, server) in bad {
            let link = CommentLink::check(url, server);
            assert_eq!(link.url(), None, "{url} on {server}");
            let reason = link.refusal().unwrap();
            assert!(reason.contains("GITHUB_SERVER_URL"), "{reason}");
        }
        // A hostile URL is quoted, cut, in the reason.
        let long = format!("https://evil.example/{}", "a".repeat(5000));
        let reason = CommentLink::check(&long, "https://github.com")
            .refusal()
            .unwrap()
            .to_string();
        assert!(reason.len() < 400, "{reason}");
        // Without a usable server URL nothing passes.
        let link = CommentLink::check("https://github.com/a", "github.com");
        assert_eq!(link.url(), None);
        assert!(
            link.refusal()
                .unwrap()
                .contains("GITHUB_SERVER_URL \"github.com\"")
        );
    }

    #[test]
    fn only_the_api_origin_is_an_api_origin() {
        let ctx = context(&[("GITHUB_API_URL", "https://ghes.example.com/api/v3")]).unwrap();
        for same in [
            "https://ghes.example.com/api/v3/repos/a/b/issues/1/comments?page=2",
            "https://GHES.example.com:443/api/v3/x",
            "/api/v3/repos/a/b/issues/1/comments?page=2",
            "https://ghes.example.com/elsewhere",
        ] {
            assert_eq!(on_api_origin(&ctx, same), Ok(()), "{same}");
        }
        for (other, origin) in [
            (
                "http://ghes.example.com/api/v3/x",
                "http://ghes.example.com",
            ),
            (
                "https://ghes.example.com:8443/api/v3/x",
                "https://ghes.example.com:8443",
            ),
            (
                "https://api.github.com/repositories/1/issues/1/comments",
                "https://api.github.com",
            ),
            ("//evil.example/api/v3/x", "https://evil.example"),
        ] {
            assert_eq!(on_api_origin(&ctx, other), Err(origin.into()), "{other}");
        }
    }

    #[test]
    fn unsafe_links_are_not_linked() {
        assert_eq!(
            safe_url("https://x.example/a"),
            Some("https://x.example/a".into())
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://x.example/a)(b"), None);
        assert_eq!(safe_url("not a url"), None);
        let mut f = rules::PUSH_ACCESS_DENIED.finding("t", "m");
        f.docs = "javascript:alert(1)".into();
        assert_eq!(rule_link(&f), "push/access-denied");
    }

    #[test]
    fn outcomes_give_the_url_and_the_notice() {
        let created = CommentOutcome::Created {
            id: 1,
            link: CommentLink::check(
                "https://github.com/a/b/pull/1#issuecomment-1",
                "https://github.com",
            ),
        };
        assert_eq!(
            created.url(),
            Some("https://github.com/a/b/pull/1#issuecomment-1")
        );
        assert_eq!(created.workflow_command(), None);
        assert_eq!(
            created.to_string(),
            "posted the pull-request comment https://github.com/a/b/pull/1#issuecomment-1"
        );
        let refused = CommentOutcome::Updated {
            id: 2,
            link: CommentLink::check("javascript:alert(1)", "https://github.com"),
        };
        assert_eq!(refused.url(), None);
        assert_eq!(
            refused.workflow_command().unwrap(),
            "::warning title=Pull-request comment::The comment (id 2) was posted, but there is no comment-url output: the API gave the comment's html_url as \"javascript:alert(1)\", which is not an https link on https://github.com (GITHUB_SERVER_URL)."
        );
        assert_eq!(
            refused.to_string(),
            "updated the pull-request comment (id 2; its URL was refused)"
        );
        let fallback = CommentOutcome::Fallback {
            reason: "100% read-only\nfork".into(),
        };
        assert_eq!(fallback.url(), None);
        assert_eq!(
            fallback.workflow_command().unwrap(),
            "::notice title=Pull-request comment::100%25 read-only%0Afork"
        );
    }
}
