//! The `check` command: options → credentials → probe → findings → report.

use reqwest::Url;

use crate::aws::credentials::{self, CredentialOptions};
use crate::aws::repository::RepositoryRef;
use crate::cli::{CheckArgs, FailOn};
use crate::deadline;
use crate::error::{ExitCode, UsageError};
use crate::github::Group;
use crate::network::{self, gather::Scope};
use crate::policy;
use crate::push::image::Platform;
use crate::push::{self, run::PushOptions};
use crate::report::{Finding, PushSummary, Report, Severity, TraceEntry, Verdict};
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
    /// The build as understood from `--dockerfile`, `--workflow` and the
    /// build flags (read when the options are: a bad file is exit 2).
    pub build: crate::build::facts::BuildFacts,
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
        if args.trust_policy.is_some() && args.credentials.role_to_assume.is_none() {
            return Err(UsageError(
                "--trust-policy needs --role-to-assume: the trust policy is judged for that role"
                    .into(),
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
            role_to_assume: args.credentials.role_to_assume.clone(),
            role_session_name: args.credentials.role_session_name.clone(),
            audience: args.credentials.audience.clone(),
            region: args
                .region
                .clone()
                .or_else(|| repository.as_ref().and_then(|r| r.region.clone())),
        };
        credentials::validate(&credentials).map_err(UsageError)?;
        let mut config = CheckConfig {
            repository,
            mount_from,
            platforms,
            registry_endpoint,
            credentials,
            build: crate::build::facts::BuildFacts::default(),
            args,
        };
        let workspace = std::env::var_os("GITHUB_WORKSPACE")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_dir().ok());
        config.build = crate::build::gather::gather(&config.build_inputs(), workspace.as_deref())?;
        Ok(config)
    }
}

impl CheckConfig {
    /// The push options of a `check`.
    pub fn push_options(&self) -> PushOptions {
        PushOptions {
            mount_from: self.mount_from.clone(),
            platforms: self.platforms.clone(),
            registry_endpoint: self.registry_endpoint.clone(),
            attestations: self.args.attestations,
            cleanup: !self.args.no_cleanup,
            dry_run: self.args.dry_run,
            read_tag: self.args.read_tag.clone(),
            build: self.build.clone(),
        }
    }

    /// What the command line says about the build.
    pub fn build_inputs(&self) -> crate::build::gather::BuildInputs {
        crate::build::gather::BuildInputs {
            dockerfile: self.args.dockerfile.clone(),
            workflow: self.args.workflow.clone(),
            cache_to: self.args.cache_to.clone(),
            cache_from: self.args.cache_from.clone(),
            tags: self.args.tags.clone(),
            provenance: self.args.provenance.clone(),
            sbom: self.args.sbom.clone(),
            build_args: self.args.build_args.clone(),
        }
    }
}

impl CheckConfig {
    /// What the offline push check needs of the command line.
    pub fn offline_push(&self) -> policy::run::OfflinePush<'_> {
        policy::run::OfflinePush {
            repository: self.repository.as_ref(),
            mount_from: self.mount_from.as_ref(),
            principal_hint: self
                .args
                .principal
                .clone()
                .or_else(|| self.args.credentials.role_to_assume.clone()),
            region: self.args.region.clone(),
            build: Some(&self.build),
            role_session_name: Some(self.args.credentials.role_session_name.clone()),
        }
    }

    /// What the trust check is given, when there is a role to assume: its
    /// trust policy from `--trust-policy` (read now: a bad file is a usage
    /// error before anything is sent), else from the plan.
    pub fn trust_config(
        &self,
        inputs: &policy::inputs::OfflineInputs,
    ) -> Result<Option<crate::trust::run::TrustConfig>, UsageError> {
        let Some(role_arn) = self.args.credentials.role_to_assume.clone() else {
            return Ok(None);
        };
        let plan = inputs
            .plan
            .as_ref()
            .map(|plan| crate::trust::run::PlanTrust {
                trust_policies: inputs.plan_trust.clone(),
                providers: plan.oidc_providers.clone(),
                max_session_durations: plan.max_session_durations.clone(),
            });
        let trust_policy = self
            .args
            .trust_policy
            .as_deref()
            .map(crate::trust::run::read_trust_policy)
            .transpose()?;
        Ok(Some(crate::trust::run::TrustConfig {
            role_arn,
            trust_policy,
            audience: self.args.credentials.audience.clone(),
            claim_keys: (!self.args.oidc_sub_claim_keys.is_empty())
                .then(|| self.args.oidc_sub_claim_keys.clone()),
            token_claims: None,
            live_role: None,
            live_provider: None,
            plan,
            needs_token: false,
        }))
    }

    /// What network discovery looks at.
    pub fn network_scope(&self) -> Scope {
        Scope {
            cluster: self.args.cluster.clone(),
            services: self.args.services.clone(),
            task_definition: self.args.task_definition.clone(),
            subnets: self.args.subnets.clone(),
            security_groups: self.args.security_groups.clone(),
            assign_public_ip: self.args.assign_public_ip,
        }
    }
}

