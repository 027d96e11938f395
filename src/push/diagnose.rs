//! Judging the probe's record: pure functions from [`ProbeFacts`] to findings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::denial::{self, Denial, DenialReason};
use super::exchange::{Exchange, TransportErrorKind, quote_untrusted};
use super::probe::ProbeFacts;
use super::registry::MAX_ATTEMPTS;
use super::steps::Step;
use crate::aws::repository::Repository;
use crate::report::{Finding, Fix, Severity};
use crate::rules;

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
    let primary_failure = explained.iter().any(|e| *e) || facts.unreachable;
    findings.extend(unexplained(x, &explained, primary_failure));
    findings.extend(layer_downloads(x));
    findings.extend(digest_mismatches(x));
    findings.extend(cleanup(facts, ctx));

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

/// What a dry run with `--read-tag` verifies.
const DRY_RUN_READ_ACTIONS: [&str; 3] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

fn is_denial(e: &Exchange) -> bool {
    let code = e.error.as_ref().map(|e| e.code.as_str());
    let message = e.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
    match e.status {
        Some(403) if e.method == "HEAD" && e.error.is_none() && e.raw_error.is_none() => true,
        Some(403) => {
            code == Some("DENIED") && !is_quota(message)
                || denial::is_authorization_message(message)
        }
        _ => {
            code == Some("AccessDeniedException")
                || (e.method == "API" && denial::is_authorization_message(message))
        }
    }
}

fn is_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("service limit") || m.contains("quota") || m.contains("limit exceeded")
}

/// The default resource of a step when the message does not name one.
fn default_resource(e: &Exchange, ctx: &Context<'_>) -> String {
    match e.step {
        Step::AuthorizationToken => "*".into(),
        Step::BlobMount => ctx
            .mount_source
            .map(Repository::arn)
            .unwrap_or_else(|| ctx.repository.arn()),
        _ => ctx.repository.arn(),
    }
}

#[derive(Default)]
struct DenialGroup {
    requests: BTreeMap<String, usize>,
    steps: BTreeSet<Step>,
    reason: Option<DenialReason>,
    principal: Option<String>,
    policy_arn: Option<String>,
    notes: BTreeSet<String>,
}

