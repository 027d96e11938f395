//! The push area's sequence: resolve the repository, gather (the ECR API
//! and the registry replay), judge, and summarise. `check` and `audit` call
//! it per repository; it returns findings and the report's push section.
//! The read-only audit's evaluation of a repository (its policy and the
//! caller's, without pushing) is here too.

use std::time::Duration;

use reqwest::Url;

use super::diagnose::{self, Context};
use super::ecr::{self, RepositoryPolicy};
use super::image::{Attestations, Platform};
use super::probe::{self, ProbePlan};
use super::read_only;
use super::steps::Step;
use crate::aws::credentials;
use crate::aws::repository::{Repository, RepositoryRef};
use crate::deadline;
use crate::error::UsageError;
use crate::policy;
use crate::policy::document::{PolicyDocument, Source, parse_documents};
use crate::policy::evaluate::PolicySet;
use crate::policy::flows::{PushTarget, push_flow, push_requests};
use crate::policy::live::{self, RolePolicies};
use crate::report::{Finding, PushSummary, TraceEntry};
use crate::rules;

/// How the push probe runs: the options `check` and `audit` share.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `--mount-from`, as given.
    pub mount_from: Option<RepositoryRef>,
    /// Platforms to replay.
    pub platforms: Vec<Platform>,
    /// `--registry-endpoint`.
    pub registry_endpoint: Option<Url>,
    /// `--attestations`.
    pub attestations: Attestations,
    /// Delete the probe's image afterwards (not `--no-cleanup`).
    pub cleanup: bool,
    /// `--dry-run`: push nothing.
    pub dry_run: bool,
    /// `--read-tag`.
    pub read_tag: Option<String>,
    /// The build as understood (empty when nothing describes it).
    pub build: crate::build::facts::BuildFacts,
}

/// Runs the push probe (or its dry run) against one repository and judges
/// it: the summary, the findings and the trace.
pub async fn run_push(
    config: &PushOptions,
    repository_ref: &RepositoryRef,
    session: &credentials::Session,
    region: &str,
) -> Result<(PushSummary, Vec<Finding>, Vec<TraceEntry>), UsageError> {
    let resolve = |r: &RepositoryRef| Repository {
        name: r.name.clone(),
        registry_id: r
            .registry_id
            .clone()
            .unwrap_or_else(|| session.identity.account.clone()),
        region: r.region.clone().unwrap_or_else(|| region.to_string()),
    };
    let repository = resolve(repository_ref);
    let mount_source = config.mount_from.as_ref().map(|m| Repository {
        registry_id: repository.registry_id.clone(),
        region: repository.region.clone(),
        ..resolve(m)
    });
    let registry = match &config.registry_endpoint {
        Some(url) => url.clone(),
        None => {
            let host = repository_ref
                .host
                .clone()
                .unwrap_or_else(|| repository.default_host());
            Url::parse(&format!("https://{host}"))
                .map_err(|e| UsageError(format!("registry host `{host}`: {e}")))?
        }
    };
    let ecr = ecr::client(&session.config, &repository.region);

    let plan = ProbePlan {
        repository: repository.clone(),
        registry: registry.clone(),
        platforms: config.platforms.clone(),
        // The build's own settings shape the attestations: with
        // `provenance: false` and no SBOM, buildx pushes none.
        attestations: match config.build.attestations_pushed() {
            Some(false) => super::image::Attestations::None,
            _ => config.attestations,
        },
        mount_from: mount_source.as_ref().map(|m| m.name.clone()),
        bases: same_registry_bases(&config.build, &repository),
        caches: cache_exports(&config.build, &repository),
        cache_imports: cache_imports(&config.build, &repository),
        cleanup: config.cleanup,
        dry_run: config.dry_run,
        read_tag: config.read_tag.clone(),
        run_id: run_id(),
        retry_base: retry_base(),
    };
    let facts = probe::run(&ecr, &plan).await;
    let mut findings = diagnose::diagnose(
        &facts,
        &Context {
            repository: &repository,
            mount_source: mount_source.as_ref(),
            principal: Some(&session.identity.arn),
            dry_run: plan.dry_run,
            read_tag: plan.read_tag.as_deref(),
        },
    );
    crate::build::rules::attribute(&mut findings, &config.build, &repository);
    findings.extend(crate::build::rules::other_registries(
        &config.build,
        &repository,
    ));
    match &facts.lookup {
        super::facts::RepositoryLookup::Missing => {
            missing_repository(&ecr, &repository, &mut findings).await;
        }
        super::facts::RepositoryLookup::Exists(mutability) if config.build.described() => {
            findings.extend(crate::build::rules::immutable_tags(
                &config.build,
                &repository,
                mutability,
            ));
            let mounting = deadline::within_deadline(ecr::blob_mounting(&ecr))
                .await
                .flatten();
            findings.extend(crate::build::rules::blob_mounting(
                &config.build,
                &repository,
                mounting,
            ));
        }
        _ => {}
    }
    if facts.cut_short {
        let endpoint = if facts.token_obtained {
            format!("the registry {registry}")
        } else {
            format!("the ECR API in {}", repository.region)
        };
        deadline::note_cut_short(&mut findings, "push probe", &endpoint);
    }
    let trace: Vec<_> = facts.exchanges.iter().map(|e| e.to_trace()).collect();
    let summary = PushSummary {
        mode: if plan.dry_run { "dry-run" } else { "push" }.into(),
        repository: repository.name.clone(),
        repository_arn: repository.arn(),
        registry: registry.to_string().trim_end_matches('/').to_string(),
        tag: facts.tag.clone(),
        platforms: plan.platforms.iter().map(ToString::to_string).collect(),
        index_digest: facts.index_digest.clone(),
        critical_path_round_trips: facts
            .exchanges
            .iter()
            .filter(|e| e.step != Step::Cleanup)
            .map(|e| e.depth)
            .max()
            .unwrap_or(0),
        sequential_round_trips: crate::push::exchange::sequential_round_trips(&facts.exchanges),
        requests: facts.exchanges.len(),
        wall_ms: facts.wall_ms,
        cleaned_up: facts.cleanup.is_some() && facts.cleanup_confirmed,
    };
    Ok((summary, findings, trace))
}