/// What the credentials step learned of the role assumption, for the trust
/// check: the claims of the token presented (accepted or not), whether STS
/// refused it, whether a token was all the job lacked.
#[derive(Debug, Default)]
struct Assumption {
    claims: Option<crate::trust::claims::Claims>,
    refused: bool,
    token_needed: bool,
}

impl Assumption {
    fn note(&mut self, failure: &credentials::CredentialFailure) {
        self.claims.clone_from(&failure.claims);
        self.refused = failure.trust_refused;
        self.token_needed = failure.token_needed;
    }
}

/// Establishes the AWS session for the live checks, in the `Credentials`
/// group. `Ok(None)` when there is none: the finding that says why
/// (`credentials/unavailable`, or `credentials/live-checks-skipped` when
/// offline inputs are still checked) is added to `findings`; what it learned
/// of the role assumption goes to `assumption`. `Err` only when no region is known.
async fn establish_session(
    config: &CheckConfig,
    has_offline: bool,
    findings: &mut Vec<Finding>,
    assumption: &mut Assumption,
) -> Result<Option<(credentials::Session, String)>, UsageError> {
    let group = Group::start("Credentials");
    let established = deadline::within_deadline(async {
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
            deadline::note_cut_short(findings, "credentials step", endpoint);
            (String::new(), None)
        }
        Some(None) => {
            return Err(UsageError(
                "no AWS region: pass --region, use a repository URI, or set AWS_REGION".into(),
            ));
        }
        Some(Some((region, established))) => (region, Some(established)),
    };
    Ok(match established {
        None => None,
        Some(Ok(s)) => {
            assumption.claims.clone_from(&s.claims);
            tracing::info!(arn = %s.identity.arn, "credentials");
            group.line(&format!("{} ({})", s.identity.arn, s.identity.source));
            Some((s, region))
        }
        Some(Err(failure)) if has_offline => {
            assumption.note(&failure);
            group.line(&format!("no credentials: {}", failure.message));
            if deadline::expired() {
                deadline::note_cut_short(findings, "credentials step", "AWS STS");
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
            assumption.note(&failure);
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
                deadline::note_cut_short(findings, "credentials step", "AWS STS");
            }
            None
        }
    })
}

/// The push probe of `check`, in its own group with the trace, and the
/// denials explained from the role's own policies.
async fn push_phase(
    config: &CheckConfig,
    repository_ref: &RepositoryRef,
    session: &credentials::Session,
    region: &str,
) -> Result<(PushSummary, Vec<Finding>, Vec<TraceEntry>), UsageError> {
    let group = Group::start(&format!("Push probe: {}", repository_ref.name));
    let (summary, mut push_findings, push_trace) =
        push::run::run_push(&config.push_options(), repository_ref, session, region).await?;
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
        "{} requests, {}, {} ms",
        summary.requests,
        summary.round_trips(),
        summary.wall_ms
    ));
    if deadline::within_deadline(push::run::explain_denials(
        &mut push_findings,
        session,
        &summary.repository_arn,
    ))
    .await
    .is_none()
    {
        deadline::note_cut_short(&mut push_findings, "denial explanation", "the IAM API");
    }
    Ok((summary, push_findings, push_trace))
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

/// The role's trust policy, read with `iam:GetRole`, and the account's
/// GitHub provider, with `iam:GetOpenIDConnectProvider`, using the
/// credentials the SDK finds without the role (when STS refused the job's
/// token, the job may still have others), within the run's deadline.
async fn read_trust_live(
    config: &CheckConfig,
    role_arn: &str,
) -> (
    Result<(crate::policy::document::PolicyDocument, Option<u32>), String>,
    Option<crate::trust::facts::Provider>,
) {
    let read = deadline::within_deadline(async {
        let base = credentials::load_base(config.credentials.region.clone()).await;
        let role = crate::trust::gather::read_role(&base, role_arn).await;
        // The provider is looked up only when the role could be read: with
        // the same credentials its absence is then a fact, not a denial.
        let provider = match &role {
            Ok(_) => Some(
                crate::trust::gather::read_provider(
                    &base,
                    &crate::trust::facts::github_provider_arn(role_arn),
                )
                .await,
            ),
            Err(_) => None,
        };
        (role, provider)
    })
    .await;
    read.unwrap_or_else(|| {
        (
            Err("the run's deadline passed while reading it".to_string()),
            None,
        )
    })
}

/// The OIDC trust phase, in its log group: before the push and network
/// checks, which it never hides; with the token's claims when one was
/// presented, else with the claims predicted from the runner's context.
fn trust_phase(
    config: &crate::trust::run::TrustConfig,
    findings: &mut Vec<Finding>,
) -> crate::report::TrustSummary {
    let group = Group::start("OIDC trust");
    let (trust_findings, summary) = crate::trust::run::run(config);
    group.line(&format!(
        "{}: {} finding(s){}",
        summary.role,
        trust_findings.len(),
        summary
            .claims
            .as_ref()
            .and_then(|c| c.sub.as_deref())
            .map(|sub| format!(", subject {sub}"))
            .unwrap_or_default()
    ));
    findings.extend(trust_findings);
    summary
}

