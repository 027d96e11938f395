//! The `check` command: options → credentials → probe → findings → report.

use std::time::Duration;

use reqwest::Url;

use crate::aws::credentials::{self, CredentialOptions};
use crate::aws::repository::{Repository, RepositoryRef};
use crate::cli::{CheckArgs, FailOn};
use crate::deadline;
use crate::error::{ExitCode, UsageError};
use crate::github::Group;
use crate::network::{
    self,
    gather::{self, Scope},
    snapshot::{NetworkSnapshot, SNAPSHOT_VERSION},
};
use crate::policy;
use crate::push::diagnose::{self, Context};
use crate::push::image::Platform;
use crate::push::probe::{self, ProbePlan};
use crate::report::{
    Location, NetworkSummary, PushSummary, Report, Severity, SubnetSummary, Verdict,
    WorkloadSummary,
};
use crate::rules;

/// The validated options of one `check` run.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The repository as given, when the push is checked.
    pub repository: Option<RepositoryRef>,
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
        let repository = args
            .repository
            .as_deref()
            .map(RepositoryRef::parse)
            .transpose()
            .map_err(|e| UsageError(format!("--repository: {e}")))?;
        let mount_from = args
            .mount_from
            .as_deref()
            .map(RepositoryRef::parse)
            .transpose()
            .map_err(|e| UsageError(format!("--mount-from: {e}")))?;
        if mount_from.is_some() && repository.is_none() {
            return Err(UsageError("--mount-from needs --repository".into()));
        }
        if let (Some(m), Some(repository)) = (&mount_from, &repository) {
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
        if args.offline && (args.cluster.is_some() || args.task_definition.is_some()) {
            return Err(UsageError(
                "--offline makes no AWS call, but --cluster and --task-definition are discovered live: use --snapshot or --terraform-plan offline".into(),
            ));
        }
        let platforms = parse_platforms(&args.platforms)?;
        let registry_endpoint = parse_registry_endpoint(args.registry_endpoint.as_deref())?;
        validate_targets(&args)?;
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
            region: args
                .region
                .clone()
                .or_else(|| repository.as_ref().and_then(|r| r.region.clone())),
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

/// Checks the names and ids of what to look at, before any is used or
/// echoed: `--cluster`, `--service`, `--task-definition`, `--subnets`,
/// `--security-groups`, `--principal`.
fn validate_targets(args: &CheckArgs) -> Result<(), UsageError> {
    use crate::validate;
    let named = |flag: &str, result: Result<(), String>| {
        result.map_err(|e| UsageError(format!("--{flag}: {e}")))
    };
    if let Some(cluster) = &args.cluster {
        named("cluster", validate::ecs_name(cluster, "cluster"))?;
    }
    for service in &args.services {
        named("service", validate::ecs_name(service, "service"))?;
    }
    if let Some(task_definition) = &args.task_definition {
        named(
            "task-definition",
            validate::task_definition(task_definition),
        )?;
    }
    for subnet in &args.subnets {
        named("subnets", validate::ec2_id(subnet, "subnet"))?;
    }
    for group in &args.security_groups {
        named("security-groups", validate::ec2_id(group, "sg"))?;
    }
    if let Some(principal) = &args.principal {
        named("principal", validate::principal(principal))?;
    }
    Ok(())
}

/// Parses `--platforms`: at least one, none twice.
pub fn parse_platforms(values: &[String]) -> Result<Vec<Platform>, UsageError> {
    let mut platforms = Vec::new();
    for p in values.iter().filter(|p| !p.trim().is_empty()) {
        let platform = Platform::parse(p).map_err(|e| UsageError(format!("--platforms: {e}")))?;
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
    Ok(platforms)
}

/// Parses `--registry-endpoint`: an http(s) URL with a host.
pub fn parse_registry_endpoint(value: Option<&str>) -> Result<Option<Url>, UsageError> {
    value
        .map(|u| {
            Url::parse(u)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                .ok_or_else(|| {
                    UsageError(format!("--registry-endpoint: `{u}` is not an http(s) URL"))
                })
        })
        .transpose()
}

/// Runs the check. `Err` only for usage errors (exit 2); everything else,
/// including "could not run", is a report.
pub async fn run(config: CheckConfig) -> Result<(Report, ExitCode), UsageError> {
    let mut findings = Vec::new();
    let mut trace = Vec::new();
    let mut identity = None;
    let mut push = None;
    let mut network = None;

    // Offline inputs are read first: bad input is a usage error before anything is sent.
    let offline = match &config.args.snapshot {
        Some(path) => Some(load_snapshot(path)?),
        None => None,
    };
    let workspace = std::env::var_os("GITHUB_WORKSPACE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let inputs = policy::inputs::load(
        &config.args.policies,
        config.args.repository_policy.as_deref(),
        config.args.boundary.as_deref(),
        &config.args.scps,
        config.args.terraform_plan.as_deref(),
        workspace.as_deref(),
    )?;
    let has_offline = inputs.any() || offline.is_some();
    let live = !config.args.offline
        && (config.repository.is_some()
            || config.args.cluster.is_some()
            || config.args.task_definition.is_some());
    let session = if live {
        let group = Group::start("Credentials");
        let established = within_deadline(async {
            let base = credentials::load_base(config.credentials.region.clone()).await;
            let region = base.region().map(|r| r.to_string())?;
            Some((
                region,
                credentials::establish(&config.credentials, base).await,
            ))
        })
        .await;
        let (region, established) = match established {
            None => {
                let endpoint = if config.credentials.role_to_assume.is_some() {
                    "the GitHub OIDC token endpoint and AWS STS"
                } else {
                    "AWS STS"
                };
                group.line("out of time");
                // Still "no credentials", as when the SDK's own timeout ends it
                // first; the deadline finding says which phase and endpoint.
                let message = format!(
                    "Obtaining credentials timed out: the run's deadline passed while waiting on {endpoint}."
                );
                findings.push(if has_offline {
                    rules::LIVE_SKIPPED.finding(
                        "Live checks skipped: no AWS credentials",
                        format!(
                            "The offline inputs were checked; the live push probe and discovery were not: {message}"
                        ),
                    )
                } else {
                    rules::CREDENTIALS_UNAVAILABLE
                        .finding("No usable AWS credentials", message)
                        .with_resources(config.credentials.role_to_assume.clone())
                });
                note_cut_short(&mut findings, "credentials step", endpoint);
                (String::new(), None)
            }
            Some(None) => {
                return Err(UsageError(
                    "no AWS region: pass --region, use a repository URI, or set AWS_REGION".into(),
                ));
            }
            Some(Some((region, established))) => (region, Some(established)),
        };
        match established {
            None => None,
            Some(Ok(s)) => {
                tracing::info!(arn = %s.identity.arn, "credentials");
                group.line(&format!("{} ({})", s.identity.arn, s.identity.source));
                identity = Some(s.identity.clone());
                Some((s, region))
            }
            Some(Err(failure)) if has_offline => {
                group.line(&format!("no credentials: {}", failure.message));
                if deadline::expired() {
                    note_cut_short(&mut findings, "credentials step", "AWS STS");
                }
                findings.push(
                    rules::LIVE_SKIPPED
                        .finding(
                            "Live checks skipped: no AWS credentials",
                            format!(
                                "The offline inputs were checked; the live push probe and discovery were not: {}",
                                failure.message
                            ),
                        )
                        .with_fix(failure.fix),
                );
                None
            }
            Some(Err(failure)) => {
                group.line(&format!("no credentials: {}", failure.message));
                // Its own timeout may end the step just before the deadline's wake-up.
                let cut_short = deadline::expired();
                findings.push(
                    rules::CREDENTIALS_UNAVAILABLE
                        .finding("No usable AWS credentials", failure.message)
                        .with_resources(config.credentials.role_to_assume.clone())
                        .with_fix(failure.fix),
                );
                if cut_short {
                    note_cut_short(&mut findings, "credentials step", "AWS STS");
                }
                None
            }
        }
    } else {
        None
    };

    if let (Some(repository_ref), Some((session, region))) = (&config.repository, &session) {
        let group = Group::start(&format!("Push probe: {}", repository_ref.name));
        let (summary, mut push_findings, push_trace) =
            run_push(&PushOptions::of(&config), repository_ref, session, region).await?;
        for t in &push_trace {
            group.line(&format!(
                "{:<18} {:<6} {:>4} {:>5} ms  {}{}",
                t.step,
                t.method,
                t.status.map_or("-".to_string(), |s| s.to_string()),
                t.ms,
                t.path,
                t.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            ));
        }
        group.line(&format!(
            "{} requests, {} sequential round trips, {} ms",
            summary.requests, summary.critical_path_round_trips, summary.wall_ms
        ));
        if within_deadline(explain_denials(
            &mut push_findings,
            session,
            &summary.repository_arn,
        ))
        .await
        .is_none()
        {
            note_cut_short(&mut push_findings, "denial explanation", "the IAM API");
        }
        push = Some(summary);
        findings.extend(push_findings);
        trace.extend(push_trace);
    }

    let snapshot = match (offline, &session) {
        (Some(s), _) => Some((s, "snapshot", 0, 0)),
        (None, Some((session, region)))
            if config.args.cluster.is_some() || config.args.task_definition.is_some() =>
        {
            let _group = Group::start(&format!(
                "Network discovery: {}",
                config
                    .args
                    .cluster
                    .as_deref()
                    .or(config.args.task_definition.as_deref())
                    .unwrap_or_default()
            ));
            let started = std::time::Instant::now();
            let scope = Scope {
                cluster: config.args.cluster.clone(),
                services: config.args.services.clone(),
                task_definition: config.args.task_definition.clone(),
                subnets: config.args.subnets.clone(),
                security_groups: config.args.security_groups.clone(),
                assign_public_ip: config.args.assign_public_ip,
            };
            let discovered = within_deadline(gather::discover(
                gather::Clients::new(&session.config),
                region,
                Some(session.identity.account.clone()),
                &scope,
            ))
            .await;
            match discovered {
                Some(d) => Some((
                    d.snapshot,
                    "live",
                    d.api_calls,
                    started.elapsed().as_millis() as u64,
                )),
                None => {
                    note_cut_short(
                        &mut findings,
                        "network discovery",
                        &format!("the ECS, EC2 and IAM APIs in {region}"),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if let Some((snapshot, source, api_calls, wall_ms)) = snapshot {
        if let Some(path) = &config.args.save_snapshot {
            let json = serde_json::to_string_pretty(&snapshot).expect("snapshots always serialize");
            std::fs::write(path, json + "\n")
                .map_err(|e| UsageError(format!("--save-snapshot {}: {e}", path.display())))?;
        }
        findings.extend(network::rules::check_all(&snapshot));
        let summary = network_summary(&snapshot, source, api_calls, wall_ms);
        let group = Group::start(&format!("Network checks ({source})"));
        for w in &summary.workloads {
            for s in &w.subnets {
                group.line(&format!("{} / {}: {}", w.name, s.id, s.egress));
            }
        }
        group.line(&format!("{api_calls} API calls, {wall_ms} ms"));
        drop(group);
        network = Some(summary);
    }

    let group = inputs
        .any()
        .then(|| Group::start("Offline policies and plans"));
    let offline = offline_findings(&config, &inputs, push.is_some(), &mut network)?;
    if let Some(group) = &group {
        group.line(&format!(
            "{} finding(s) from the offline inputs",
            offline.len()
        ));
    }
    findings.extend(offline);
    drop(group);
    let report = Report::new(identity, push, findings, trace).with_network(network);
    // `credentials/unavailable` makes the verdict `not-verified`: exit 3.
    let code = exit_code(&report, config.args.fail_on);
    Ok((report, code))
}

/// Reads and checks a saved snapshot.
pub fn load_snapshot(path: &std::path::Path) -> Result<NetworkSnapshot, UsageError> {
    // Parsed as it is read: the file's text is never held beside the snapshot.
    let reader = crate::files::open(path, crate::files::SNAPSHOT_LIMIT)
        .map_err(|e| UsageError(format!("--snapshot {e}")))?;
    let snapshot: NetworkSnapshot = serde_json::from_reader(reader).map_err(|e| {
        UsageError(format!(
            "--snapshot {}: not a network snapshot: {e} (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if snapshot.version != SNAPSHOT_VERSION {
        return Err(UsageError(format!(
            "--snapshot {}: snapshot version {} is not supported (this build reads version {SNAPSHOT_VERSION}); discover again with --save-snapshot",
            path.display(),
            snapshot.version
        )));
    }
    Ok(snapshot)
}

/// The report's network section for a snapshot.
pub fn network_summary(
    snapshot: &NetworkSnapshot,
    source: &str,
    api_calls: usize,
    wall_ms: u64,
) -> NetworkSummary {
    use network::rules::egress::{EgressClass, classify};
    NetworkSummary {
        source: source.to_string(),
        region: snapshot.region.clone(),
        api_calls,
        wall_ms,
        omitted_workloads: snapshot
            .workloads
            .len()
            .saturating_sub(crate::report::MAX_WORKLOADS_LISTED),
        workloads: snapshot
            .workloads
            .iter()
            .take(crate::report::MAX_WORKLOADS_LISTED)
            .map(|w| WorkloadSummary {
                name: w.name.clone(),
                cluster: w.cluster.clone(),
                fargate: w.is_fargate(),
                platform_version: w.platform_version.clone(),
                subnets: w
                    .subnets
                    .iter()
                    .map(|s| SubnetSummary {
                        id: s.clone(),
                        availability_zone: snapshot
                            .subnets
                            .get(s)
                            .map(|x| x.availability_zone.clone()),
                        egress: match classify(snapshot, w, s) {
                            EgressClass::PublicInternetGateway => {
                                "public-ip+internet-gateway".into()
                            }
                            EgressClass::Nat(id) => format!("nat ({id})"),
                            EgressClass::Isolated => "isolated".into(),
                            EgressClass::Unknown(target) => format!("unknown ({target})"),
                        },
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// How the push probe runs: the part of [`CheckConfig`] that `audit`
/// shares with `check`.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `--mount-from`, as given.
    pub mount_from: Option<RepositoryRef>,
    /// Platforms to replay.
    pub platforms: Vec<Platform>,
    /// `--registry-endpoint`.
    pub registry_endpoint: Option<Url>,
    /// `--attestations`.
    pub attestations: crate::push::image::Attestations,
    /// Delete the probe's image afterwards (not `--no-cleanup`).
    pub cleanup: bool,
    /// `--dry-run`: push nothing.
    pub dry_run: bool,
    /// `--read-tag`.
    pub read_tag: Option<String>,
}

impl PushOptions {
    /// The push options of a `check`.
    pub fn of(config: &CheckConfig) -> PushOptions {
        PushOptions {
            mount_from: config.mount_from.clone(),
            platforms: config.platforms.clone(),
            registry_endpoint: config.registry_endpoint.clone(),
            attestations: config.args.attestations,
            cleanup: !config.args.no_cleanup,
            dry_run: config.args.dry_run,
            read_tag: config.args.read_tag.clone(),
        }
    }
}

/// How long one attempt of an ECR API call (`GetAuthorizationToken`) may
/// take, at most: shorter than [`deadline::ATTEMPT`], because a stalled
/// token answer should leave the run time to report.
const ECR_API_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ECR API call may take with its retries, at most.
const ECR_API_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the push probe (or its dry run) against one repository and judges
/// it: the summary, the findings and the trace.
pub async fn run_push(
    config: &PushOptions,
    repository_ref: &RepositoryRef,
    session: &credentials::Session,
    region: &str,
) -> Result<
    (
        PushSummary,
        Vec<crate::report::Finding>,
        Vec<crate::report::TraceEntry>,
    ),
    UsageError,
> {
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
    // ECR lives in the repository's region, whatever the default region is.
    // A stalled answer ends as a timeout (exit 3) instead of hanging the job.
    let ecr_config = aws_sdk_ecr::config::Builder::from(&session.config)
        .region(aws_sdk_ecr::config::Region::new(repository.region.clone()))
        .timeout_config(
            aws_sdk_ecr::config::timeout::TimeoutConfig::builder()
                .connect_timeout(deadline::bounded(deadline::CONNECT))
                .operation_attempt_timeout(deadline::bounded(ECR_API_ATTEMPT_TIMEOUT))
                .operation_timeout(deadline::bounded(ECR_API_TIMEOUT))
                .build(),
        )
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(ecr_config);

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
        note_cut_short(&mut findings, "push probe", &endpoint);
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
            .filter(|e| e.step != crate::push::steps::Step::Cleanup)
            .map(|e| e.depth)
            .max()
            .unwrap_or(0),
        requests: facts.exchanges.len(),
        wall_ms: facts.wall_ms,
        cleaned_up: facts.cleanup.is_some() && facts.cleanup_confirmed,
    };
    Ok((summary, findings, trace))
}

/// Runs one phase of the run under the run's deadline: `None` when the
/// deadline passed (or the run was interrupted) first. The phase is dropped
/// where it was; what the caller gathered before it is kept and reported.
pub async fn within_deadline<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        r = work => Some(r),
        () = deadline::reached() => None,
    }
}

/// Notes that the run's deadline passed (or a signal interrupted it) during
/// `phase`, waiting on `endpoint`: `run/deadline-exceeded` or
/// `run/interrupted`, once per report (the first phase it hit is the one
/// named; the later ones were skipped because of it).
pub fn note_cut_short(findings: &mut Vec<crate::report::Finding>, phase: &str, endpoint: &str) {
    let finding = match deadline::interrupted() {
        Some(signal) => rules::RUN_INTERRUPTED.finding(
            format!("Interrupted by {signal} during the {phase}"),
            format!(
                "The run was interrupted by {signal} while the {phase} was waiting on {endpoint}. What was gathered before was cleaned up, judged and reported; the rest was not checked."
            ),
        ),
        None => rules::RUN_DEADLINE_EXCEEDED.finding(
            format!("Out of time during the {phase}"),
            format!(
                "The run's deadline (--timeout) passed while the {phase} was waiting on {endpoint}. What was gathered before was judged and reported; the rest was not checked."
            ),
        ),
    };
    if !findings.iter().any(|f| f.rule == finding.rule) {
        findings.push(finding);
    }
}

/// Live mode uses the evaluator too: a denied push action is explained from
/// the assumed role's own policies when the role may read them, and
/// cross-checked with `iam:SimulatePrincipalPolicy` when allowed. Only runs
/// when something was denied, so a passing probe makes no extra calls.
pub async fn explain_denials(
    findings: &mut Vec<crate::report::Finding>,
    session: &credentials::Session,
    repository_arn: &str,
) {
    let denied: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == "push/access-denied")
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

/// The offline checks: the push flow over policy files and the plan's
/// policies, the plan's network, and the execution roles' pull.
fn offline_findings(
    config: &CheckConfig,
    inputs: &policy::inputs::OfflineInputs,
    live_push_ran: bool,
    network: &mut Option<NetworkSummary>,
) -> Result<Vec<crate::report::Finding>, UsageError> {
    use policy::evaluate::PolicySet;
    use policy::flows::{PLAN_UNKNOWN, PushTarget, execution_role_flow, push_flow};
    let mut findings = Vec::new();
    let plan = inputs.plan.as_ref();

    if let Some(plan) = plan {
        let mut plan_findings = network::rules::check_all(&plan.snapshot);
        plan_findings.extend(execution_role_flow(
            &plan.snapshot,
            &inputs.plan_roles,
            &inputs.plan_repositories,
        ));
        for f in &mut plan_findings {
            if f.location.is_none() {
                f.location = f
                    .resources
                    .iter()
                    .find_map(|r| plan.locations.get(r))
                    .map(|l| Location {
                        file: l.file.clone(),
                        line: l.line,
                        address: Some(l.address.clone()),
                    });
            }
        }
        findings.extend(plan_findings);
        for u in &plan.undetermined {
            findings.push(
                PLAN_UNKNOWN
                    .finding(
                        format!("{}.{} is unknown until apply", u.address, u.attribute),
                        format!("`{}.{}`: {}", u.address, u.attribute, u.why),
                    )
                    .with_resources([u.address.clone()])
                    .with_location(plan.locations.get(&u.address).map(|l| Location {
                        file: l.file.clone(),
                        line: l.line,
                        address: Some(l.address.clone()),
                    })),
            );
        }
        if network.is_none() {
            *network = Some(network_summary(&plan.snapshot, "terraform-plan", 0, 0));
        }
    }

    // The push flow, when there is a repository and policies for the pusher.
    let execution_roles: Vec<String> = plan
        .map(|p| {
            p.snapshot
                .task_definitions
                .values()
                .filter_map(|t| t.execution_role_arn.clone())
                .collect()
        })
        .unwrap_or_default();
    let is_execution_role = |key: &str| {
        let name = key.rsplit(['/', '.']).next().unwrap_or(key);
        execution_roles
            .iter()
            .any(|r| r == key || r.rsplit('/').next() == Some(name))
    };
    let principal_hint = config
        .args
        .principal
        .clone()
        .or_else(|| config.args.role_to_assume.clone());
    let mut pusher_policies = inputs.identity.clone();
    let mut pusher_role: Option<String> = None;
    for (role, docs) in &inputs.plan_roles {
        let name = role.rsplit(['/', '.']).next().unwrap_or(role);
        let matches_hint = principal_hint
            .as_deref()
            .is_some_and(|p| p.rsplit('/').next() == Some(name));
        if matches_hint || (principal_hint.is_none() && !is_execution_role(role)) {
            pusher_policies.extend(docs.iter().cloned());
            pusher_role.get_or_insert_with(|| name.to_string());
        }
    }
    if let Some(repository_ref) = &config.repository
        && !live_push_ran
        && !pusher_policies.is_empty()
    {
        let region = repository_ref
            .region
            .clone()
            .or_else(|| config.args.region.clone())
            .or_else(|| plan.map(|p| p.snapshot.region.clone()).filter(|r| !r.is_empty()))
            .ok_or_else(|| {
                UsageError("the offline push check needs the repository's region: use a repository URI or --region".into())
            })?;
        let hint_account = principal_hint
            .as_deref()
            .and_then(|p| p.split(':').nth(4))
            .filter(|a| !a.is_empty());
        let account = repository_ref
            .registry_id
            .clone()
            .or_else(|| hint_account.map(str::to_string))
            .or_else(|| plan.and_then(|p| p.snapshot.account.clone()))
            .unwrap_or_else(|| "123456789012".to_string());
        let repository = Repository {
            name: repository_ref.name.clone(),
            registry_id: account.clone(),
            region,
        };
        let principal_arn = principal_hint.unwrap_or_else(|| {
            format!(
                "arn:{}:iam::{account}:role/{}",
                repository.partition(),
                pusher_role.as_deref().unwrap_or("pusher")
            )
        });
        let mut resource = inputs.repository.clone();
        if let Some(docs) = inputs.plan_repositories.get(&repository.name) {
            resource.extend(docs.iter().cloned());
        }
        let set = PolicySet {
            identity: pusher_policies,
            resource,
            boundary: inputs.boundary.clone(),
            scps: inputs.scps.clone(),
            session: None,
        };
        let mount_source = config.mount_from.as_ref().map(|m| Repository {
            name: m.name.clone(),
            ..repository.clone()
        });
        findings.extend(push_flow(
            &set,
            &PushTarget {
                repository,
                principal_arn,
                mount_source,
            },
        ));
    }
    Ok(findings)
}

/// 1 when a defect at or above `fail_on` exists; else 3 when the verdict is
/// `not-verified` (something could not be checked: a workflow can tell "the
/// policy is wrong" from "we could not look"), whatever `fail_on` says;
/// else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> ExitCode {
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    match (threshold, report.worst_defect()) {
        (Some(threshold), Some(worst)) if worst >= threshold => ExitCode::Findings,
        _ if report.verdict == Verdict::NotVerified => ExitCode::CouldNotRun,
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
