//! Judging the probe's record: pure functions from [`ProbeFacts`] to findings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::denial::{self, Denial, DenialReason};
use super::exchange::{Exchange, TransportErrorKind, quote_untrusted};
use super::facts::{MAX_ATTEMPTS, ProbeFacts};
use super::steps::Step;
use crate::aws::repository::Repository;
use crate::report::{Finding, Fix, Severity};
use crate::rules;

mod denials;
mod faults;

pub use denials::fix_for;
use denials::*;
use faults::*;

/// What diagnosis needs besides the facts.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The target repository.
    pub repository: &'a Repository,
    /// The `--mount-from` repository, resolved.
    pub mount_source: Option<&'a Repository>,
    /// The caller's ARN, when known.
    pub principal: Option<&'a str>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--read-tag`.
    pub read_tag: Option<&'a str>,
}

/// Every finding the probe's record supports.
pub fn diagnose(facts: &ProbeFacts, ctx: &Context<'_>) -> Vec<Finding> {
    let x = &facts.exchanges;
    let mut findings = Vec::new();
    let mut explained = vec![false; x.len()];

    findings.extend(denials(x, ctx, &mut explained));
    findings.extend(transient_faults(x, &mut explained));
    findings.extend(other_failures(x, ctx, &mut explained));
    findings.extend(unusable_tokens(x, ctx, &mut explained));
    findings.extend(redirects(x, ctx, &mut explained));
    findings.extend(refusals(x, ctx, &mut explained));
    findings.extend(invalid_digests(x, ctx));
    findings.extend(oversized_bodies(x, ctx, &mut explained));
    findings.extend(dry_run(facts, ctx, &mut explained));
    findings.extend(cache_exports(x, ctx, &mut explained));
    let primary_failure = explained.iter().any(|e| *e) || facts.unreachable;
    findings.extend(unexplained(x, &explained, primary_failure));
    findings.extend(layer_downloads(x));
    findings.extend(digest_mismatches(x));
    findings.extend(cleanup(facts, ctx));

    if facts.lookup == super::facts::RepositoryLookup::Missing
        && !findings
            .iter()
            .any(|f| f.rule == rules::PUSH_REPOSITORY_NOT_FOUND.id)
    {
        findings.push(repository_not_found(
            ctx.repository,
            "`ecr:DescribeRepositories` answered `RepositoryNotFoundException`, so the probe wrote nothing",
        ));
        return findings;
    }
    if facts.tag_existed {
        findings.push(rules::PUSH_UNEXPECTED_RESPONSE.finding(
            "The probe's throwaway tag already existed",
            format!(
                "The tag `{}` already existed in {}, so the probe pushed no index to it: it never overwrites a tag. Run again.",
                facts.tag.as_deref().unwrap_or(""),
                ctx.repository.name
            ),
        ));
    }
    if facts.unreachable
        && !findings
            .iter()
            .any(|f| f.rule == rules::PUSH_REGISTRY_UNREACHABLE.id)
    {
        // The probe stopped early with no transport error on record (its HTTP
        // client could not be set up): still not a pass.
        findings.push(
            rules::PUSH_REGISTRY_UNREACHABLE
                .finding(
                    "The registry was not reached",
                    format!(
                        "The probe stopped before the registry of {} answered, and no request says why (see the log): nothing after `ecr:GetAuthorizationToken` was verified.",
                        ctx.repository.name
                    ),
                )
                .with_resources([ctx.repository.arn()]),
        );
    }
    if !facts.unreachable {
        if !ctx.dry_run {
            let mut expected = super::steps::buildx_push_actions();
            expected.insert(0, "ecr:GetAuthorizationToken");
            findings.extend(not_verified(x, ctx, &expected));
        } else if ctx.read_tag.is_some()
            && facts.token_obtained
            && !findings
                .iter()
                .any(|f| f.rule == rules::PUSH_READ_TAG_NOT_FOUND.id)
        {
            // The dry run's verdict depends on its reads: a manifest without
            // layers, or an answer that was not used, leaves them unverified.
            findings.extend(not_verified(x, ctx, &DRY_RUN_READ_ACTIONS));
        }
    }
    findings
}