fn denials(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, String), DenialGroup> = BTreeMap::new();
    for (i, e) in x.iter().enumerate() {
        if e.error_body_for.is_some() || e.is_cleanup_read_back() || !is_denial(e) {
            continue;
        }
        explained[i] = true;
        let step_action = e.step.primary_action().unwrap_or("ecr:*");
        let mut note = None;
        let parsed: Option<Denial> = match &e.error {
            Some(err) => Some(denial::parse(&err.message)),
            None => {
                // Bodiless 403 on HEAD: the follow-up GET carries the message, if it is about the same action.
                let body = x.iter().position(|g| g.error_body_for == Some(i));
                if let Some(g) = body {
                    explained[g] = true;
                }
                body.and_then(|g| x[g].error.as_ref()).map(|err| denial::parse(&err.message)).and_then(|d| {
                    if d.action.as_deref() == Some(step_action) {
                        Some(d)
                    } else {
                        if let Some(other) = &d.action {
                            note = Some(format!(
                                "The GET sent to read the error of the bodiless HEAD was denied for `{other}` instead, which says nothing about `{step_action}`."
                            ));
                        }
                        None
                    }
                })
            }
        };
        let action = parsed
            .as_ref()
            .and_then(|d| d.action.clone())
            .filter(|a| {
                e.step.info().iam_actions.contains(&a.as_str())
                    || e.step == Step::Cleanup
                    || e.method == "API"
            })
            .unwrap_or_else(|| step_action.to_string());
        let resource = parsed
            .as_ref()
            .and_then(|d| d.resource.clone())
            .unwrap_or_else(|| default_resource(e, ctx));
        let group = groups.entry((action, resource)).or_default();
        *group
            .requests
            .entry(format!("{} {}", e.method, e.path))
            .or_default() += 1;
        group.steps.insert(e.step);
        if let Some(d) = parsed {
            if d.reason != DenialReason::Unstated || group.reason.is_none() {
                group.reason = Some(d.reason);
            }
            group.principal = group.principal.take().or(d.principal);
            group.policy_arn = group.policy_arn.take().or(d.policy_arn);
        }
        if let Some(n) = note {
            group.notes.insert(n);
        }
    }

    groups
        .into_iter()
        .map(|((action, resource), g)| {
            let reason = g.reason.unwrap_or(DenialReason::Unstated);
            let reason_text = if g.reason.is_none() && g.requests.keys().all(|r| r.starts_with("HEAD ")) {
                "ECR answers a denied HEAD without a body, so the reason is not stated (most often no identity-based policy allows it)"
            } else {
                reason.describe()
            };
            let principal = g.principal.as_deref().or(ctx.principal);
            let cleanup = g.steps.contains(&Step::Cleanup);
            let rule = if cleanup { &rules::PUSH_CLEANUP_DENIED } else { &rules::PUSH_ACCESS_DENIED };
            let why: Vec<String> = g.steps.iter().map(|s| s.info().when.to_string()).collect();
            let mut requests: Vec<String> = g
                .requests
                .iter()
                .take(3)
                .map(|(r, n)| if *n > 1 { format!("{r} (×{n})") } else { r.clone() })
                .collect();
            if g.requests.len() > 3 {
                requests.push(format!("and {} more (see the trace)", g.requests.len() - 3));
            }
            let mut message = format!(
                "`{action}` is denied on `{resource}`: {reason_text}.{} buildx sends these requests for: {}. Denied: {}.",
                g.policy_arn.as_deref().map(|p| format!(" Policy: `{p}`.")).unwrap_or_default(),
                why.join("; "),
                requests.join(", "),
            );
            if let Some(p) = principal {
                message.push_str(&format!(" Principal: `{p}`."));
            }
            for n in &g.notes {
                message.push(' ');
                message.push_str(n);
            }
            let title = if cleanup {
                format!("{action} denied: the probe's image was not deleted")
            } else {
                format!("{action} denied on {}", short_resource(&resource))
            };
            rule.finding(title, message)
                .with_iam_action(&action)
                .with_resources([resource.clone()])
                .with_fix(fix_for(&action, &resource, reason, principal))
        })
        .collect()
}

fn short_resource(resource: &str) -> &str {
    resource
        .rsplit_once(":repository/")
        .map_or(resource, |(_, name)| name)
}

/// The role ARN behind an assumed-role session ARN (the path is not in the session ARN).
fn role_of(principal: &str) -> Option<(String, String)> {
    let rest = principal.split(":assumed-role/").nth(1)?;
    let role = rest.split('/').next()?;
    let prefix = principal.split(":assumed-role/").next()?;
    let partition = prefix.split(':').nth(1).unwrap_or("aws");
    let account = prefix.split(':').nth(4).unwrap_or("");
    Some((
        role.to_string(),
        format!("arn:{partition}:iam::{account}:role/{role}"),
    ))
}

