//! The two ECR API calls the push probe makes through the SDK:
//! `GetAuthorizationToken` before the replay and `BatchDeleteImage` after it.
//! Both are recorded in the trace like registry requests.

use std::time::{Duration, Instant};

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::ImageIdentifier;
use secrecy::SecretString;

use super::denial::RegistryError;
use super::exchange::{Exchange, Recorder, TransportError, TransportErrorKind};
use super::facts::DeleteOutcome;
use super::steps::Step;
use crate::aws::repository::Repository;
use crate::deadline;
use crate::github;

/// How long one attempt of an ECR API call (`GetAuthorizationToken`) may
/// take, at most: shorter than [`deadline::ATTEMPT`], because a stalled
/// token answer should leave the run time to report.
const ECR_API_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ECR API call may take with its retries, at most.
const ECR_API_TIMEOUT: Duration = Duration::from_secs(30);

/// The ECR client of the push probe, in the repository's region: ECR lives
/// there, whatever the default region is. A stalled answer ends as a
/// timeout (exit 3) instead of hanging the job.
pub fn client(config: &aws_config::SdkConfig, region: &str) -> aws_sdk_ecr::Client {
    let ecr_config = aws_sdk_ecr::config::Builder::from(config)
        .region(aws_sdk_ecr::config::Region::new(region.to_string()))
        .timeout_config(
            aws_sdk_ecr::config::timeout::TimeoutConfig::builder()
                .connect_timeout(deadline::bounded(deadline::CONNECT))
                .operation_attempt_timeout(deadline::bounded(ECR_API_ATTEMPT_TIMEOUT))
                .operation_timeout(deadline::bounded(ECR_API_TIMEOUT))
                .build(),
        )
        .build();
    aws_sdk_ecr::Client::from_conf(ecr_config)
}

/// A registry password from `GetAuthorizationToken`, already masked.
pub struct AuthorizationToken {
    /// The password of `AWS:<password>`.
    pub password: SecretString,
    /// The registry URL the token is for.
    pub proxy_endpoint: Option<String>,
}

/// Calls `GetAuthorizationToken` for `registry_id`; records the call. `None`
/// when it failed (the failure is in the recorded exchange). An answer that
/// arrived but cannot be used (cut off, not parseable, no token of the form
/// base64(`AWS:<password>`)) is recorded as unusable, never as a 200.
pub async fn authorization_token(
    client: &aws_sdk_ecr::Client,
    repository: &Repository,
    recorder: &Recorder,
    depth: u32,
) -> Option<AuthorizationToken> {
    use base64::Engine as _;
    let mut exchange = Exchange::new(
        Step::AuthorizationToken,
        "API",
        "ecr:GetAuthorizationToken",
        &repository.name,
        depth,
    );
    let sent = Instant::now();
    #[allow(deprecated)]
    // registryIds is deprecated but still the way to pick another account's registry.
    let result = client
        .get_authorization_token()
        .registry_ids(&repository.registry_id)
        .send()
        .await;
    exchange.ms = sent.elapsed().as_millis() as u64;
    let token = match result {
        Ok(out) => {
            let data = out.authorization_data().first();
            let decoded = data
                .and_then(|d| d.authorization_token())
                .inspect(|raw| github::mask(raw))
                .and_then(|raw| base64::engine::general_purpose::STANDARD.decode(raw).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some((_, password)) if !password.is_empty() => {
                    exchange.status = Some(200);
                    github::mask(password);
                    Some(AuthorizationToken {
                        password: SecretString::from(password.to_string()),
                        proxy_endpoint: data.and_then(|d| d.proxy_endpoint()).map(str::to_string),
                    })
                }
                _ => {
                    exchange.unusable = Some(
                        if data.is_none() {
                            "HTTP 200 without authorizationData"
                        } else {
                            "HTTP 200 without a token of the form base64(AWS:<password>)"
                        }
                        .into(),
                    );
                    None
                }
            }
        }
        Err(e) => {
            record_error(&mut exchange, &e);
            None
        }
    };
    recorder.record(sent, exchange);
    token
}

