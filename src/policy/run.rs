//! The policy area's offline sequence: the Terraform plan's network and
//! execution roles through the network rules and the pull flow, its unknown
//! values as `policy/unknown-until-apply`, and the push flow over the policy
//! files and the plan's policies for the pusher the command line names (or,
//! without a name, the plan's one role that is not an execution role).

use super::document::PolicyDocument;
use super::evaluate::PolicySet;
use super::flows::{PLAN_UNKNOWN, PushTarget, build_flow, execution_role_flow, push_flow};
use super::inputs::OfflineInputs;
use super::matching::role_of_session;
use super::terraform::Plan;
use crate::aws::repository::{Repository, RepositoryRef};
use crate::error::UsageError;
use crate::network::{rules, run as network_run};
use crate::report::{Finding, Location, NetworkSummary};

/// What the offline push check needs of the command line.
#[derive(Debug, Clone, Default)]
pub struct OfflinePush<'a> {
    /// `--repository`, as given.
    pub repository: Option<&'a RepositoryRef>,
    /// `--mount-from`, as given.
    pub mount_from: Option<&'a RepositoryRef>,
    /// Who pushes: `--principal`, else `--role-to-assume`.
    pub principal_hint: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// The build as understood.
    pub build: Option<&'a crate::build::facts::BuildFacts>,
    /// `--role-session-name`: the pusher's session when it is a role
    /// (`GitHubActions` unless given, as the action assumes it).
    pub role_session_name: Option<String>,
}

/// The offline checks: the plan's network and the execution roles' pull,
/// and the push flow over policy files and the plan's policies (only when
/// the live push did not run). Sets `network` from the plan when nothing
/// else did.
pub fn run(
    target: &OfflinePush<'_>,
    inputs: &OfflineInputs,
    live_push_ran: bool,
    network: &mut Option<NetworkSummary>,
) -> Result<Vec<Finding>, UsageError> {
    let mut findings = Vec::new();
    let plan = inputs.plan.as_ref();
    if let Some(plan) = plan {
        findings.extend(plan_findings(plan, inputs));
        if network.is_none() {
            let mut summary = network_run::summary(&plan.snapshot, "terraform-plan", 0, 0);
            network_run::with_paths(&mut summary, &plan.snapshot, &findings);
            *network = Some(summary);
        }
    }
    let (pusher_policies, pusher_role) = pusher(inputs, target.principal_hint.as_deref());
    if let Some(repository_ref) = target.repository
        && !live_push_ran
        && !pusher_policies.is_empty()
    {
        let region = repository_ref
            .region
            .clone()
            .or_else(|| target.region.clone())
            .or_else(|| plan.map(|p| p.snapshot.region.clone()).filter(|r| !r.is_empty()))
            .ok_or_else(|| {
                UsageError("the offline push check needs the repository's region: use a repository URI or --region".into())
            })?;
        let hint_account = target
            .principal_hint
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
        let principal_arn = target.principal_hint.clone().unwrap_or_else(|| {
            format!(
                "arn:{}:iam::{account}:role/{}",
                repository.partition(),
                pusher_role.as_deref().unwrap_or("pusher")
            )
        });
        // `--principal` given as a session ARN: its role, and its session's name.
        let (principal_arn, hinted_session) = match role_of_session(&principal_arn) {
            Some((role, session)) => (role, Some(session)),
            None => (principal_arn, None),
        };
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
        let mount_source = target.mount_from.map(|m| Repository {
            name: m.name.clone(),
            ..repository.clone()
        });
        let push_target = PushTarget {
            repository,
            session_name: hinted_session.or_else(|| {
                target
                    .role_session_name
                    .clone()
                    .filter(|_| principal_arn.contains(":role/"))
            }),
            principal_arn,
            mount_source,
        };
        let mut push_findings = push_flow(&set, &push_target);
        if let Some(build) = target.build {
            // Another repository's own policy applies to it, not the target's.
            let set_for = |r: &Repository| PolicySet {
                resource: inputs
                    .plan_repositories
                    .get(&r.name)
                    .cloned()
                    .unwrap_or_default(),
                ..set.clone()
            };
            // Another registry's repositories are logged in to and granted
            // separately (their policies are not known here): listed, not judged.
            let uses: Vec<_> = crate::build::rules::ecr_uses(build)
                .into_iter()
                .filter(|u| u.same_registry(&push_target.repository))
                .collect();
            push_findings.extend(build_flow(&set_for, &push_target, &uses));
            push_findings.extend(crate::build::rules::other_registries(
                build,
                &push_target.repository,
            ));
            crate::build::rules::attribute(&mut push_findings, build, &push_target.repository);
        }
        findings.extend(push_findings);
    }
    Ok(findings)
}

/// The plan's findings: the network rules and the execution roles' pull over
/// its snapshot, located in the plan's files, and its unknown values.
fn plan_findings(plan: &Plan, inputs: &OfflineInputs) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut plan_findings = rules::check_all(&plan.snapshot);
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
    findings
}

/// The pusher's policies and role name: the identity policy files, and the
/// plan's roles that match the principal hint (without a hint, every plan
/// role that no task definition uses as its execution role).
fn pusher(
    inputs: &OfflineInputs,
    principal_hint: Option<&str>,
) -> (Vec<PolicyDocument>, Option<String>) {
    let plan = inputs.plan.as_ref();
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
    let mut pusher_policies = inputs.identity.clone();
    let mut pusher_role: Option<String> = None;
    for (role, docs) in &inputs.plan_roles {
        let name = role.rsplit(['/', '.']).next().unwrap_or(role);
        let matches_hint = principal_hint.is_some_and(|p| p.rsplit('/').next() == Some(name));
        if matches_hint || (principal_hint.is_none() && !is_execution_role(role)) {
            pusher_policies.extend(docs.iter().cloned());
            pusher_role.get_or_insert_with(|| name.to_string());
        }
    }
    (pusher_policies, pusher_role)
}
