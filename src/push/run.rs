//! The push area's sequence: resolve the repository, gather (the ECR API
//! and the registry replay), judge, and summarise. `check` and `audit` call
//! it per repository; it returns findings and the report's push section.

use std::time::Duration;

use reqwest::Url;

use super::diagnose::{self, Context};
use super::ecr;
use super::image::{Attestations, Platform};
use super::probe::{self, ProbePlan};
use super::steps::Step;
use crate::aws::credentials;
use crate::aws::repository::{Repository, RepositoryRef};
use crate::deadline;
use crate::error::UsageError;
use crate::policy;
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
        attestations: config.attestations,
        mount_from: mount_source.as_ref().map(|m| m.name.clone()),
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
        requests: facts.exchanges.len(),
        wall_ms: facts.wall_ms,
        cleaned_up: facts.cleanup.is_some() && facts.cleanup_confirmed,
    };
    Ok((summary, findings, trace))
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