/// Deletes the given manifests, the index first. A child still referenced by
/// an index (`ImageReferencedByManifestList`) is retried once after the index is gone.
pub async fn delete_images(
    client: &aws_sdk_ecr::Client,
    repository: &Repository,
    digests: &[String],
    recorder: &Recorder,
    depth: u32,
) -> DeleteOutcome {
    let mut outcome = DeleteOutcome::default();
    let mut pending = digests.to_vec();
    for attempt in 0..2 {
        let mut exchange = Exchange::new(
            Step::Cleanup,
            "API",
            "ecr:BatchDeleteImage",
            &repository.name,
            depth + attempt,
        );
        let sent = Instant::now();
        let ids: Vec<ImageIdentifier> = pending
            .iter()
            .map(|d| ImageIdentifier::builder().image_digest(d).build())
            .collect();
        let result = client
            .batch_delete_image()
            .registry_id(&repository.registry_id)
            .repository_name(&repository.name)
            .set_image_ids(Some(ids))
            // The cleanup may run after the deadline (the run was cut short):
            // its own limits, within the cleanup window, not the client's.
            .customize()
            .config_override(
                aws_sdk_ecr::config::Builder::default().timeout_config(
                    aws_sdk_ecr::config::timeout::TimeoutConfig::builder()
                        .connect_timeout(deadline::bounded_for_cleanup(deadline::CONNECT))
                        .operation_attempt_timeout(deadline::bounded_for_cleanup(deadline::ATTEMPT))
                        .operation_timeout(deadline::bounded_for_cleanup(deadline::OPERATION))
                        .build(),
                ),
            )
            .send()
            .await;
        exchange.ms = sent.elapsed().as_millis() as u64;
        let mut retry = Vec::new();
        match result {
            Ok(out) => {
                exchange.status = Some(200);
                outcome.deleted.extend(
                    out.image_ids()
                        .iter()
                        .filter_map(|i| i.image_digest().map(str::to_string)),
                );
                for f in out.failures() {
                    let digest = f
                        .image_id()
                        .and_then(|i| i.image_digest())
                        .unwrap_or_default()
                        .to_string();
                    let code = f
                        .failure_code()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default();
                    if code == "ImageReferencedByManifestList" && attempt == 0 {
                        retry.push(digest);
                    } else {
                        outcome.failures.push((
                            digest,
                            code,
                            f.failure_reason().unwrap_or_default().to_string(),
                        ));
                    }
                }
            }
            Err(e) => {
                record_error(&mut exchange, &e);
                outcome.call_failed = true;
            }
        }
        recorder.record(sent, exchange);
        if retry.is_empty() || outcome.call_failed {
            break;
        }
        pending = retry;
    }
    outcome
}

/// What `ecr:GetRepositoryPolicy` answered for a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryPolicy {
    /// The policy's text (empty when the answer carried none).
    Text(String),
    /// The repository has no policy (`RepositoryPolicyNotFoundException`).
    NotSet,
    /// The repository does not exist (`RepositoryNotFoundException`).
    RepositoryNotFound,
    /// The call failed: the error's code and message.
    Failed(String),
}

/// Reads a repository's policy, in the repository's region, for the
/// read-only audit.
pub async fn repository_policy(
    config: &aws_config::SdkConfig,
    repository: &Repository,
) -> RepositoryPolicy {
    let ecr_config = aws_sdk_ecr::config::Builder::from(config)
        .region(aws_sdk_ecr::config::Region::new(repository.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(ecr_config);
    match ecr
        .get_repository_policy()
        .registry_id(&repository.registry_id)
        .repository_name(&repository.name)
        .send()
        .await
    {
        Ok(out) => RepositoryPolicy::Text(out.policy_text().unwrap_or_default().to_string()),
        Err(e) if e.code() == Some("RepositoryPolicyNotFoundException") => RepositoryPolicy::NotSet,
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {
            RepositoryPolicy::RepositoryNotFound
        }
        Err(e) => RepositoryPolicy::Failed(error_text(&e)),
    }
}

/// Names of the caller's repositories (in the default region) starting with
/// `prefix`, from `ecr:DescribeRepositories`, every page, and why the listing
/// was cut short when it was (its next token repeated, or it went past
/// [`crate::limits::MAX_PAGES`]).
pub async fn list_repositories(
    config: &aws_config::SdkConfig,
    prefix: &str,
) -> Result<(Vec<String>, Option<crate::limits::Cut>), String> {
    let ecr = aws_sdk_ecr::Client::new(config);
    let mut pages = ecr.describe_repositories().into_paginator().send();
    let mut names = Vec::new();
    let mut counted = crate::limits::Pages::default();
    let mut cut = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| error_text(&e))?;
        if let Err(c) = counted.page(page.next_token()) {
            cut = Some(c);
        }
        names.extend(
            page.repositories()
                .iter()
                .filter_map(|r| r.repository_name())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string),
        );
        if cut.is_some() {
            break;
        }
    }
    names.sort();
    names.dedup();
    Ok((names, cut))
}

