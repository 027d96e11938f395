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

use std::collections::BTreeMap;
use std::time::Instant;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use futures_util::{StreamExt, stream};

use crate::aws::credentials::{self, CredentialOptions, Session};
use crate::aws::repository::{Repository, RepositoryRef};
use crate::check::{self, PushOptions};
use crate::cli::{AuditArgs, FailOn, Format};
use crate::error::{ExitCode, UsageError};
use crate::network::{self, gather};
use crate::policy::document::{PolicyDocument, Source, parse_documents};
use crate::policy::evaluate::PolicySet;
use crate::policy::flows::{PushTarget, push_flow, push_requests};
use crate::policy::live::{self, RolePolicies};
use crate::push::diagnose::fix_for;
use crate::push::image::Attestations;
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
            role_to_assume: args.role_to_assume.clone(),
            role_session_name: args.role_session_name.clone(),
            audience: args.audience.clone(),
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
            },
            push_probe: args.push_probe,
            concurrency: usize::from(args.concurrency.max(1)),
            credentials,
            format: args.format,
            output: args.output,
            fail_on: args.fail_on,
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
        match list_repositories(&session, prefix).await {
            Ok((names, None)) if names.is_empty() => general.push(
                AUDIT_PREFIX_EMPTY
                    .finding(
                        format!("No repository starts with `{prefix}`"),
                        format!(
                            "`ecr:DescribeRepositories` in registry {} ({region}) lists no repository whose name starts with `{prefix}`.",
                            session.identity.account
                        ),
                    )
                    .with_resources([prefix.clone()]),
            ),
            Ok((names, cut)) => {
                if let Some(cut) = cut {
                    general.push(listing_cut(prefix, &cut));
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
                            && x.registry_id.as_ref().is_none_or(|a| *a == session.identity.account)
                            && x.region.as_ref().is_none_or(|g| *g == region)
                    };
                    if !config.repositories.iter().any(same) {
                        jobs.push(Job::Repository(r));
                    }
                }
            }
            Err(e) => general.push(
                AUDIT_TARGET_FAILED
                    .finding(
                        format!("Repositories starting with `{prefix}` could not be listed"),
                        format!("`ecr:DescribeRepositories` failed, so the repositories matching the prefix were not audited: {e}"),
                    )
                    .with_iam_action("ecr:DescribeRepositories")
                    .with_resources([prefix.clone()]),
            ),
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

