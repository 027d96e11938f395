//! The comment's only I/O: the issue-comments REST API through octocrab,
//! on `GITHUB_API_URL`'s origin only.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use octocrab::models::issues::Comment;
use octocrab::{FromResponse, Octocrab, Page};
use secrecy::SecretString;

use super::body::render_fitted;
use super::*;
use crate::github::summary::Measure;
use crate::limits::{GITHUB_BODY, size};
use crate::report::Report;

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
pub(super) fn client(ctx: &CommentContext, token: &SecretString) -> octocrab::Result<Octocrab> {
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

/// An answer of the GitHub API as octocrab's service stack hands it over, its
/// body not read yet.
type Answer = http::Response<BoxBody<Bytes, octocrab::Error>>;

/// Why a call to the GitHub API gave no usable answer.
#[derive(Debug)]
pub(super) enum CallError {
    /// The API failed or refused, or its answer was not what it documents.
    Api(octocrab::Error),
    /// The answer's body went on past [`GITHUB_BODY`]; the rest was not read.
    TooLarge,
}

impl From<octocrab::Error> for CallError {
    fn from(e: octocrab::Error) -> Self {
        CallError::Api(e)
    }
}

/// `answer` with its body read chunk by chunk up to [`GITHUB_BODY`], and no
/// further: past it (or past a `Content-Length` over it, before reading)
/// this is [`CallError::TooLarge`] and the body is dropped unread with its
/// connection, so a broken or hostile API costs at most that much memory.
/// The kept body is then judged as octocrab does: a non-2xx answer becomes
/// its error (GitHub's message and status).
async fn capped(answer: octocrab::Result<Answer>) -> Result<Answer, CallError> {
    let (parts, mut body) = answer?.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > GITHUB_BODY as u64) {
        return Err(CallError::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if bytes.len() + data.len() > GITHUB_BODY {
            return Err(CallError::TooLarge);
        }
        bytes.extend_from_slice(&data);
    }
    let body = Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed();
    Ok(octocrab::map_github_error(http::Response::from_parts(parts, body)).await?)
}

/// `answer` read by [`capped`], then parsed as octocrab parses a `T`.
async fn parse<T: FromResponse>(answer: octocrab::Result<Answer>) -> Result<T, CallError> {
    Ok(T::from_response(capped(answer).await?).await?)
}

/// Whether `comment` is ours: its first line is our marker exactly (we write
/// it there; GitHub may have turned the line ending into CRLF).
pub(super) fn has_marker(comment: &Comment, marker: &str) -> bool {
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
/// page on another origin than `GITHUB_API_URL`'s is not fetched. Each page
/// is read up to [`GITHUB_BODY`] ([`capped`]).
pub(super) async fn find_ours(
    client: &Octocrab,
    ctx: &CommentContext,
    owner: &str,
    repo: &str,
    number: u64,
) -> Result<Option<Comment>, ListError> {
    let marker = ctx.marker.as_str();
    let first = format!("/repos/{owner}/{repo}/issues/{number}/comments?per_page=100");
    let mut page: Page<Comment> = parse(client._get(first).await).await?;
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
        page = parse(client._get(next.to_string()).await).await?;
    }
    Ok(by_person)
}

/// Why our earlier comment could not be looked for.
#[derive(Debug)]
pub(super) enum ListError {
    /// The API failed or refused, or a page was too large.
    Api(CallError),
    /// The `Link` header put the next page on this other origin.
    ForeignPage(String),
}

impl From<CallError> for ListError {
    fn from(e: CallError) -> Self {
        ListError::Api(e)
    }
}

/// The origin (scheme, host, port) of `GITHUB_API_URL`: the only place the
/// token goes.
pub(super) fn api_origin(ctx: &CommentContext) -> Option<url::Url> {
    url::Url::parse(&ctx.api_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// `Ok` when `uri` (absolute, or relative to the API base) is on
/// `GITHUB_API_URL`'s origin; else the origin it is on, for the message.
/// An https API sent to http is another origin too.
pub(super) fn on_api_origin(ctx: &CommentContext, uri: &str) -> Result<(), String> {
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
pub(super) fn api_origin_name(ctx: &CommentContext) -> String {
    api_origin(ctx).map_or_else(|| ctx.api_url.clone(), |u| u.origin().ascii_serialization())
}

/// The fallback when the `Link` header puts the next page on `origin`.
pub(super) fn foreign_page(ctx: &CommentContext, origin: &str) -> CommentOutcome {
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
/// redirect these calls for a repository under its current name. An
/// answer past [`GITHUB_BODY`] is a failure naming the limit.
pub(super) fn api_error(doing: &str, ctx: &CommentContext, err: &CallError) -> CommentOutcome {
    let err = match err {
        CallError::Api(e) => e,
        CallError::TooLarge => {
            return CommentOutcome::Failed {
                reason: format!(
                    "{doing} failed: the GitHub API's answer ({}) went on past the {} limit on one answer, so it was not read further. The findings are in the job summary and the annotations.",
                    api_origin_name(ctx),
                    size(GITHUB_BODY)
                ),
            };
        }
    };
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
pub(super) fn status(err: &CallError) -> Option<u16> {
    match err {
        CallError::Api(octocrab::Error::GitHub { source, .. }) => Some(source.status_code.as_u16()),
        _ => None,
    }
}

/// Whether GitHub refused the body as too long (422).
pub(super) fn too_long(err: &CallError) -> bool {
    let CallError::Api(octocrab::Error::GitHub { source, .. }) = err else {
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

/// Creates or updates (PATCH) the comment with `body`, reading the answer
/// up to [`GITHUB_BODY`] ([`capped`]).
pub(super) async fn write_comment(
    client: &Octocrab,
    owner: &str,
    repo: &str,
    number: u64,
    existing: Option<u64>,
    body: &str,
) -> Result<Comment, CallError> {
    let body = serde_json::json!({ "body": body });
    let answer = match existing {
        Some(id) => {
            client
                ._patch(
                    format!("/repos/{owner}/{repo}/issues/comments/{id}"),
                    Some(&body),
                )
                .await
        }
        None => {
            client
                ._post(
                    format!("/repos/{owner}/{repo}/issues/{number}/comments"),
                    Some(&body),
                )
                .await
        }
    };
    parse(answer).await
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
        Err(e) => return api_error("setting up the GitHub API client", ctx, &e.into()),
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