/// An ECR error as `code: message`, else its text.
fn error_text<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => crate::aws::describe_error(e),
    }
}

/// Records a failed API call: no answer (a transport error), an answer that
/// could not be used (a success status whose body was cut off or not
/// parseable: unusable, with no status, because it verified nothing), or
/// the service's error with its status.
fn record_error<E>(exchange: &mut Exchange, e: &SdkError<E, HttpResponse>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e {
        SdkError::DispatchFailure(failure) => {
            let detail = crate::aws::describe_error(e);
            let kind = TransportErrorKind::classify(failure.is_timeout(), failure.is_io(), &detail);
            exchange.transport_error = Some(TransportError { kind, detail });
        }
        SdkError::TimeoutError(_) => {
            exchange.transport_error = Some(TransportError {
                kind: TransportErrorKind::Timeout,
                detail: crate::aws::describe_error(e),
            });
        }
        SdkError::ConstructionFailure(_) => {
            exchange.transport_error = Some(TransportError {
                kind: TransportErrorKind::Other,
                detail: crate::aws::describe_error(e),
            });
        }
        _ if status.is_none_or(|s| (200..300).contains(&s)) => {
            let what = status.map_or("an answer".to_string(), |s| format!("HTTP {s}"));
            exchange.unusable = Some(format!(
                "{what} that could not be used: {}",
                crate::aws::describe_error(e)
            ));
        }
        _ => {
            exchange.status = status;
            exchange.error = Some(RegistryError {
                code: e.code().unwrap_or("Unknown").to_string(),
                message: e
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| crate::aws::describe_error(e)),
            });
        }
    }
}

/// The target as `ecr:DescribeRepositories` describes it: whether it
/// exists, and its tag mutability and exclusion filters.
pub async fn repository_lookup(
    ecr: &aws_sdk_ecr::Client,
    repository: &Repository,
) -> super::facts::RepositoryLookup {
    use super::facts::RepositoryLookup;
    let out = match ecr
        .describe_repositories()
        .registry_id(&repository.registry_id)
        .repository_names(&repository.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {
            return RepositoryLookup::Missing;
        }
        Err(e) => return RepositoryLookup::Unknown(error_text(&e)),
    };
    let Some(repo) = out.repositories().first() else {
        return RepositoryLookup::Unknown(
            "DescribeRepositories answered without the repository".into(),
        );
    };
    RepositoryLookup::Exists(crate::build::facts::TagMutability {
        mode: repo
            .image_tag_mutability()
            .map_or("MUTABLE", |m| m.as_str())
            .to_string(),
        filters: repo
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_string())
            .collect(),
    })
}

/// The registry's repository creation templates; why not, when they could
/// not be read.
pub async fn creation_templates(
    ecr: &aws_sdk_ecr::Client,
) -> Result<Vec<super::facts::CreationTemplate>, String> {
    let out = ecr
        .describe_repository_creation_templates()
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    Ok(out
        .repository_creation_templates()
        .iter()
        .map(|t| super::facts::CreationTemplate {
            prefix: t.prefix().unwrap_or_default().to_string(),
            applied_for: t
                .applied_for()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            image_tag_mutability: t.image_tag_mutability().map(|m| m.as_str().to_string()),
            has_repository_policy: t.repository_policy().is_some_and(|p| !p.is_empty()),
            encryption: t
                .encryption_configuration()
                .map(|e| e.encryption_type().as_str().to_string()),
        })
        .collect())
}

/// The registry's `BLOB_MOUNTING` account setting (`ecr:GetAccountSetting`):
/// `None` when it could not be read.
pub async fn blob_mounting(ecr: &aws_sdk_ecr::Client) -> Option<bool> {
    let out = ecr
        .get_account_setting()
        .name("BLOB_MOUNTING")
        .send()
        .await
        .ok()?;
    out.value().map(|v| v.eq_ignore_ascii_case("ENABLED"))
}