/// A cache export the registry refused without an IAM denial: ECR takes a
/// cache as an image manifest (`image-manifest=true`), not as BuildKit's
/// default index of layers (moby/buildkit#699, #1143).
fn cache_exports(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, e) in x.iter().enumerate() {
        let refused = e.step == Step::CacheExport
            && e.status.is_some_and(|s| (400..500).contains(&s))
            && !is_denial(e);
        if !refused || explained[i] {
            continue;
        }
        explained[i] = true;
        let repository = Repository {
            name: e.repository.clone(),
            ..ctx.repository.clone()
        };
        let answer = e.error.as_ref().map_or_else(
            || format!("HTTP {}", e.status.unwrap_or(0)),
            |er| {
                format!(
                    "HTTP {} {}: {}",
                    e.status.unwrap_or(0),
                    er.code,
                    quote_untrusted(&er.message)
                )
            },
        );
        findings.push(
            crate::build::rules::CACHE_EXPORT_FORMAT
                .finding(
                    format!("The registry refused the cache export to {}", repository.name),
                    format!(
                        "The probe exported a registry cache to {} in the form the build's `cache-to` produces, and the registry answered {answer}.",
                        repository.name
                    ),
                )
                .with_resources([repository.arn()]),
        );
    }
    findings
}

/// What a dry run with `--read-tag` verifies.
const DRY_RUN_READ_ACTIONS: [&str; 3] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

/// `GetAuthorizationToken` answers that arrived but could not be used.
fn unusable_tokens(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, e) in x.iter().enumerate() {
        let Some(why) = &e.unusable else { continue };
        explained[i] = true;
        if e.step != Step::AuthorizationToken || !findings.is_empty() {
            continue; // an unusable cleanup answer is judged by `cleanup`
        }
        findings.push(
            rules::PUSH_TOKEN_UNUSABLE
                .finding(
                    "GetAuthorizationToken answered, but not usably",
                    format!(
                        "`ecr:GetAuthorizationToken` for registry {} was answered, but the answer could not be used: {why}. Without a registry password no registry request was sent, so no push or read action was verified.",
                        ctx.repository.registry_id
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_TOKEN_UNUSABLE.fix.into(),
                    ..Fix::default()
                }),
        );
    }
    findings
}

/// Redirects ECR does not send: every 3xx but the layer read's 307 to the
/// layer store. One finding per step, status and target origin.
fn redirects(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, e) in x.iter().enumerate() {
        let Some(status) = e.status.filter(|s| (300..400).contains(s)) else {
            continue;
        };
        if e.is_layer_store_redirect() || e.error_body_for.is_some() {
            continue;
        }
        explained[i] = true;
        let location = e.location.as_deref().unwrap_or("no usable Location");
        let host = url::Url::parse(location)
            .ok()
            .map_or_else(|| location.to_string(), |u| super::exchange::origin_of(&u));
        if !seen.insert((e.step, status, host.clone())) {
            continue;
        }
        let expected = match e.step {
            Step::LayerDownload => {
                "The layer store answered the download of a layer read with another redirect (a loop, or not ECR's layer store)."
            }
            Step::LayerRead => {
                "ECR answers a layer read with 200 or with a 307 to its layer store, nothing else."
            }
            _ => "ECR answers this request itself, without a redirect.",
        };
        let actions = e.step.info().iam_actions;
        let unverified = if actions.is_empty() {
            "the download was not verified".to_string()
        } else {
            format!(
                "{} was not verified",
                actions
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        };
        findings.push(
            rules::PUSH_UNEXPECTED_REDIRECT
                .finding(
                    format!("{} {} answered {status}: redirected to {host}", e.method, e.step.name()),
                    format!(
                        "`{} {}` answered HTTP {status} with Location {}. {expected} A redirect is not an answer: {unverified}, and the probe did not follow it.",
                        e.method,
                        e.path,
                        quote_untrusted(location),
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_UNEXPECTED_REDIRECT.fix.into(),
                    ..Fix::default()
                }),
        );
    }
    findings
}