/// The minimal statement that grants `action` on `resource`, with Terraform and CLI forms.
pub fn fix_for(action: &str, resource: &str, reason: DenialReason, principal: Option<&str>) -> Fix {
    let sid = format!("Allow{}", action.trim_start_matches("ecr:"));
    let statement =
        json!({"Sid": sid, "Effect": "Allow", "Action": [action], "Resource": resource});
    let role = principal.and_then(role_of);
    let role_name = role.as_ref().map_or("<role-name>", |(n, _)| n.as_str());
    let terraform = format!(
        "data \"aws_iam_policy_document\" \"push\" {{\n  statement {{\n    sid       = \"{sid}\"\n    actions   = [\"{action}\"]\n    resources = [\"{resource}\"]\n  }}\n}}\n\nresource \"aws_iam_role_policy\" \"push\" {{\n  role   = \"{role_name}\"\n  policy = data.aws_iam_policy_document.push.json\n}}"
    );
    let document = json!({"Version": "2012-10-17", "Statement": [statement]});
    let aws_cli = format!(
        "aws iam put-role-policy --role-name {role_name} --policy-name ecr-fargate-preflight-{} --policy-document '{}'",
        action.trim_start_matches("ecr:"),
        document
    );
    let description = match reason {
        DenialReason::NoResourcePolicy => {
            let principal_arn = role.as_ref().map_or("<role-arn>", |(_, a)| a.as_str());
            return Fix {
                description: format!(
                    "Cross-account: the repository policy of `{resource}` must allow `{action}` for `{principal_arn}`, and the role's own policy must allow it too (the statement below)."
                ),
                policy_statement: Some(statement),
                terraform: Some(format!(
                    "data \"aws_iam_policy_document\" \"repository\" {{\n  statement {{\n    sid     = \"{sid}\"\n    actions = [\"{action}\"]\n    principals {{\n      type        = \"AWS\"\n      identifiers = [\"{principal_arn}\"]\n    }}\n  }}\n}}\n\nresource \"aws_ecr_repository_policy\" \"this\" {{\n  repository = \"{}\"\n  policy     = data.aws_iam_policy_document.repository.json\n}}",
                    short_resource(resource)
                )),
                aws_cli: Some(aws_cli),
            };
        }
        DenialReason::ExplicitDeny => format!(
            "An explicit Deny matches `{action}`: adding an Allow does not help. Find the Deny statement (role policies, repository policy) and narrow it; the role also needs this Allow."
        ),
        DenialReason::ServiceControlPolicy | DenialReason::ResourceControlPolicy => format!(
            "An organization policy denies `{action}`: ask the organization's administrators to exempt this role or repository. The role also needs this Allow."
        ),
        DenialReason::PermissionsBoundary => format!(
            "The role's permissions boundary must allow `{action}` as well as its policy: add this statement to both."
        ),
        DenialReason::SessionPolicy => format!(
            "The session policy passed when assuming the role must allow `{action}`; the role also needs this Allow."
        ),
        DenialReason::NoIdentityPolicy | DenialReason::Unstated => {
            format!("Allow `{action}` on `{resource}` in the pushing role's policy.")
        }
    };
    Fix {
        description,
        policy_statement: Some(statement),
        terraform: Some(terraform),
        aws_cli: Some(aws_cli),
    }
}