/// Names of the caller's repositories (in the default region) starting with
/// `prefix`, from `ecr:DescribeRepositories`, every page, and why the listing
/// was cut short when it was (its next token repeated, or it went past
/// [`crate::limits::MAX_PAGES`]).
async fn list_repositories(
    session: &Session,
    prefix: &str,
) -> Result<(Vec<String>, Option<crate::limits::Cut>), String> {
    let ecr = aws_sdk_ecr::Client::new(&session.config);
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

/// The finding for a repository listing cut short: the repositories it did
/// not reach were not audited.
fn listing_cut(prefix: &str, cut: &crate::limits::Cut) -> crate::report::Finding {
    AUDIT_TARGET_FAILED
        .finding(
            format!("Repositories starting with `{prefix}` were listed only in part"),
            format!("`ecr:DescribeRepositories`: {cut}. The repositories listed before that were audited; any after it were not."),
        )
        .with_iam_action("ecr:DescribeRepositories")
        .with_resources([prefix.to_string()])
}

fn error_text<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => crate::aws::describe_error(e),
    }
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
        match check::run_push(&ctx.config.push, r, ctx.session, &ctx.region).await {
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
        if check::within_deadline(check::explain_denials(
            &mut findings,
            ctx.session,
            &summary.repository_arn,
        ))
        .await
        .is_none()
        {
            check::note_cut_short(&mut findings, "denial explanation", "the IAM API");
        }
    } else {
        summary.mode = "read-only".into();
        findings.retain(|f| f.rule != rules::PUSH_READS_SKIPPED.id);
        let evaluated = evaluate(ctx, &repository).await;
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

/// The read-only push evaluation of one repository: its policy
/// (`ecr:GetRepositoryPolicy`) with the role's own policies through the
/// offline evaluator, and `iam:SimulatePrincipalPolicy` when allowed.
async fn evaluate(ctx: &Ctx<'_>, repository: &Repository) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut gaps: Vec<String> = Vec::new();
    let ecr_config = aws_sdk_ecr::config::Builder::from(&ctx.session.config)
        .region(aws_sdk_ecr::config::Region::new(repository.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(ecr_config);
    let mut resource: Vec<PolicyDocument> = Vec::new();
    match ecr
        .get_repository_policy()
        .registry_id(&repository.registry_id)
        .repository_name(&repository.name)
        .send()
        .await
    {
        Ok(out) => {
            let text = out.policy_text().unwrap_or_default();
            match parse_documents(
                text,
                Source::label(format!("repository policy of {}", repository.name)),
            ) {
                Ok(docs) => resource = docs,
                Err(e) => gaps.push(format!("the repository policy could not be parsed: {e}")),
            }
        }
        Err(e) if e.code() == Some("RepositoryPolicyNotFoundException") => {}
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {
            findings.push(
                rules::PUSH_REPOSITORY_NOT_FOUND
                    .finding(
                        format!("Repository {} does not exist", repository.name),
                        format!(
                            "`ecr:GetRepositoryPolicy` answered RepositoryNotFoundException: there is no repository `{}` in registry {} ({}). A push never creates it.",
                            repository.name, repository.registry_id, repository.region
                        ),
                    )
                    .with_resources([repository.arn()]),
            );
            return findings;
        }
        Err(e) => gaps.push(format!(
            "ecr:GetRepositoryPolicy failed ({}), so the repository policy was not evaluated",
            error_text(&e)
        )),
    }

    let Some(principal) = &ctx.principal else {
        gaps.push(format!(
            "the caller {} is neither an assumed role nor an IAM user, so its policies were not evaluated",
            ctx.session.identity.arn
        ));
        findings.push(not_evaluated(repository, &gaps));
        return findings;
    };
    let target = PushTarget {
        repository: repository.clone(),
        principal_arn: principal.clone(),
        mount_source: None,
    };
    let readable = ctx
        .role_policies
        .as_ref()
        .filter(|p| p.unreadable.is_none());
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
        gaps.push(
            match ctx
                .role_policies
                .as_ref()
                .and_then(|p| p.unreadable.clone())
            {
                Some(why) => format!("the role's own policies could not be read ({why})"),
                None => "the caller is not an assumed role, so its policies were not read".into(),
            },
        );
    }

    let mut actions: Vec<String> = push_requests(&target)
        .into_iter()
        .filter(|(step, _)| *step != crate::push::steps::Step::Cleanup)
        .map(|(_, r)| r.action)
        .collect();
    actions.dedup();
    match live::simulate(&ctx.session.config, principal, &actions, &repository.arn()).await {
        Some(decisions) => findings.extend(simulated_denials(
            &decisions, &findings, repository, principal,
        )),
        None => gaps.push("iam:SimulatePrincipalPolicy was not allowed or failed".into()),
    }
    // With the role's policies evaluated, the simulation is only a cross-check.
    gaps.retain(|g| readable.is_none() || !g.starts_with("iam:Simulate"));
    if !gaps.is_empty() {
        findings.push(not_evaluated(repository, &gaps));
    }
    findings
}

/// Actions IAM's simulation does not allow and the evaluation did not flag.
fn simulated_denials(
    decisions: &BTreeMap<String, String>,
    flagged: &[Finding],
    repository: &Repository,
    principal: &str,
) -> Vec<Finding> {
    decisions
        .iter()
        .filter(|(_, decision)| decision.as_str() != "allowed")
        .filter(|(action, _)| {
            !flagged
                .iter()
                .any(|f| f.iam_action.as_deref() == Some(action.as_str()))
        })
        .map(|(action, decision)| {
            let resource = if action == "ecr:GetAuthorizationToken" {
                "*".to_string()
            } else {
                repository.arn()
            };
            let reason = if decision == "explicitDeny" {
                crate::push::denial::DenialReason::ExplicitDeny
            } else {
                crate::push::denial::DenialReason::NoIdentityPolicy
            };
            rules::PUSH_ACCESS_DENIED
                .finding(
                    format!("{action} is not allowed on {}", repository.name),
                    format!(
                        "`iam:SimulatePrincipalPolicy` for `{principal}` answers `{decision}` for `{action}` on `{resource}`: buildx's push needs it."
                    ),
                )
                .with_iam_action(action.clone())
                .with_resources([resource.clone()])
                .with_fix(fix_for(action, &resource, reason, Some(principal)))
        })
        .collect()
}

fn not_evaluated(repository: &Repository, gaps: &[String]) -> Finding {
    AUDIT_PUSH_NOT_EVALUATED
        .finding(
            format!("Push permissions of {} only partly evaluated", repository.name),
            format!(
                "The read-only audit could not judge everything a push to `{}` needs: {}. Run with `--push-probe` for the live answer.",
                repository.name,
                gaps.join("; ")
            ),
        )
        .with_resources([repository.arn()])
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
    let started = Instant::now();
    let scope = gather::Scope {
        cluster: Some(name.to_string()),
        ..gather::Scope::default()
    };
    let Some(d) = check::within_deadline(gather::discover(
        gather::Clients::new(&ctx.session.config),
        &ctx.region,
        Some(ctx.session.identity.account.clone()),
        &scope,
    ))
    .await
    else {
        check::note_cut_short(
            &mut part.findings,
            "network discovery",
            &format!("the ECS, EC2 and IAM APIs in {}", ctx.region),
        );
        return part;
    };
    part.findings = network::rules::check_all(&d.snapshot);
    part.target.network = Some(check::network_summary(
        &d.snapshot,
        "live",
        d.api_calls,
        started.elapsed().as_millis() as u64,
    ));
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
    fn simulation_denials_add_only_what_the_evaluation_missed() {
        let repository = Repository {
            name: "team/app".into(),
            registry_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let decisions = BTreeMap::from([
            ("ecr:PutImage".to_string(), "implicitDeny".to_string()),
            (
                "ecr:UploadLayerPart".to_string(),
                "explicitDeny".to_string(),
            ),
            (
                "ecr:GetAuthorizationToken".to_string(),
                "implicitDeny".to_string(),
            ),
            ("ecr:InitiateLayerUpload".to_string(), "allowed".to_string()),
        ]);
        let flagged = vec![
            rules::PUSH_ACCESS_DENIED
                .finding("x", "y")
                .with_iam_action("ecr:PutImage"),
        ];
        let role = "arn:aws:iam::123456789012:role/audit";
        let found = simulated_denials(&decisions, &flagged, &repository, role);
        let actions: Vec<_> = found
            .iter()
            .map(|f| f.iam_action.clone().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["ecr:GetAuthorizationToken", "ecr:UploadLayerPart"]
        );
        assert_eq!(found[0].resources, ["*"]);
        assert_eq!(found[1].resources, [repository.arn()]);
        assert!(found[1].message.contains("explicitDeny"));
        assert!(found[1].fix.is_some());
    }

    #[test]
    fn rule_ids_are_unique_and_registered() {
        for r in RULES {
            assert_eq!(crate::catalog::by_id(r.id), Some(r));
        }
    }
}