/// Requests the registry client refused to send: a `Location` off the
/// registry's origin for a request with its credentials, or down to http.
fn refusals(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, e) in x.iter().enumerate() {
        let Some(why) = &e.refused else { continue };
        explained[i] = true;
        if !seen.insert((e.step, why.clone())) {
            continue;
        }
        let consequence = match e.step {
            Step::BlobUploadComplete => {
                "The blob was not uploaded, so `ecr:UploadLayerPart` and `ecr:CompleteLayerUpload` were not verified. ECR's upload Locations stay on the registry host."
            }
            Step::LayerDownload => {
                "The layer was not downloaded, so the layer read was not verified. ECR's layer store is https."
            }
            _ => "What the request exercises was not verified.",
        };
        findings.push(
            rules::PUSH_LOCATION_REFUSED
                .finding(
                    format!("{} {} not sent: the registry pointed it elsewhere", e.method, e.step.name()),
                    format!(
                        "The registry's answer pointed `{} {}` elsewhere, and the probe did not send it: {why}. {consequence}",
                        e.method, e.path
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_LOCATION_REFUSED.fix.into(),
                    ..Fix::default()
                }),
        );
    }
    findings
}

/// Digests in the registry's answers that are not digests; none of them was
/// put into a request.
fn invalid_digests(x: &[Exchange], ctx: &Context<'_>) -> Vec<Finding> {
    x.iter()
        .filter_map(|e| e.invalid_digest.as_ref().map(|d| (e, d)))
        .map(|(e, d)| {
            rules::PUSH_INVALID_DIGEST
                .finding(
                    format!("{} {} answered an invalid digest", e.method, e.step.name()),
                    format!(
                        "`{} {}` answered a descriptor whose digest is {d}, which is not `sha256:` with 64 or `sha512:` with 128 lowercase hex digits. The probe did not put it into a request, so the read it leads to (`ecr:BatchGetImage`, `ecr:GetDownloadUrlForLayer`) was not verified.",
                        e.method, e.path
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_INVALID_DIGEST.fix.into(),
                    ..Fix::default()
                })
        })
        .collect()
}

/// Answers whose body went on past its limit: one finding per step and
/// limit, naming the endpoint. In a dry run, a successful read of an existing
/// image's layer cut at its limit still proves the read was allowed, so it
/// is not one.
fn oversized_bodies(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, e) in x.iter().enumerate() {
        let Some(limit) = e.body_over_limit else {
            continue;
        };
        if ctx.dry_run && matches!(e.step, Step::LayerRead | Step::LayerDownload) && e.succeeded() {
            continue;
        }
        explained[i] = true;
        if !seen.insert((e.step, limit)) {
            continue;
        }
        let status = e
            .status
            .map_or_else(String::new, |s| format!(" HTTP {s} with"));
        let size = crate::limits::size(limit as usize);
        findings.push(
            rules::PUSH_RESPONSE_TOO_LARGE
                .finding(
                    format!("{} {} answered more than {size}", e.method, e.step.name()),
                    format!(
                        "`{} {}` answered{status} a body longer than {size}, the limit for this answer; the probe read no further, so what the answer would have shown was not verified.",
                        e.method, e.path
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_RESPONSE_TOO_LARGE.fix.into(),
                    ..Fix::default()
                }),
        );
    }
    findings
}

