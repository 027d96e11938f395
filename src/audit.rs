//! The `audit` command: many repositories and every service of clusters in
//! one report grouped by resource, for `workflow_dispatch` and schedules.
//!
//! Read-only unless `--push-probe`: per repository it checks the registry
//! token (`ecr:GetAuthorizationToken`, the push probe's dry run), reads the
//! repository policy (`ecr:GetRepositoryPolicy`) and evaluates the push flow
//! over it and the assumed role's own policies (read once per audit), and
//! asks `iam:SimulatePrincipalPolicy` when the caller may. Targets run
//! concurrently, at most `--concurrency` at once; one that fails becomes a
//! finding and never stops the others. The SDK clients retry throttled calls
//! adaptively ([`credentials::load_base`]); registry requests retry on their own.

use std::time::Instant;

use futures_util::{StreamExt, stream};

use crate::aws::credentials::{self, CredentialOptions, Session};
use crate::aws::repository::{Repository, RepositoryRef};
use crate::check;
use crate::cli::{AuditArgs, FailOn, Format};
use crate::deadline;
use crate::error::{ExitCode, UsageError};
use crate::network::{self, gather};
use crate::policy::live::{self, RolePolicies};
use crate::push::image::Attestations;
use crate::push::{self, ecr, read_only, run::PushOptions};
use crate::report::{Finding, Report, Target, TargetKind, TraceEntry};
use crate::rules;

pub use crate::rules::{
    AUDIT as RULES, AUDIT_PREFIX_EMPTY, AUDIT_PUSH_NOT_EVALUATED, AUDIT_TARGET_FAILED,
};

/// The validated options of one `audit` run.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// `--repositories`, parsed.
    pub repositories: Vec<RepositoryRef>,
    /// `--repository-prefix`.
    pub repository_prefix: Option<String>,
    /// `--cluster`.
    pub clusters: Vec<String>,
    /// How the push probe (or, without `--push-probe`, its dry run) runs.
    pub push: PushOptions,
    /// `--push-probe`.
    pub push_probe: bool,
    /// `--concurrency`.
    pub concurrency: usize,
    /// How to obtain credentials.
    pub credentials: CredentialOptions,
    /// `--format`.
    pub format: Format,
    /// `--output`.
    pub output: Option<std::path::PathBuf>,
    /// `--fail-on`.
    pub fail_on: FailOn,
}

impl AuditConfig {
    /// Validates everything that can be validated without a network call.
    pub fn from_args(args: AuditArgs) -> Result<AuditConfig, UsageError> {
        let mut repositories: Vec<RepositoryRef> = Vec::new();
        for r in args.repositories.iter().filter(|r| !r.trim().is_empty()) {
            let parsed =
                RepositoryRef::parse(r).map_err(|e| UsageError(format!("--repositories: {e}")))?;
            if !repositories.contains(&parsed) {
                repositories.push(parsed);
            }
        }
        let repository_prefix = args
            .repository_prefix
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
        let clusters: Vec<String> = args
            .cluster
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        for cluster in &clusters {
            crate::validate::ecs_name(cluster, "cluster")
                .map_err(|e| UsageError(format!("--cluster: {e}")))?;
        }
        if let Some(prefix) = &repository_prefix {
            crate::validate::plain_text(prefix)
                .map_err(|e| UsageError(format!("--repository-prefix: {e}")))?;
        }
        if repositories.is_empty() && repository_prefix.is_none() && clusters.is_empty() {
            return Err(UsageError(
                "nothing to audit: give --repositories, --repository-prefix or --cluster".into(),
            ));
        }
        let platforms = crate::check::parse_platforms(&args.platforms)?;
        let registry_endpoint =
            crate::check::parse_registry_endpoint(args.registry_endpoint.as_deref())?;
        let credentials = CredentialOptions {
            role_to_assume: args.credentials.role_to_assume.clone(),
            role_session_name: args.credentials.role_session_name.clone(),
            audience: args.credentials.audience.clone(),
            region: args.region.clone(),
        };
        credentials::validate(&credentials).map_err(UsageError)?;
        Ok(AuditConfig {
            repositories,
            repository_prefix,
            clusters,
            push: PushOptions {
                mount_from: None,
                platforms,
                registry_endpoint,
                attestations: Attestations::Manifest,
                cleanup: true,
                dry_run: !args.push_probe,
                read_tag: None,
                build: crate::build::facts::BuildFacts::default(),
            },
            push_probe: args.push_probe,
            concurrency: usize::from(args.concurrency.max(1)),
            credentials,
            format: args.report.format,
            output: args.report.output,
            fail_on: args.report.fail_on,
        })
    }
}

