//! The claims a job presents to `AssumeRoleWithWebIdentity`: read from its
//! OIDC token, or predicted from the GitHub context when there is no token
//! (fork pull requests, the CLI). Pure: the context comes in as data.
//!
//! The subject formats are GitHub's (docs "OpenID Connect reference",
//! "Example subject claims"): a job with an `environment:` presents
//! `repo:OWNER/REPO:environment:NAME`; otherwise a `pull_request` run
//! presents `repo:OWNER/REPO:pull_request`; otherwise the ref,
//! `repo:OWNER/REPO:ref:refs/heads/BRANCH` or `…:ref:refs/tags/TAG`.
//! Repositories created after 15 July 2026, or opted in, use the immutable
//! format `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` (GitHub changelog
//! 2026-04-23; terraform-aws-modules/terraform-aws-iam#659). An
//! organisation or repository may replace the template with its own list of
//! claim keys (`include_claim_keys`), which `--oidc-sub-claim-keys` gives.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The issuer's host, which is also the prefix of the condition keys AWS
/// gives a trust policy (`token.actions.githubusercontent.com:sub`).
pub const ISSUER_HOST: &str = "token.actions.githubusercontent.com";

/// The audience `aws-actions/configure-aws-credentials` asks for by default.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// The largest token read; the OIDC endpoint's whole answer is capped at
/// 64 KiB already ([`crate::github::oidc::MAX_ANSWER_BYTES`]).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Where the claims come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimsOrigin {
    /// Decoded from the job's own OIDC token: what STS will see.
    Token,
    /// Predicted from the GitHub context: what STS would see, as far as the
    /// context tells.
    Predicted,
}

/// The claims of a job that a trust policy can test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Decoded or predicted.
    pub origin: ClaimsOrigin,
    /// The subject, when known. A prediction leaves it empty when a part of
    /// it cannot be known before the job runs (an `environment:` given by an
    /// expression); [`Claims::unknown`] says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// For a prediction of a repository whose ids are known: the subject in
    /// the other format (immutable when `sub` is the legacy one). Which one
    /// the repository uses depends on when it was created and on its settings,
    /// which the context does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_alternative: Option<String>,
    /// The audience(s).
    pub aud: Vec<String>,
    /// `OWNER/REPO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The git ref of the run, such as `refs/heads/main`.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The job's environment, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The workflow file and ref of the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_workflow_ref: Option<String>,
    /// The event that started the run, such as `pull_request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// `public`, `private` or `internal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_visibility: Option<String>,
    /// What a prediction could not know, one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl Claims {
    /// The subjects this job may present: the one, or for a prediction
    /// both formats when the repository's ids are known.
    pub fn subjects(&self) -> Vec<&str> {
        self.sub
            .iter()
            .chain(self.sub_alternative.iter())
            .map(String::as_str)
            .collect()
    }
}

/// Why a token's claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// Not three dot-separated parts.
    #[error("the OIDC token is not a JSON Web Token (expected three parts separated by dots)")]
    NotAJwt,
    /// Over [`MAX_TOKEN_BYTES`].
    #[error("the OIDC token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    /// The payload is not base64url.
    #[error("the OIDC token's payload is not base64url")]
    NotBase64,
    /// The payload is not the JSON object of claims.
    #[error("the OIDC token's payload is not a JSON object of claims: {0}")]
    NotJson(String),
}

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Payload {
    sub: Option<String>,
    aud: Option<Audience>,
    repository: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    environment: Option<String>,
    job_workflow_ref: Option<String>,
    event_name: Option<String>,
    repository_visibility: Option<String>,
}

/// The claims of a GitHub OIDC token, read without verifying its signature:
/// STS verifies it; the tool only needs to see what the job presents. The
/// token itself is a secret (masked when fetched) and is never kept here.
pub fn from_token(token: &str) -> Result<Claims, ClaimsError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ClaimsError::TooLong);
    }
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotAJwt);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::NotBase64)?;
    let payload: Payload =
        serde_json::from_slice(&bytes).map_err(|e| ClaimsError::NotJson(e.to_string()))?;
    Ok(Claims {
        origin: ClaimsOrigin::Token,
        sub: payload.sub,
        sub_alternative: None,
        aud: match payload.aud {
            None => Vec::new(),
            Some(Audience::One(one)) => vec![one],
            Some(Audience::Many(many)) => many,
        },
        repository: payload.repository,
        git_ref: payload.git_ref,
        environment: payload.environment,
        job_workflow_ref: payload.job_workflow_ref,
        event_name: payload.event_name,
        repository_visibility: payload.repository_visibility,
        unknown: Vec::new(),
    })
}

/// The job's `environment:`, as its workflow file says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum JobEnvironment {
    /// The job has none.
    #[default]
    None,
    /// The job names this environment.
    Named(String),
    /// It cannot be known before the run: why (an expression, an unreadable
    /// workflow file).
    Unknown(String),
}