/// Runs the check. `Err` only for usage errors (exit 2); everything else,
/// including "could not run", is a report.
pub async fn run(config: CheckConfig) -> Result<(Report, ExitCode), UsageError> {
    let mut findings = Vec::new();
    let mut trace = Vec::new();
    let mut push = None;
    let mut assumption = Assumption::default();

    // Offline inputs are read first: bad input is a usage error before anything is sent.
    let offline = match &config.args.snapshot {
        Some(path) => Some(network::run::load_snapshot(path)?),
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
    let trust_config = config.trust_config(&inputs)?;
    let has_offline = inputs.any() || offline.is_some() || config.args.trust_policy.is_some();
    let live = !config.args.offline
        && (config.repository.is_some()
            || config.args.cluster.is_some()
            || config.args.task_definition.is_some());
    let session = if live {
        establish_session(&config, has_offline, &mut findings, &mut assumption).await?
    } else {
        None
    };
    let identity = session.as_ref().map(|(s, _)| s.identity.clone());

    let mut trust = None;
    if let Some(mut trust_config) = trust_config {
        trust_config.token_claims = assumption.claims.clone();
        if assumption.refused && trust_config.trust_policy.is_none() && trust_config.plan.is_none()
        {
            let (role, provider) = read_trust_live(&config, &trust_config.role_arn).await;
            trust_config.live_role = Some(role);
            trust_config.live_provider = provider;
        }
        // The token is needed when the job had nothing else to assume the
        // role with (with access keys, the role is assumed with AssumeRole).
        trust_config.needs_token = live && !has_offline && assumption.token_needed;
        let summary = trust_phase(&trust_config, &mut findings);
        // The role assumption failed and the trust check says why: its
        // finding replaces the bare "no usable credentials".
        let assumption_failed =
            session.is_none() && (assumption.refused || assumption.token_needed);
        let explained = findings.iter().any(|f| {
            f.severity == Severity::Error
                && f.meaning.is_defect()
                && crate::trust::rules::EXPLAINS_REFUSAL
                    .iter()
                    .any(|rule| rule.id == f.rule)
        });
        if live && assumption_failed && explained {
            findings.retain(|f| f.rule != rules::CREDENTIALS_UNAVAILABLE.id);
        }
        trust = Some(summary);
    }

    // What the build's own files say, judged without a request.
    findings.extend(crate::build::rules::static_findings(&config.build));

    if let (Some(repository_ref), Some((session, region))) = (&config.repository, &session) {
        let (summary, push_findings, push_trace) =
            push_phase(&config, repository_ref, session, region).await?;
        push = Some(summary);
        merge_cache_evidence(&mut findings, push_findings);
        trace.extend(push_trace);
    }

    let live_network = match &session {
        Some((session, region))
            if config.args.cluster.is_some() || config.args.task_definition.is_some() =>
        {
            Some((session, region.as_str(), config.network_scope()))
        }
        _ => None,
    };
    let (network_findings, mut network) = network::run::run(
        offline,
        live_network,
        config.args.save_snapshot.as_deref(),
        &mut findings,
    )
    .await?;
    findings.extend(network_findings);

    let group = inputs
        .any()
        .then(|| Group::start("Offline policies and plans"));
    let offline = policy::run::run(
        &config.offline_push(),
        &inputs,
        push.is_some(),
        &mut network,
    )?;
    if let Some(group) = &group {
        group.line(&format!(
            "{} finding(s) from the offline inputs",
            offline.len()
        ));
    }
    findings.extend(offline);
    drop(group);
    let report = Report::new(identity, push, findings, trace)
        .with_network(network)
        .with_trust(trust)
        .with_build(crate::report::BuildSummary::of(&config.build));
    // `credentials/unavailable` makes the verdict `not-verified`: exit 3.
    let code = exit_code(&report, config.args.report.fail_on);
    Ok((report, code))
}

/// Adds the push's findings. The registry's answer to a cache export in the
/// wrong form is evidence for the static finding that already points at the
/// workflow line with the fixed line: it is added to that one's message.
fn merge_cache_evidence(findings: &mut Vec<Finding>, push_findings: Vec<Finding>) {
    let rule = crate::build::rules::CACHE_EXPORT_FORMAT.id;
    for live in push_findings {
        let matching = findings
            .iter_mut()
            .find(|f| f.rule == rule && live.rule == rule && f.resources == live.resources);
        match matching {
            Some(static_finding) => {
                static_finding.message.push(' ');
                static_finding.message.push_str(&live.message);
            }
            None => findings.push(live),
        }
    }
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