/// Failures nothing else explains. Codes that only follow from an earlier
/// failure (a blob or manifest missing because its upload failed) are not
/// reported again.
fn unexplained(x: &[Exchange], explained: &[bool], primary_failure: bool) -> Vec<Finding> {
    let consequence = [
        "BLOB_UNKNOWN",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_UNKNOWN",
        "BLOB_UPLOAD_UNKNOWN",
    ];
    let mut findings = Vec::new();
    for (i, e) in x.iter().enumerate() {
        if explained[i]
            || e.error_body_for.is_some()
            || e.step == Step::LayerDownload
            || e.transport_error.is_some()
            // Judged by `cleanup`, through what it left behind.
            || e.is_cleanup_read_back()
        {
            continue;
        }
        let Some(status) = e.status else { continue };
        let normal = status < 300
            || (300..400).contains(&status) // judged by `redirects`
            || (status == 404
                && matches!(
                    e.step,
                    Step::BlobExists | Step::ManifestExists | Step::IndexExists | Step::CacheImport
                ))
            || (status == 404 && e.method == "HEAD" && primary_failure);
        let code = e.error.as_ref().map(|er| er.code.as_str()).unwrap_or("");
        if normal || (primary_failure && consequence.contains(&code)) {
            continue;
        }
        findings.push(
            rules::PUSH_UNEXPECTED_RESPONSE
                .finding(
                    format!("{} {} answered {status}", e.method, e.step.name()),
                    format!(
                        "`{} {}` answered HTTP {status}{}; buildx fails the push on it.",
                        e.method,
                        e.path,
                        e.error
                            .as_ref()
                            .map(|er| format!(" `{}`: {}", er.code, er.message))
                            .or_else(|| e.raw_error.as_ref().map(|r| format!(": {r}")))
                            .unwrap_or_default()
                    ),
                )
                .with_resources([e.repository.clone()]),
        );
    }
    findings
}

fn layer_downloads(x: &[Exchange]) -> Vec<Finding> {
    x.iter()
        .filter(|e| {
            e.step == Step::LayerDownload
                && (e.transport_error.is_some() || e.status.is_some_and(|s| s >= 400))
        })
        .take(1)
        .map(|e| {
            let detail = e
                .transport_error
                .as_ref()
                .map(|t| t.detail.clone())
                .or_else(|| e.error.as_ref().map(|er| format!("HTTP {}: {}: {}", e.status.unwrap_or(0), er.code, er.message)))
                .unwrap_or_else(|| format!("HTTP {}", e.status.unwrap_or(0)));
            rules::PUSH_LAYER_DOWNLOAD_FAILED
                .finding(
                    "The layer download from S3 failed",
                    format!("The registry redirected a layer read to `{}`, and that download failed: {detail}.", e.path),
                )
                .with_fix(Fix {
                    description: rules::PUSH_LAYER_DOWNLOAD_FAILED.fix.into(),
                    ..Fix::default()
                })
        })
        .collect()
}

fn digest_mismatches(x: &[Exchange]) -> Vec<Finding> {
    x.iter()
        .filter_map(|e| e.anomaly.as_ref().map(|a| (e, a)))
        .filter(|(_, a)| !a.is_empty())
        .map(|(e, a)| {
            rules::PUSH_DIGEST_MISMATCH.finding(
                format!("Digest mismatch on {} {}", e.method, e.step.name()),
                format!("`{} {}`: {a}.", e.method, e.path),
            )
        })
        .collect()
}