fn other_failures(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let code = |e: &Exchange| e.error.as_ref().map(|e| e.code.clone()).unwrap_or_default();
    let message = |e: &Exchange| {
        e.error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };

    // The repository does not exist.
    let missing: BTreeSet<&str> = x
        .iter()
        .enumerate()
        .filter(|(_, e)| code(e) == "NAME_UNKNOWN" || code(e) == "RepositoryNotFoundException")
        .map(|(i, e)| {
            explained[i] = true;
            e.repository.as_str()
        })
        .collect();
    // A bodiless 404 on HEAD of a repository that does not exist looks like a missing blob; the GETs tell.
    for name in missing {
        let repo = Repository {
            name: name.to_string(),
            ..ctx.repository.clone()
        };
        findings.push(
            rules::PUSH_REPOSITORY_NOT_FOUND
                .finding(
                    format!("Repository {name} does not exist"),
                    format!(
                        "The registry answered `NAME_UNKNOWN`: there is no repository `{name}` in registry {} ({}). A push never creates it.",
                        repo.registry_id, repo.region
                    ),
                )
                .with_resources([repo.arn()])
                .with_fix(Fix {
                    description: format!("Create the repository `{name}`, or fix the name, account or region."),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_ecr_repository\" \"this\" {{\n  name                 = \"{name}\"\n  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n}}"
                    )),
                    aws_cli: Some(format!(
                        "aws ecr create-repository --repository-name {name} --region {}",
                        repo.region
                    )),
                }),
        );
    }

    for (i, e) in x.iter().enumerate() {
        if explained[i] || e.error_body_for.is_some() {
            continue;
        }
        let finding = match (e.status, code(e).as_str()) {
            (Some(400), "TAG_INVALID") => {
                let severity = if e.step == Step::TagMove { Severity::Warning } else { Severity::Error };
                Some(
                    rules::PUSH_TAG_IMMUTABLE
                        .finding(
                            format!("Tags in {} cannot be moved", ctx.repository.name),
                            format!(
                                "The repository refused to move the probe's own tag to a new image: `{}`. A build that pushes an existing tag (`latest`, a re-run for the same commit) fails the same way.",
                                message(e)
                            ),
                        )
                        .with_severity(severity)
                        .with_resources([ctx.repository.arn()])
                        .with_fix(Fix {
                            description: rules::PUSH_TAG_IMMUTABLE.fix.into(),
                            policy_statement: None,
                            terraform: Some(
                                "resource \"aws_ecr_repository\" \"this\" {\n  # ...\n  image_tag_mutability = \"IMMUTABLE_WITH_EXCLUSION\"\n  image_tag_mutability_exclusion_filter {\n    filter      = \"latest*\"\n    filter_type = \"WILDCARD\"\n  }\n}"
                                    .into(),
                            ),
                            aws_cli: None,
                        }),
                )
            }
            (Some(405), _) if matches!(e.step, Step::ManifestPut | Step::IndexPut | Step::TagMove) => Some(
                rules::PUSH_OCI_ARTIFACT_REJECTED
                    .finding(
                        "The registry rejects OCI artifact manifests (405)",
                        format!(
                            "`{} {}` answered 405 Method Not Allowed{}. ECR answers this to manifests with `subject`/`artifactType`, which BuildKit 0.32+ uses for attestations.",
                            e.method,
                            e.path,
                            e.error.as_ref().map(|er| format!(" ({}: {})", er.code, er.message)).unwrap_or_default()
                        ),
                    )
                    .with_resources([ctx.repository.arn()])
                    .with_fix(Fix {
                        description: rules::PUSH_OCI_ARTIFACT_REJECTED.fix.into(),
                        ..Fix::default()
                    }),
            ),
            (Some(403), _) if is_quota(&message(e)) => Some(
                rules::PUSH_IMAGE_QUOTA
                    .finding(
                        "A service limit refused the image",
                        format!("`{} {}` answered 403: {}", e.method, e.path, message(e)),
                    )
                    .with_resources([ctx.repository.arn()])
                    .with_fix(Fix {
                        description: rules::PUSH_IMAGE_QUOTA.fix.into(),
                        aws_cli: Some(format!(
                            "aws ecr put-lifecycle-policy --repository-name {} --lifecycle-policy-text '{{\"rules\":[{{\"rulePriority\":1,\"selection\":{{\"tagStatus\":\"untagged\",\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"countNumber\":7}},\"action\":{{\"type\":\"expire\"}}}}]}}'",
                            ctx.repository.name
                        )),
                        ..Fix::default()
                    }),
            ),
            (Some(401), _) if e.method != "API" => Some(
                rules::PUSH_REGISTRY_AUTH_REJECTED
                    .finding(
                        "The registry rejected the authorization token",
                        format!(
                            "`{} {}` answered 401 although it carried the token from GetAuthorizationToken for registry {}{}.",
                            e.method,
                            e.path,
                            ctx.repository.registry_id,
                            e.error.as_ref().map(|er| format!(": {}", er.message)).unwrap_or_default()
                        ),
                    )
                    .with_resources([ctx.repository.arn()]),
            ),
            _ => None,
        };
        if let Some(f) = finding {
            explained[i] = true;
            if !findings
                .iter()
                .any(|g: &Finding| g.rule == f.rule && g.title == f.title)
            {
                findings.push(f);
            }
        }
    }

    // Throttled even after retries.
    let mut throttled: BTreeMap<(Step, String, String), usize> = BTreeMap::new();
    for (i, e) in x.iter().enumerate() {
        if e.status == Some(429) || code(e) == "ThrottlingException" {
            explained[i] = true;
            *throttled
                .entry((e.step, e.method.clone(), e.path.clone()))
                .or_default() += 1;
        }
    }
    // Retries ran out: every attempt, or the last one (the retry budget or
    // the deadline may end them sooner), was still a fault.
    let ends_in_fault = ends_in_fault(x);
    let exhausted: Vec<String> = throttled
        .iter()
        .filter(|(k, n)| k.1 == "API" || **n >= MAX_ATTEMPTS || ends_in_fault.contains(*k))
        .map(|((_, m, p), n)| format!("{m} {p} (×{n})"))
        .collect();
    if !exhausted.is_empty() {
        findings.push(
            rules::PUSH_THROTTLED
                .finding(
                    "Requests were throttled after retries",
                    format!(
                        "The registry kept answering 429 `toomanyrequests` after {MAX_ATTEMPTS} attempts: {}.",
                        exhausted.join(", ")
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_THROTTLED.fix.into(),
                    ..Fix::default()
                }),
        );
    }

    // Temporarily unavailable (502, 503, 504) even after retries: nothing
    // behind it was checked. A request that got through on a retry is fine.
    let mut unavailable: BTreeMap<(Step, String, String), (usize, u16)> = BTreeMap::new();
    for (i, e) in x.iter().enumerate() {
        if let Some(s @ (502..=504)) = e.status
            && e.error_body_for.is_none()
            && e.step != Step::LayerDownload
        {
            explained[i] = true;
            if e.step == Step::Cleanup {
                continue; // the image left behind is `cleanup`'s to report
            }
            let entry = unavailable
                .entry((e.step, e.method.clone(), e.path.clone()))
                .or_default();
            *entry = (entry.0 + 1, s);
        }
    }
    let exhausted: Vec<String> = unavailable
        .iter()
        .filter(|(k, (n, _))| k.1 == "API" || *n >= MAX_ATTEMPTS || ends_in_fault.contains(*k))
        .map(|((_, m, p), (n, s))| format!("{m} {p} (HTTP {s}, ×{n})"))
        .collect();
    if !exhausted.is_empty() {
        findings.push(
            rules::PUSH_REGISTRY_UNREACHABLE
                .finding(
                    "The registry is unavailable: it kept answering 5xx",
                    format!(
                        "These requests were answered 502, 503 or 504 after every attempt, so what they exercise was not verified: {}.",
                        exhausted.join(", ")
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_REGISTRY_UNREACHABLE.fix.into(),
                    ..Fix::default()
                }),
        );
    }

    // Unreachable: one finding, with the first error.
    // Cleanup is not part of the verdict: an image left behind is `cleanup`'s.
    // A connection that failed and was retried is judged by its last attempt.
    let blocking = |e: &Exchange| {
        e.transport_error.is_some()
            && e.retried_after_ms.is_none()
            && !matches!(e.step, Step::LayerDownload | Step::Cleanup)
    };
    if let Some((i, e)) = x.iter().enumerate().find(|(_, e)| blocking(e)) {
        let t = e.transport_error.as_ref().expect("filtered");
        let what = match t.kind {
            TransportErrorKind::Dns => "the host name did not resolve",
            TransportErrorKind::Connect => "the connection could not be made",
            TransportErrorKind::Tls => "the TLS handshake failed",
            TransportErrorKind::Timeout => "it did not answer in time",
            TransportErrorKind::Other => "the request failed below HTTP",
        };
        let target = if e.method == "API" {
            "The ECR API endpoint"
        } else {
            "The registry"
        };
        findings.push(
            rules::PUSH_REGISTRY_UNREACHABLE
                .finding(
                    format!("{target} is unreachable: {what}"),
                    format!(
                        "{target} could not be reached for `{} {}`: {what}. {}",
                        e.method, e.path, t.detail
                    ),
                )
                .with_resources([ctx.repository.arn()])
                .with_fix(Fix {
                    description: rules::PUSH_REGISTRY_UNREACHABLE.fix.into(),
                    ..Fix::default()
                }),
        );
        for (j, e) in x.iter().enumerate() {
            if blocking(e) {
                explained[j] = true;
            }
        }
        explained[i] = true;
    }
    findings
}

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
            .map_or_else(|| location.to_string(), |u| super::registry::origin_of(&u));
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
                    Step::BlobExists | Step::ManifestExists | Step::IndexExists
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