/// The build's base images in other repositories of the target's registry.
fn same_registry_bases(
    build: &crate::build::facts::BuildFacts,
    target: &Repository,
) -> Vec<probe::BaseImage> {
    let mut bases: Vec<probe::BaseImage> = crate::build::rules::ecr_uses(build)
        .into_iter()
        .filter(|u| {
            matches!(u.part, crate::build::rules::Part::Base { .. })
                && u.same_registry(target)
                && u.repository.name != target.name
        })
        .map(|u| probe::BaseImage {
            repository: u.repository.name,
            reference: u.reference.unwrap_or_else(|| "latest".into()),
        })
        .collect();
    bases.sort_by(|a, b| (&a.repository, &a.reference).cmp(&(&b.repository, &b.reference)));
    bases.dedup();
    bases
}

/// The build's registry cache exports to the target's registry.
fn cache_exports(
    build: &crate::build::facts::BuildFacts,
    target: &Repository,
) -> Vec<probe::CacheExport> {
    let uses = crate::build::rules::ecr_uses(build);
    let imported: Vec<&str> = uses
        .iter()
        .filter(|u| matches!(u.part, crate::build::rules::Part::CacheImport { .. }))
        .map(|u| u.repository.name.as_str())
        .collect();
    let mut exports: Vec<probe::CacheExport> = build
        .cache_to
        .iter()
        .filter_map(crate::build::facts::Value::known)
        .filter(|spec| spec.kind == "registry")
        .filter_map(|spec| {
            let (repository, _) = crate::build::rules::ecr_repository(spec.reference.as_deref()?)?;
            (repository.registry_id == target.registry_id && repository.region == target.region)
                .then(|| probe::CacheExport {
                    imported: imported.contains(&repository.name.as_str()),
                    repository: repository.name,
                    image_manifest: spec.flag("image-manifest"),
                })
        })
        .collect();
    exports.dedup();
    exports
}

/// The build's `cache-from` references in the target's registry that no
/// cache export of the build writes: (repository, tag).
fn cache_imports(
    build: &crate::build::facts::BuildFacts,
    target: &Repository,
) -> Vec<(String, String)> {
    let exported = cache_exports(build, target);
    let mut imports: Vec<(String, String)> = crate::build::rules::ecr_uses(build)
        .into_iter()
        .filter(|u| matches!(u.part, crate::build::rules::Part::CacheImport { .. }))
        .filter(|u| u.same_registry(target))
        .filter(|u| !exported.iter().any(|e| e.repository == u.repository.name))
        .map(|u| {
            (
                u.repository.name,
                u.reference.unwrap_or_else(|| "latest".into()),
            )
        })
        .collect();
    imports.sort();
    imports.dedup();
    imports
}

/// The target does not exist: whether a creation template would create it
/// on push (then that replaces "not found"), read within the run's deadline.
async fn missing_repository(
    ecr: &aws_sdk_ecr::Client,
    repository: &Repository,
    findings: &mut Vec<Finding>,
) {
    let templates = deadline::within_deadline(ecr::creation_templates(ecr))
        .await
        .unwrap_or_else(|| Err("the run's deadline passed".into()));
    let not_found = |f: &Finding| f.rule == rules::PUSH_REPOSITORY_NOT_FOUND.id;
    match templates {
        Ok(templates) => {
            if let Some(create) = super::create_on_push::judge(repository, &templates) {
                findings.retain(|f| !not_found(f));
                findings.push(create);
            }
        }
        Err(why) => {
            for f in findings.iter_mut().filter(|f| not_found(f)) {
                f.message.push_str(&format!(
                    " Whether a creation template would create it was not read (`ecr:DescribeRepositoryCreationTemplates`: {why})."
                ));
            }
        }
    }
}