/// What the GitHub context says about the run, for a prediction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GithubContext {
    /// `GITHUB_REPOSITORY`: `OWNER/REPO`.
    pub repository: String,
    /// `GITHUB_REPOSITORY_OWNER_ID` and `GITHUB_REPOSITORY_ID`, when set.
    pub ids: Option<(String, String)>,
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
    /// `GITHUB_REF`.
    pub git_ref: Option<String>,
    /// The job's `environment:`.
    pub environment: JobEnvironment,
    /// `GITHUB_WORKFLOW_REF`: `OWNER/REPO/.github/workflows/F.yml@REF`.
    pub workflow_ref: Option<String>,
    /// `repository.visibility` of the event, when the event file says it.
    pub repository_visibility: Option<String>,
    /// The audience asked for (`--audience`).
    pub audience: String,
    /// A customised subject template: GitHub's `include_claim_keys`.
    pub claim_keys: Option<Vec<String>>,
}

/// Events whose runs present the `pull_request` context. GitHub documents
/// it for `pull_request`; `pull_request_review` and
/// `pull_request_review_comment` run in the same merge-ref context
/// (configure-aws-credentials#443 shows a branch-only policy refusing them).
/// `pull_request_target` runs in the base branch's context and presents the
/// base ref (inference from its `GITHUB_REF`; not confirmed by GitHub's docs).
const PULL_REQUEST_EVENTS: &[&str] = &[
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
];

