//! Failures other than denials: registry and API errors, quotas, and
//! transient faults (throttling, 5xx, no answer) that the retries did not
//! clear.

use super::*;

pub(super) fn other_failures(
    x: &[Exchange],
    ctx: &Context<'_>,
    explained: &mut [bool],
) -> Vec<Finding> {
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
        findings.push(repository_not_found(
            &repo,
            "The registry answered `NAME_UNKNOWN`",
        ));
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

/// Whether an attempt met a transient fault: throttled, 5xx, or no answer.
pub(super) fn is_fault(e: &Exchange) -> bool {
    matches!(e.status, Some(429 | 500 | 502 | 503 | 504)) || e.transport_error.is_some()
}

/// The requests (step, method, path) whose last attempt met a fault: the
/// retries did not clear it.
pub(super) fn ends_in_fault(x: &[Exchange]) -> BTreeSet<(Step, String, String)> {
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
pub(super) fn transient_faults(x: &[Exchange], explained: &mut [bool]) -> Vec<Finding> {
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

/// The repository does not exist: how to create it. `how` says who said so.
pub(super) fn repository_not_found(repo: &Repository, how: &str) -> Finding {
    let name = &repo.name;
    rules::PUSH_REPOSITORY_NOT_FOUND
        .finding(
            format!("Repository {name} does not exist"),
            format!(
                "{how}: there is no repository `{name}` in registry {} ({}). A push creates it only through a repository creation template with `CREATE_ON_PUSH`, and there is none for it.",
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
        })
}
