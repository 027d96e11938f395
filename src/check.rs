//! The `check` command: options → credentials → probe → findings → report.

use std::time::Duration;

use reqwest::Url;

use crate::aws::credentials::{self, CredentialOptions};
use crate::aws::repository::{Repository, RepositoryRef};
use crate::cli::{CheckArgs, FailOn};
use crate::error::{ExitCode, UsageError};
use crate::push::diagnose::{self, Context};
use crate::push::image::Platform;
use crate::push::probe::{self, ProbePlan};
use crate::report::{PushSummary, Report, Severity};
use crate::rules;

/// The validated options of one `check` run.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The repository as given.
    pub repository: RepositoryRef,
    /// The mount source as given.
    pub mount_from: Option<RepositoryRef>,
    /// Parsed platforms.
    pub platforms: Vec<Platform>,
    /// Registry override.
    pub registry_endpoint: Option<Url>,
    /// How to obtain credentials.
    pub credentials: CredentialOptions,
    /// Everything else from the command line.
    pub args: CheckArgs,
}

impl CheckConfig {
    /// Validates everything that can be validated without a network call.
    pub fn from_args(args: CheckArgs) -> Result<CheckConfig, UsageError> {
        let repository = RepositoryRef::parse(&args.repository)
            .map_err(|e| UsageError(format!("--repository: {e}")))?;
        let mount_from = args
            .mount_from
            .as_deref()
            .map(RepositoryRef::parse)
            .transpose()
            .map_err(|e| UsageError(format!("--mount-from: {e}")))?;
        if let Some(m) = &mount_from {
            if m.registry_id.is_some()
                && repository.registry_id.is_some()
                && m.registry_id != repository.registry_id
                || m.region.is_some()
                    && repository.region.is_some()
                    && m.region != repository.region
            {
                return Err(UsageError(
                    "--mount-from: blobs can only be mounted from a repository of the same registry (account and region)".into(),
                ));
            }
            if m.name == repository.name {
                return Err(UsageError(
                    "--mount-from: name another repository than --repository".into(),
                ));
            }
        }
        let mut platforms = Vec::new();
        for p in args.platforms.iter().filter(|p| !p.trim().is_empty()) {
            let platform =
                Platform::parse(p).map_err(|e| UsageError(format!("--platforms: {e}")))?;
            if platforms.contains(&platform) {
                return Err(UsageError(format!(
                    "--platforms: {platform} is listed twice"
                )));
            }
            platforms.push(platform);
        }
        if platforms.is_empty() {
            return Err(UsageError("--platforms: give at least one platform".into()));
        }
        let registry_endpoint = args
            .registry_endpoint
            .as_deref()
            .map(|u| {
                Url::parse(u)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                    .ok_or_else(|| {
                        UsageError(format!("--registry-endpoint: `{u}` is not an http(s) URL"))
                    })
            })
            .transpose()?;
        if let Some(tag) = &args.read_tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !valid {
                return Err(UsageError(format!(
                    "--read-tag: `{tag}` is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)"
                )));
            }
        }
        let credentials = CredentialOptions {
            role_to_assume: args.role_to_assume.clone(),
            role_session_name: args.role_session_name.clone(),
            audience: args.audience.clone(),
            region: args.region.clone().or_else(|| repository.region.clone()),
        };
        credentials::validate(&credentials).map_err(UsageError)?;
        Ok(CheckConfig {
            repository,
            mount_from,
            platforms,
            registry_endpoint,
            credentials,
            args,
        })
    }
}

/// Runs the check. `Err` only for usage errors (exit 2); everything else,
/// including "could not run", is a report.
pub async fn run(config: CheckConfig) -> Result<(Report, ExitCode), UsageError> {
    let base = credentials::load_base(config.credentials.region.clone()).await;
    let Some(region) = base.region().map(|r| r.to_string()) else {
        return Err(UsageError(
            "no AWS region: pass --region, use a repository URI, or set AWS_REGION".into(),
        ));
    };
    let session = match credentials::establish(&config.credentials, base).await {
        Ok(s) => s,
        Err(failure) => {
            let finding = rules::CREDENTIALS_UNAVAILABLE
                .finding("No usable AWS credentials", failure.message)
                .with_resources(config.credentials.role_to_assume.clone())
                .with_fix(failure.fix);
            let report = Report::new(None, None, vec![finding], Vec::new());
            return Ok((report, ExitCode::CouldNotRun));
        }
    };
    tracing::info!(arn = %session.identity.arn, "credentials");

    let resolve = |r: &RepositoryRef| Repository {
        name: r.name.clone(),
        registry_id: r
            .registry_id
            .clone()
            .unwrap_or_else(|| session.identity.account.clone()),
        region: r.region.clone().unwrap_or_else(|| region.clone()),
    };
    let repository = resolve(&config.repository);
    let mount_source = config.mount_from.as_ref().map(|m| Repository {
        registry_id: repository.registry_id.clone(),
        region: repository.region.clone(),
        ..resolve(m)
    });
    let registry = match &config.registry_endpoint {
        Some(url) => url.clone(),
        None => {
            let host = config
                .repository
                .host
                .clone()
                .unwrap_or_else(|| repository.default_host());
            Url::parse(&format!("https://{host}"))
                .map_err(|e| UsageError(format!("registry host `{host}`: {e}")))?
        }
    };
    // ECR lives in the repository's region, whatever the default region is.
    let ecr_config = aws_sdk_ecr::config::Builder::from(&session.config)
        .region(aws_sdk_ecr::config::Region::new(repository.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(ecr_config);

    let plan = ProbePlan {
        repository: repository.clone(),
        registry: registry.clone(),
        platforms: config.platforms.clone(),
        attestations: config.args.attestations,
        mount_from: mount_source.as_ref().map(|m| m.name.clone()),
        cleanup: !config.args.no_cleanup,
        dry_run: config.args.dry_run,
        read_tag: config.args.read_tag.clone(),
        run_id: run_id(),
        retry_base: retry_base(),
    };
    let facts = probe::run(&ecr, &plan).await;
    let findings = diagnose::diagnose(
        &facts,
        &Context {
            repository: &repository,
            mount_source: mount_source.as_ref(),
            principal: Some(&session.identity.arn),
            dry_run: plan.dry_run,
            read_tag: plan.read_tag.as_deref(),
        },
    );
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
            .filter(|e| e.step != crate::push::steps::Step::Cleanup)
            .map(|e| e.depth)
            .max()
            .unwrap_or(0),
        requests: facts.exchanges.len(),
        wall_ms: facts.wall_ms,
        cleaned_up: facts.cleanup.is_some() && facts.left_behind.is_empty(),
    };
    let report = Report::new(Some(session.identity), Some(summary), findings, trace);
    let code = exit_code(&report, config.args.fail_on);
    Ok((report, code))
}

/// 1 when a finding at or above `fail_on` exists, else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> ExitCode {
    let threshold = match fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Never => return ExitCode::Clean,
    };
    match report.worst() {
        Some(s) if s >= threshold => ExitCode::Findings,
        _ => ExitCode::Clean,
    }
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