/// The claims this run will present, as far as the context tells.
pub fn predict(context: &GithubContext) -> Claims {
    let mut unknown = Vec::new();
    let pull_request = context
        .event_name
        .as_deref()
        .is_some_and(|event| PULL_REQUEST_EVENTS.contains(&event));
    let environment = match &context.environment {
        JobEnvironment::None => None,
        JobEnvironment::Named(name) => Some(name.clone()),
        JobEnvironment::Unknown(why) => {
            unknown.push(format!("the job's environment: {why}"));
            None
        }
    };
    // `context` in GitHub's template: the environment wins over the pull
    // request, which wins over the ref.
    let subject_context = if let Some(name) = &environment {
        Some(format!("environment:{name}"))
    } else if matches!(context.environment, JobEnvironment::Unknown(_)) {
        None
    } else if pull_request {
        Some("pull_request".to_string())
    } else if let Some(git_ref) = &context.git_ref {
        Some(format!("ref:{git_ref}"))
    } else {
        unknown.push("the run's ref (GITHUB_REF is not set)".to_string());
        None
    };
    let job_workflow_ref = context.workflow_ref.clone();
    let subject = |repo: &str| -> Option<String> {
        match &context.claim_keys {
            None => subject_context
                .as_ref()
                .map(|ctx| format!("repo:{repo}:{ctx}")),
            Some(keys) => {
                let mut parts = Vec::with_capacity(keys.len());
                for key in keys {
                    let value = match key.as_str() {
                        "repo" => Some(repo.to_string()),
                        "context" => {
                            parts.push(subject_context.clone()?);
                            continue;
                        }
                        "repository" => Some(context.repository.clone()),
                        "repository_owner" => context
                            .repository
                            .split_once('/')
                            .map(|(owner, _)| owner.to_string()),
                        "ref" => context.git_ref.clone(),
                        "environment" => environment.clone(),
                        "event_name" => context.event_name.clone(),
                        "job_workflow_ref" | "workflow_ref" => job_workflow_ref.clone(),
                        "repository_visibility" => context.repository_visibility.clone(),
                        "repository_owner_id" => {
                            context.ids.as_ref().map(|(owner, _)| owner.clone())
                        }
                        "repository_id" => context.ids.as_ref().map(|(_, repo)| repo.clone()),
                        _ => None,
                    }?;
                    parts.push(format!("{key}:{value}"));
                }
                Some(parts.join(":"))
            }
        }
    };
    let sub = subject(&context.repository);
    if sub.is_none() && context.claim_keys.is_some() {
        unknown.push(format!(
            "a value of the subject's claim keys ({})",
            context.claim_keys.as_deref().unwrap_or_default().join(", ")
        ));
    }
    let sub_alternative = context.ids.as_ref().and_then(|(owner_id, repo_id)| {
        let (owner, repo) = context.repository.split_once('/')?;
        let uses_repo = context
            .claim_keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == "repo"));
        uses_repo
            .then(|| subject(&format!("{owner}@{owner_id}/{repo}@{repo_id}")))
            .flatten()
    });
    Claims {
        origin: ClaimsOrigin::Predicted,
        sub,
        sub_alternative,
        aud: vec![context.audience.clone()],
        repository: Some(context.repository.clone()),
        git_ref: context.git_ref.clone(),
        environment,
        job_workflow_ref,
        event_name: context.event_name.clone(),
        repository_visibility: context.repository_visibility.clone(),
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(event: &str, git_ref: &str) -> GithubContext {
        GithubContext {
            repository: "acme/shop".to_string(),
            event_name: Some(event.to_string()),
            git_ref: Some(git_ref.to_string()),
            audience: DEFAULT_AUDIENCE.to_string(),
            ..GithubContext::default()
        }
    }

    fn jwt(payload: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2lnbmF0dXJl",
            engine.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            engine.encode(payload)
        )
    }

    #[test]
    fn a_push_to_a_branch_presents_its_ref() {
        let claims = predict(&context("push", "refs/heads/main"));
        assert_eq!(
            claims.sub.as_deref(),
            Some("repo:acme/shop:ref:refs/heads/main")
        );
        assert_eq!(claims.aud, vec!["sts.amazonaws.com"]);
        assert_eq!(claims.origin, ClaimsOrigin::Predicted);
    }

    #[test]
    fn a_pull_request_run_presents_pull_request() {
        let claims = predict(&context("pull_request", "refs/pull/7/merge"));
        assert_eq!(claims.sub.as_deref(), Some("repo:acme/shop:pull_request"));
    }

    #[test]
    fn an_environment_wins_over_the_pull_request_and_the_ref() {
        let mut ctx = context("pull_request", "refs/pull/7/merge");
        ctx.environment = JobEnvironment::Named("production".to_string());
        let claims = predict(&ctx);
        assert_eq!(
            claims.sub.as_deref(),
            Some("repo:acme/shop:environment:production")
        );
    }

    #[test]
    fn a_tag_presents_its_ref() {
        let claims = predict(&context("push", "refs/tags/v1.2.0"));
        assert_eq!(
            claims.sub.as_deref(),
            Some("repo:acme/shop:ref:refs/tags/v1.2.0")
        );
    }

    #[test]
    fn an_environment_given_by_an_expression_leaves_the_subject_unknown() {
        let mut ctx = context("push", "refs/heads/main");
        ctx.environment = JobEnvironment::Unknown("`${{ inputs.env }}` is an expression".into());
        let claims = predict(&ctx);
        assert_eq!(claims.sub, None);
        assert!(
            claims.unknown[0].contains("expression"),
            "{:?}",
            claims.unknown
        );
    }

    #[test]
    fn a_customised_template_joins_its_keys_in_order() {
        let mut ctx = context("push", "refs/heads/main");
        ctx.workflow_ref = Some("acme/shop/.github/workflows/ci.yml@refs/heads/main".into());
        ctx.claim_keys = Some(vec![
            "repo".into(),
            "context".into(),
            "job_workflow_ref".into(),
        ]);
        let claims = predict(&ctx);
        assert_eq!(
            claims.sub.as_deref(),
            Some(
                "repo:acme/shop:ref:refs/heads/main:job_workflow_ref:acme/shop/.github/workflows/ci.yml@refs/heads/main"
            )
        );
    }

    #[test]
    fn known_ids_give_the_immutable_subject_as_the_alternative() {
        let mut ctx = context("push", "refs/heads/main");
        ctx.ids = Some(("123456".into(), "456789".into()));
        let claims = predict(&ctx);
        assert_eq!(
            claims.sub_alternative.as_deref(),
            Some("repo:acme@123456/shop@456789:ref:refs/heads/main")
        );
        assert_eq!(claims.subjects().len(), 2);
    }

    #[test]
    fn a_token_is_read_without_its_signature() {
        let token = jwt(
            r#"{"sub":"repo:acme/shop:environment:prod","aud":"sts.amazonaws.com","ref":"refs/heads/main","environment":"prod","event_name":"push","repository":"acme/shop"}"#,
        );
        let claims = from_token(&token).expect("claims");
        assert_eq!(claims.origin, ClaimsOrigin::Token);
        assert_eq!(
            claims.sub.as_deref(),
            Some("repo:acme/shop:environment:prod")
        );
        assert_eq!(claims.aud, vec!["sts.amazonaws.com"]);
        assert_eq!(claims.environment.as_deref(), Some("prod"));
        assert_eq!(claims.git_ref.as_deref(), Some("refs/heads/main"));
    }

    #[test]
    fn an_audience_list_is_read() {
        let claims = from_token(&jwt(r#"{"aud":["a","b"]}"#)).expect("claims");
        assert_eq!(claims.aud, vec!["a", "b"]);
    }

    #[test]
    fn what_is_not_a_token_is_refused() {
        assert_eq!(from_token("abc"), Err(ClaimsError::NotAJwt));
        assert_eq!(from_token("a.b.c.d"), Err(ClaimsError::NotAJwt));
        assert_eq!(from_token("a.!!!.c"), Err(ClaimsError::NotBase64));
        assert!(matches!(
            from_token(&jwt("[1]")),
            Err(ClaimsError::NotJson(_))
        ));
        assert_eq!(
            from_token(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(ClaimsError::TooLong)
        );
    }
}