fn cleanup(facts: &ProbeFacts, ctx: &Context<'_>) -> Vec<Finding> {
    let Some(outcome) = &facts.cleanup else {
        return Vec::new();
    };
    // A denied delete is `push/cleanup-denied`'s; a denied read-back is not.
    let denied = facts
        .exchanges
        .iter()
        .any(|e| e.step == Step::Cleanup && !e.is_cleanup_read_back() && is_denial(e));
    if denied || facts.left_behind.is_empty() {
        return Vec::new();
    }
    let reasons: Vec<String> = outcome
        .failures
        .iter()
        .map(|(d, code, why)| format!("{d}: {code} {why}"))
        .collect();
    let mut by_repository: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (repository, digest) in &facts.left_behind {
        by_repository.entry(repository).or_default().push(digest);
    }
    by_repository
        .into_iter()
        .map(|(name, digests)| {
            let repository = Repository {
                name: name.to_string(),
                ..ctx.repository.clone()
            };
            rules::PUSH_CLEANUP_FAILED
                .finding(
                    "The probe's image was not fully deleted",
                    format!(
                        "These manifests of the probe (tag `{}`) may stay in {}: {}. A read-back did not confirm they are gone.{}",
                        facts.tag.as_deref().unwrap_or(""),
                        repository.name,
                        digests.join(", "),
                        if reasons.is_empty() {
                            String::new()
                        } else {
                            format!(" ECR said: {}.", reasons.join("; "))
                        }
                    ),
                )
                .with_resources([repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_CLEANUP_FAILED.fix.into(),
                    aws_cli: Some(format!(
                        "aws ecr batch-delete-image --repository-name {} --image-ids {}",
                        repository.name,
                        digests
                            .iter()
                            .map(|d| format!("imageDigest={d}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                    ..Fix::default()
                })
        })
        .collect()
}

/// The dry run's own findings. A 404 for `--read-tag` is that finding's
/// evidence, not an unexpected answer.
fn dry_run(facts: &ProbeFacts, ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    if !ctx.dry_run || !facts.token_obtained || facts.unreachable {
        return Vec::new();
    }
    let Some(tag) = ctx.read_tag else {
        return vec![rules::PUSH_READS_SKIPPED.finding(
            "Dry run: only the authorization token was checked",
            "`--dry-run` without `--read-tag` pushes and reads nothing: only `ecr:GetAuthorizationToken` was verified.",
        )];
    };
    let tag_path = format!("/manifests/{tag}");
    let mut missing = false;
    for (i, e) in facts.exchanges.iter().enumerate() {
        if e.step == Step::ManifestRead
            && e.status == Some(404)
            && e.path.ends_with(&tag_path)
            && !explained[i]
        {
            explained[i] = true;
            missing |= e.method == "GET";
        }
    }
    if !missing {
        return Vec::new();
    }
    vec![
        rules::PUSH_READ_TAG_NOT_FOUND
            .finding(
                format!("Tag {tag} not found"),
                format!(
                    "`{}:{tag}` does not exist, so there was nothing to read: `ecr:BatchGetImage` is allowed, `ecr:GetDownloadUrlForLayer` is not verified.",
                    ctx.repository.name
                ),
            )
            .with_resources([ctx.repository.arn()]),
    ]
}

/// Actions of `expected` that no request reached IAM for. An answer proves
/// IAM looked only when it is not a redirect (bar ECR's layer-store 307), not
/// a 401, a 429 or a 5xx, and it arrived usably (a refused, unreachable or
/// unusable exchange has no status).
fn not_verified(x: &[Exchange], ctx: &Context<'_>, expected: &[&str]) -> Vec<Finding> {
    let mut reached: BTreeSet<String> = BTreeSet::new();
    for e in x {
        let Some(status) = e.status else { continue };
        if matches!(status, 401 | 429)
            || status >= 500
            || ((300..400).contains(&status) && !e.is_layer_store_redirect())
            || e.error_body_for.is_some()
        {
            continue;
        }
        let actions = e.step.info().iam_actions;
        let named = e
            .error
            .as_ref()
            .and_then(|er| denial::parse(&er.message).action);
        match named
            .as_deref()
            .and_then(|n| actions.iter().position(|a| *a == n))
        {
            // Denied for action k: the ones before it were allowed, the ones after never checked.
            Some(k) => reached.extend(actions[..=k].iter().map(|a| a.to_string())),
            None if status == 403 => {
                reached.extend(actions.first().map(|a| a.to_string()));
            }
            None => reached.extend(actions.iter().map(|a| a.to_string())),
        }
    }
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|a| !reached.contains(*a))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![rules::PUSH_NOT_VERIFIED
        .finding(
            format!("{} action(s) not verified", missing.len()),
            format!(
                "No request for these actions reached IAM on {}, because an earlier step failed or its answer could not be used: {}. They may be missing too, so the verdict cannot be `pass` until they are verified.",
                ctx.repository.name,
                missing.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            ),
        )
        .with_resources([ctx.repository.arn()])]
}

#[cfg(test)]
mod tests;