/// Whether an attempt met a transient fault: throttled, 5xx, or no answer.
fn is_fault(e: &Exchange) -> bool {
    matches!(e.status, Some(429 | 500 | 502 | 503 | 504)) || e.transport_error.is_some()
}

/// The requests (step, method, path) whose last attempt met a fault: the
/// retries did not clear it.
fn ends_in_fault(x: &[Exchange]) -> BTreeSet<(Step, String, String)> {
    let mut last: BTreeMap<(Step, String, String), &Exchange> = BTreeMap::new();
    for e in x {
        last.insert((e.step, e.method.clone(), e.path.clone()), e);
    }
    last.into_iter()
        .filter(|(_, e)| is_fault(e))
        .map(|(k, _)| k)
        .collect()
}

/// Attempts that met a transient fault and were retried are explained by
/// their retry; when the retries cleared the fault, a notice says so (the
/// push works, as buildx's would, but the path to the registry faults).
/// Faults that persisted are judged by the last attempt's own rule.
fn transient_faults(x: &[Exchange], explained: &mut [bool]) -> Vec<Finding> {
    let persisted = ends_in_fault(x);
    let mut cleared: BTreeMap<(Step, String, String), Vec<String>> = BTreeMap::new();
    for (i, e) in x.iter().enumerate() {
        if e.retried_after_ms.is_none() || e.step == Step::Cleanup {
            continue;
        }
        explained[i] = true;
        let key = (e.step, e.method.clone(), e.path.clone());
        if persisted.contains(&key) {
            continue;
        }
        let what = match (&e.transport_error, e.status) {
            (Some(t), _) => format!("{:?}", t.kind).to_lowercase(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no answer".into(),
        };
        cleared.entry(key).or_default().push(what);
    }
    if cleared.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = cleared
        .iter()
        .map(|((_, m, p), faults)| format!("{m} {p} ({} before it got through)", faults.join(", ")))
        .collect();
    vec![rules::PUSH_TRANSIENT_FAULT_CLEARED.finding(
        "Transient registry faults cleared on retry",
        format!(
            "These requests met a transient fault and got through on a retry, as buildx's would: {}.",
            list.join("; ")
        ),
    )]
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
    vec![
        rules::PUSH_CLEANUP_FAILED
            .finding(
                "The probe's image was not fully deleted",
                format!(
                    "These manifests of the probe (tag `{}`) may stay in {}: {}. A read-back did not confirm they are gone.{}",
                    facts.tag.as_deref().unwrap_or(""),
                    ctx.repository.name,
                    facts.left_behind.join(", "),
                    if reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ECR said: {}.", reasons.join("; "))
                    }
                ),
            )
            .with_resources([ctx.repository.arn()])
            .with_fix(Fix {
                description: rules::PUSH_CLEANUP_FAILED.fix.into(),
                aws_cli: Some(format!(
                    "aws ecr batch-delete-image --repository-name {} --image-ids {}",
                    ctx.repository.name,
                    facts
                        .left_behind
                        .iter()
                        .map(|d| format!("imageDigest={d}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                ..Fix::default()
            }),
    ]
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