/// One thing to check.
#[derive(Debug, Clone)]
enum Job {
    Repository(RepositoryRef),
    Cluster(String),
}

/// What checking one target produced.
struct Part {
    target: Target,
    findings: Vec<Finding>,
    trace: Vec<TraceEntry>,
}

impl Part {
    fn new(target: Target) -> Part {
        Part {
            target,
            findings: Vec::new(),
            trace: Vec::new(),
        }
    }
}

/// What every target's check shares.
struct Ctx<'a> {
    config: &'a AuditConfig,
    session: &'a Session,
    region: String,
    /// The principal to evaluate and simulate: the role behind an assumed-role
    /// session, or the IAM user.
    principal: Option<String>,
    /// The role's own policies (read-only mode, assumed roles only).
    role_policies: Option<RolePolicies>,
}

/// Runs the audit. `Err` only for usage errors (exit 2); everything else,
/// including "could not run", is a report.
pub async fn run(config: AuditConfig) -> Result<(Report, ExitCode), UsageError> {
    let base = credentials::load_base(config.credentials.region.clone()).await;
    let Some(region) = base.region().map(|r| r.to_string()) else {
        return Err(UsageError(
            "no AWS region: pass --region or set AWS_REGION".into(),
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

    let mut general = Vec::new();
    let mut jobs: Vec<Job> = config
        .repositories
        .iter()
        .cloned()
        .map(Job::Repository)
        .collect();
    if let Some(prefix) = &config.repository_prefix {
        match ecr::list_repositories(&session.config, prefix).await {
            Ok((names, None)) if names.is_empty() => general.push(read_only::prefix_empty(
                prefix,
                &session.identity.account,
                &region,
            )),
            Ok((names, cut)) => {
                if let Some(cut) = cut {
                    general.push(read_only::listing_cut(prefix, &cut));
                }
                for name in names {
                    let r = RepositoryRef {
                        name,
                        registry_id: None,
                        region: None,
                        host: None,
                    };
                    let same = |x: &RepositoryRef| {
                        x.name == r.name
                            && x.registry_id
                                .as_ref()
                                .is_none_or(|a| *a == session.identity.account)
                            && x.region.as_ref().is_none_or(|g| *g == region)
                    };
                    if !config.repositories.iter().any(same) {
                        jobs.push(Job::Repository(r));
                    }
                }
            }
            Err(e) => general.push(read_only::prefix_not_listed(prefix, &e)),
        }
    }
    jobs.extend(config.clusters.iter().cloned().map(Job::Cluster));

    let (principal, role) = match live::role_of_session(&session.identity.arn) {
        Some((name, arn)) => (Some(arn), Some(name)),
        None if session.identity.arn.contains(":user/") => {
            (Some(session.identity.arn.clone()), None)
        }
        None => (None, None),
    };
    let needs_policies = !config.push_probe && jobs.iter().any(|j| matches!(j, Job::Repository(_)));
    let role_policies = match (&role, needs_policies) {
        (Some(role), true) => Some(live::read_role_policies(&session.config, role).await),
        _ => None,
    };
    let ctx = Ctx {
        config: &config,
        session: &session,
        region: region.clone(),
        principal,
        role_policies,
    };

    let ctx = &ctx;
    let mut done: Vec<(usize, Part)> = stream::iter(jobs.into_iter().enumerate())
        .map(|(i, job)| async move {
            let started = Instant::now();
            let part = match &job {
                Job::Repository(r) => repository(ctx, r).await,
                Job::Cluster(c) => cluster(ctx, c).await,
            };
            tracing::info!(target_id = %part.target.id, ms = started.elapsed().as_millis() as u64, "audited");
            (i, part)
        })
        .buffer_unordered(config.concurrency)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);

    let mut trace = Vec::new();
    let mut parts = vec![(Vec::new(), general)];
    for (_, mut part) in done {
        for f in &mut part.findings {
            f.targets = vec![part.target.id.clone()];
        }
        trace.extend(part.trace);
        parts.push((vec![part.target], part.findings));
    }
    let report = crate::merge::combine(Some(session.identity.clone()), parts, trace);
    let code = check::exit_code(&report, config.fail_on);
    Ok((report, code))
}

/// One repository: the push probe with `--push-probe`, otherwise the token
/// dry run and the read-only evaluation.
async fn repository(ctx: &Ctx<'_>, r: &RepositoryRef) -> Part {
    let repository = Repository {
        name: r.name.clone(),
        registry_id: r
            .registry_id
            .clone()
            .unwrap_or_else(|| ctx.session.identity.account.clone()),
        region: r.region.clone().unwrap_or_else(|| ctx.region.clone()),
    };
    let mut part = Part::new(Target::new(
        TargetKind::Repository,
        &repository.name,
        Some(repository.registry_id.clone()),
        Some(repository.region.clone()),
    ));
    let (mut summary, mut findings, trace) =
        match push::run::run_push(&ctx.config.push, r, ctx.session, &ctx.region).await {
            Ok(x) => x,
            Err(e) => {
                part.findings.push(
                    AUDIT_TARGET_FAILED
                        .finding(format!("{} could not be checked", repository.name), e.0)
                        .with_resources([repository.arn()]),
                );
                return part;
            }
        };
    part.trace = trace;
    if ctx.config.push_probe {
        if deadline::within_deadline(push::run::explain_denials(
            &mut findings,
            ctx.session,
            &summary.repository_arn,
        ))
        .await
        .is_none()
        {
            deadline::note_cut_short(&mut findings, "denial explanation", "the IAM API");
        }
    } else {
        summary.mode = "read-only".into();
        findings.retain(|f| f.rule != rules::PUSH_READS_SKIPPED.id);
        let evaluated = push::run::evaluate_read_only(
            ctx.session,
            ctx.principal.as_deref(),
            ctx.role_policies.as_ref(),
            &repository,
        )
        .await;
        // The live token check already answered for GetAuthorizationToken.
        let live: Vec<Option<String>> = findings
            .iter()
            .filter(|f| f.iam_action.is_some())
            .map(|f| f.iam_action.clone())
            .collect();
        findings.extend(
            evaluated
                .into_iter()
                .filter(|e| !live.contains(&e.iam_action)),
        );
    }
    part.target.push = Some(summary);
    part.findings = findings;
    part
}

/// One cluster: discovery of every service and the network rules.
async fn cluster(ctx: &Ctx<'_>, name: &str) -> Part {
    let short = name.rsplit('/').next().unwrap_or(name);
    let mut part = Part::new(Target::new(
        TargetKind::Cluster,
        short,
        Some(ctx.session.identity.account.clone()),
        Some(ctx.region.clone()),
    ));
    let scope = gather::Scope {
        cluster: Some(name.to_string()),
        ..gather::Scope::default()
    };
    let Some(gathered) =
        network::run::discover(ctx.session, &ctx.region, &scope, &mut part.findings).await
    else {
        return part;
    };
    let (findings, summary) = network::run::judge(&gathered);
    part.findings = findings;
    part.target.network = Some(summary);
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(line: &[&str]) -> Result<AuditArgs, clap::Error> {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: AuditArgs,
        }
        let mut v = vec!["audit"];
        v.extend_from_slice(line);
        Wrapper::try_parse_from(v).map(|w| w.args)
    }

    #[test]
    fn options_are_validated_before_any_call() {
        assert!(args(&[]).is_err(), "something to audit is required");
        let c = AuditConfig::from_args(
            args(&[
                "--repositories",
                "team/app,team/web,team/app",
                "--cluster",
                "prod",
            ])
            .unwrap(),
        )
        .unwrap();
        assert_eq!(c.repositories.len(), 2);
        assert_eq!(c.clusters, ["prod"]);
        assert!(c.push.dry_run && !c.push_probe);
        assert_eq!(c.concurrency, 4);
        let c = AuditConfig::from_args(
            args(&[
                "--repository-prefix",
                "team/",
                "--push-probe",
                "--concurrency",
                "9",
            ])
            .unwrap(),
        )
        .unwrap();
        assert!(!c.push.dry_run && c.push.cleanup);
        assert_eq!(c.concurrency, 9);
        assert!(args(&["--cluster", "x", "--concurrency", "0"]).is_err());
        for (line, why) in [
            (vec!["--repositories", "Team/App"], "--repositories"),
            (vec!["--repositories", ","], "nothing to audit"),
            (
                vec!["--cluster", "x", "--role-to-assume", "deploy"],
                "not a role ARN",
            ),
            (
                vec!["--cluster", "x", "--registry-endpoint", "ftp://x"],
                "--registry-endpoint",
            ),
        ] {
            let e = AuditConfig::from_args(args(&line).unwrap()).unwrap_err().0;
            assert!(e.contains(why), "{line:?}: {e}");
        }
    }

    #[test]
    fn rule_ids_are_unique_and_registered() {
        for r in RULES {
            assert_eq!(crate::catalog::by_id(r.id), Some(r));
        }
    }
}