/// Live mode uses the evaluator too: a denied push action is explained from
/// the assumed role's own policies when the role may read them, and
/// cross-checked with `iam:SimulatePrincipalPolicy` when allowed. Only runs
/// when something was denied, so a passing probe makes no extra calls.
pub async fn explain_denials(
    findings: &mut Vec<Finding>,
    session: &credentials::Session,
    repository_arn: &str,
) {
    let denied: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == rules::PUSH_ACCESS_DENIED.id)
        .filter_map(|f| f.iam_action.clone())
        .collect();
    if denied.is_empty() {
        return;
    }
    let Some((role, role_arn)) = policy::live::role_of_session(&session.identity.arn) else {
        return;
    };
    let (policies, simulation) = tokio::join!(
        policy::live::read_role_policies(&session.config, &role),
        policy::live::simulate(&session.config, &role_arn, &denied, repository_arn),
    );
    policy::live::explain(findings, &role_arn, &policies, simulation.as_ref());
}

fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{now}-{}", &random[..8])
}

/// First retry delay for throttled registry requests:
/// `ECR_FARGATE_PREFLIGHT_RETRY_BASE_MS` lets tests use a short one.
fn retry_base() -> Duration {
    std::env::var("ECR_FARGATE_PREFLIGHT_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(200))
}

/// The read-only push evaluation of one repository: its policy
/// (`ecr:GetRepositoryPolicy`) with the role's own policies through the
/// offline evaluator, and `iam:SimulatePrincipalPolicy` when allowed.
pub async fn evaluate_read_only(
    session: &credentials::Session,
    principal: Option<&str>,
    role_policies: Option<&RolePolicies>,
    repository: &Repository,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut gaps: Vec<String> = Vec::new();
    let mut resource: Vec<PolicyDocument> = Vec::new();
    match ecr::repository_policy(&session.config, repository).await {
        RepositoryPolicy::Text(text) => match parse_documents(
            &text,
            Source::label(format!("repository policy of {}", repository.name)),
        ) {
            Ok(docs) => resource = docs,
            Err(e) => gaps.push(format!("the repository policy could not be parsed: {e}")),
        },
        RepositoryPolicy::NotSet => {}
        RepositoryPolicy::RepositoryNotFound => {
            findings.push(read_only::repository_not_found(repository));
            return findings;
        }
        RepositoryPolicy::Failed(e) => gaps.push(format!(
            "ecr:GetRepositoryPolicy failed ({e}), so the repository policy was not evaluated"
        )),
    }

    let Some(principal) = principal else {
        gaps.push(format!(
            "the caller {} is neither an assumed role nor an IAM user, so its policies were not evaluated",
            session.identity.arn
        ));
        findings.push(read_only::not_evaluated(repository, &gaps));
        return findings;
    };
    let target = PushTarget {
        repository: repository.clone(),
        principal_arn: principal.to_string(),
        mount_source: None,
        // The caller's own session: `arn:aws:sts::…:assumed-role/ROLE/SESSION`.
        session_name: session
            .identity
            .arn
            .contains(":assumed-role/")
            .then(|| session.identity.arn.rsplit('/').next().map(str::to_string))
            .flatten(),
    };
    let readable = role_policies.filter(|p| p.unreadable.is_none());
    if let Some(policies) = readable {
        let set = PolicySet {
            identity: policies.documents.clone(),
            resource,
            ..PolicySet::default()
        };
        // The probe's own cleanup does not run in a read-only audit.
        findings.extend(
            push_flow(&set, &target)
                .into_iter()
                .filter(|f| f.rule != rules::PUSH_CLEANUP_DENIED.id),
        );
    } else {
        gaps.push(match role_policies.and_then(|p| p.unreadable.clone()) {
            Some(why) => format!("the role's own policies could not be read ({why})"),
            None => "the caller is not an assumed role, so its policies were not read".into(),
        });
    }

    let mut actions: Vec<String> = push_requests(&target)
        .into_iter()
        .filter(|(step, _)| *step != Step::Cleanup)
        .map(|(_, r)| r.action)
        .collect();
    actions.dedup();
    match live::simulate(&session.config, principal, &actions, &repository.arn()).await {
        Some(decisions) => findings.extend(read_only::simulated_denials(
            &decisions, &findings, repository, principal,
        )),
        None => gaps.push("iam:SimulatePrincipalPolicy was not allowed or failed".into()),
    }
    // With the role's policies evaluated, the simulation is only a cross-check.
    gaps.retain(|g| readable.is_none() || !g.starts_with("iam:Simulate"));
    if !gaps.is_empty() {
        findings.push(read_only::not_evaluated(repository, &gaps));
    }
    findings
}
