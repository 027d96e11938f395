//! The flows evaluated offline, sharing one table with the live probe: a
//! buildx multi-platform push (`push::steps::TABLE`), its cleanup, and the
//! Fargate execution role's pull (`network::needs::needed_actions`).
//! Pure: policy documents and a snapshot in, findings out.

use std::collections::BTreeMap;

use super::document::PolicyDocument;
use super::evaluate::{Decision, Evaluation, PolicyKind, PolicySet, Reason, Request, evaluate};
use crate::aws::repository::Repository;
use crate::build::rules::{EcrUse, Part};
use crate::network::endpoints::ecr_region;
use crate::network::snapshot::NetworkSnapshot;
use crate::push::denial::DenialReason;
use crate::push::diagnose::fix_for;
use crate::push::steps::{Step, TABLE};
use crate::report::{Finding, Location, Severity};
use crate::rules::{self, Meaning, Rule};

/// Offline evaluation could not decide: a condition depends on what only the
/// live request knows.
pub const POLICY_UNDETERMINED: Rule = Rule {
    id: "policy/undetermined",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A policy's decision for a request depends on a condition the offline simulation cannot know (a source VPC endpoint, an IP, a tag not given).",
    why: "It may be allowed or denied at run time; an offline check must not guess.",
    fix: "Run the live check (`check --repository` with credentials) or make the condition explicit; the finding shows the condition.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html",
};

/// A policy document could not be read.
pub const POLICY_UNREADABLE: Rule = Rule {
    id: "policy/unreadable",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A policy that applies could not be read offline (an AWS-managed policy, a value unknown until apply).",
    why: "Requests it would allow or deny are judged without it, so the result may be wrong.",
    fix: "Pass the policy document with `--policy`, or re-check live after apply.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html",
};

/// Who makes the push and where it goes.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The repository pushed to.
    pub repository: Repository,
    /// The pushing principal (a role ARN).
    pub principal_arn: String,
    /// `--mount-from`, when given.
    pub mount_source: Option<Repository>,
    /// The role session's name (`--role-session-name`), when the pusher is a role.
    pub session_name: Option<String>,
}

/// Every action of the push flow, each with the request it is checked on.
pub fn push_requests(target: &PushTarget) -> Vec<(Step, Request)> {
    let mut out: Vec<(Step, Request)> = Vec::new();
    for row in TABLE {
        let repository = match row.step {
            Step::LayerDownload | Step::TagMove => continue,
            Step::BlobMount => match &target.mount_source {
                Some(m) => m,
                None => continue,
            },
            _ => &target.repository,
        };
        for action in row.iam_actions {
            // The mount's GetDownloadUrlForLayer is on the source; its InitiateLayerUpload is the target's, already covered.
            if row.step == Step::BlobMount && *action != "ecr:GetDownloadUrlForLayer" {
                continue;
            }
            let resource = if *action == "ecr:GetAuthorizationToken" {
                "*".to_string()
            } else {
                repository.arn()
            };
            if out
                .iter()
                .any(|(_, r)| r.action == *action && r.resource == resource)
            {
                continue;
            }
            out.push((row.step, request_for(action, resource, repository, target)));
        }
    }
    out
}

/// The request for `action` on `resource` (of `repository`) by the
/// target's principal (and its session).
fn request_for(
    action: &str,
    resource: String,
    repository: &Repository,
    target: &PushTarget,
) -> Request {
    let principal_arn = &target.principal_arn;
    let account = principal_arn
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    Request {
        action: action.to_string(),
        resource,
        principal_arn: principal_arn.to_string(),
        principal_account: account.clone(),
        resource_account: repository.registry_id.clone(),
        session_name: target.session_name.clone(),
        context: BTreeMap::from([
            (
                "aws:RequestedRegion".to_string(),
                vec![repository.region.clone()],
            ),
            (
                "aws:PrincipalArn".to_string(),
                vec![principal_arn.to_string()],
            ),
            ("aws:PrincipalAccount".to_string(), vec![account]),
        ]),
    }
}

/// The actions a part of the build needs on the repository it uses: a
/// base image or a cache import is pulled, a cache export is pushed.
fn build_actions(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Base { .. } | Part::CacheImport { .. } => {
            &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        }
        Part::CacheExport { .. } => &[
            "ecr:BatchCheckLayerAvailability",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:BatchGetImage",
            "ecr:PutImage",
        ],
    }
}

/// The build's own reads and writes of other ECR repositories (its base
/// images, its registry cache), offline: each denied action a
/// `push/access-denied` finding, which [`crate::build::rules::attribute`]
/// then names the part of the build for. `set_for` gives the policies that
/// apply to a repository (the identity's, and that repository's own).
pub fn build_flow(
    set_for: &dyn Fn(&Repository) -> PolicySet,
    target: &PushTarget,
    uses: &[EcrUse],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = Vec::new();
    for u in uses.iter().filter(|u| u.repository != target.repository) {
        let set = set_for(&u.repository);
        for action in build_actions(&u.part) {
            if seen.contains(&(action, u.repository.arn())) {
                continue;
            }
            seen.push((action, u.repository.arn()));
            let request = request_for(action, u.repository.arn(), &u.repository, target);
            let evaluation = evaluate(&set, &request);
            findings.extend(judge(
                &rules::PUSH_ACCESS_DENIED,
                &request,
                &evaluation,
                &u.part.describe(),
                &set,
                &target.principal_arn,
            ));
        }
    }
    findings
}

/// The push flow offline: the same findings (`push/access-denied`) as the
/// live probe, pointing at the statement to change. The probe's own cleanup
/// (`ecr:BatchDeleteImage`) is not judged: offline nothing is pushed, and a
/// buildx push never deletes.
pub fn push_flow(set: &PolicySet, target: &PushTarget) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (step, request) in push_requests(target) {
        if step == Step::Cleanup {
            continue;
        }
        let evaluation = evaluate(set, &request);
        let why = step.info().when;
        findings.extend(judge(
            &rules::PUSH_ACCESS_DENIED,
            &request,
            &evaluation,
            why,
            set,
            &target.principal_arn,
        ));
    }
    findings
}

/// The execution role's pull (and logs, secrets) for every Fargate workload
/// of a snapshot, with the role's policies from a plan or files.
pub fn execution_role_flow(
    snapshot: &NetworkSnapshot,
    role_policies: &BTreeMap<String, Vec<PolicyDocument>>,
    repository_policies: &BTreeMap<String, Vec<PolicyDocument>>,
) -> Vec<Finding> {
    use crate::network::needs::needed_actions;
    use crate::network::rules::execution_role::EXECUTION_ROLE_DENIED;
    let mut findings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for task in snapshot.task_definitions.values() {
        let Some(role) = &task.execution_role_arn else {
            continue;
        };
        let Some(identity) = role_key(role_policies, role) else {
            continue;
        };
        let account = role
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or_else(|| snapshot.account.clone())
            .unwrap_or_default();
        for action in needed_actions(task) {
            let resources: Vec<(String, String, Vec<PolicyDocument>)> =
                if action.starts_with("ecr:") && action != "ecr:GetAuthorizationToken" {
                    task.containers
                        .iter()
                        .filter(|c| ecr_region(&c.image).is_some())
                        .map(|c| {
                            let (host, path) = c.image.split_once('/').unwrap_or(("", ""));
                            let name = path.split(['@', ':']).next().unwrap_or(path).to_string();
                            let registry = host.split('.').next().unwrap_or_default().to_string();
                            let region = ecr_region(&c.image).unwrap_or_default();
                            let arn = format!("arn:aws:ecr:{region}:{registry}:repository/{name}");
                            (
                                arn,
                                registry,
                                repository_policies.get(&name).cloned().unwrap_or_default(),
                            )
                        })
                        .collect()
                } else {
                    vec![("*".to_string(), account.clone(), Vec::new())]
                };
            for (resource, resource_account, resource_policies) in resources {
                if !seen.insert((role.clone(), action, resource.clone())) {
                    continue;
                }
                let set = PolicySet {
                    identity: identity.clone(),
                    resource: resource_policies,
                    ..PolicySet::default()
                };
                let request = Request {
                    action: action.to_string(),
                    resource,
                    principal_arn: role.clone(),
                    principal_account: account.clone(),
                    resource_account,
                    // ECS names the execution role's sessions itself: unknown here.
                    session_name: None,
                    context: BTreeMap::from([(
                        "aws:RequestedRegion".to_string(),
                        vec![snapshot.region.clone()],
                    )]),
                };
                let evaluation = evaluate(&set, &request);
                findings.extend(judge(
                    &EXECUTION_ROLE_DENIED,
                    &request,
                    &evaluation,
                    "the Fargate agent pulls the image, fetches secrets and creates log streams with the execution role",
                    &set,
                    role,
                ));
            }
        }
    }
    findings
}

/// The policies of a role, by its ARN or by a Terraform address the ARN was not known for.
fn role_key<'a>(
    policies: &'a BTreeMap<String, Vec<PolicyDocument>>,
    role: &str,
) -> Option<&'a Vec<PolicyDocument>> {
    policies.get(role).or_else(|| {
        let name = role.rsplit('/').next().unwrap_or(role);
        policies
            .iter()
            .find(|(k, _)| {
                k.rsplit(['/', '.']).next() == Some(name) || k.ends_with(&format!("role/{name}"))
            })
            .map(|(_, v)| v)
    })
}

/// Turns one evaluation into a finding, when it is not an allow.
fn judge(
    rule: &Rule,
    request: &Request,
    evaluation: &Evaluation,
    why: &str,
    set: &PolicySet,
    principal: &str,
) -> Option<Finding> {
    let explanation: Vec<String> = evaluation.reasons.iter().map(Reason::to_string).collect();
    match evaluation.decision {
        Decision::Allowed => None,
        Decision::Undetermined => {
            let conditions: Vec<String> = evaluation
                .reasons
                .iter()
                .flat_map(|r| r.undetermined.iter().map(ToString::to_string))
                .collect();
            Some(
                POLICY_UNDETERMINED
                    .finding(
                        format!("{} on {} depends on a condition", request.action, short(&request.resource)),
                        format!(
                            "Whether `{}` is allowed on `{}` for `{principal}` depends on {} that an offline check cannot know: {}. {}",
                            request.action,
                            request.resource,
                            if conditions.len() == 1 { "a condition" } else { "conditions" },
                            conditions.join("; "),
                            explanation.join("; ")
                        ),
                    )
                    .with_iam_action(&request.action)
                    .with_resources([request.resource.clone()])
                    .with_location(location(evaluation, set)),
            )
        }
        Decision::ExplicitDeny | Decision::ImplicitDeny => {
            let reason = denial_reason(evaluation, request);
            // One reason per message: the evaluator's note that says what
            // `reason` already says ("no identity-based policy allows …")
            // is left out; statements and other missing grants stay.
            let said = said_by(reason);
            let explanation: Vec<String> = evaluation
                .reasons
                .iter()
                .filter(|r| !(r.statement.is_none() && Some(r.kind) == said))
                .map(|r| sentence(&r.to_string()))
                .collect();
            let fix = fix_for(
                &request.action,
                &request.resource,
                reason,
                Some(&assumed(principal)),
            );
            Some(
                rule.finding(
                    format!("{} denied on {} (offline)", request.action, short(&request.resource)),
                    format!(
                        "`{}` on `{}` for `{principal}` would be denied: {}. buildx or the task needs it for: {why}.{}",
                        request.action,
                        request.resource,
                        reason.describe(),
                        explanation.iter().map(|e| format!(" {e}")).collect::<String>()
                    ),
                )
                .with_iam_action(&request.action)
                .with_resources([request.resource.clone()])
                .with_fix(fix)
                .with_location(location(evaluation, set)),
            )
        }
    }
}

/// The kind of policy whose missing grant `reason` names, when it names one.
fn said_by(reason: DenialReason) -> Option<PolicyKind> {
    match reason {
        DenialReason::NoIdentityPolicy => Some(PolicyKind::Identity),
        DenialReason::NoResourcePolicy => Some(PolicyKind::Resource),
        DenialReason::PermissionsBoundary => Some(PolicyKind::Boundary),
        DenialReason::SessionPolicy => Some(PolicyKind::Session),
        DenialReason::ServiceControlPolicy => Some(PolicyKind::ServiceControl),
        _ => None,
    }
}

/// `text` as a sentence: capitalised, ending in a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `fix_for` derives the role from an assumed-role session ARN; give it one.
fn assumed(principal: &str) -> String {
    match principal.split_once(":role/") {
        Some((prefix, name)) => format!(
            "{}:assumed-role/{}/offline",
            prefix.replace(":iam:", ":sts:"),
            name.rsplit('/').next().unwrap_or(name)
        ),
        None => principal.to_string(),
    }
}

fn short(resource: &str) -> &str {
    resource
        .rsplit_once(":repository/")
        .map_or(resource, |(_, n)| n)
}

fn denial_reason(evaluation: &Evaluation, request: &Request) -> DenialReason {
    if evaluation.decision == Decision::ExplicitDeny {
        return match evaluation
            .reasons
            .iter()
            .find(|r| r.statement.is_some())
            .map(|r| r.kind)
        {
            Some(PolicyKind::ServiceControl) => DenialReason::ServiceControlPolicy,
            Some(PolicyKind::Boundary) => DenialReason::PermissionsBoundary,
            Some(PolicyKind::Session) => DenialReason::SessionPolicy,
            _ => DenialReason::ExplicitDeny,
        };
    }
    let missing = evaluation
        .reasons
        .iter()
        .find(|r| r.statement.is_none())
        .map(|r| r.kind);
    match missing {
        Some(PolicyKind::Resource) if request.principal_account != request.resource_account => {
            DenialReason::NoResourcePolicy
        }
        Some(PolicyKind::ServiceControl) => DenialReason::ServiceControlPolicy,
        Some(PolicyKind::Boundary) => DenialReason::PermissionsBoundary,
        Some(PolicyKind::Session) => DenialReason::SessionPolicy,
        _ => DenialReason::NoIdentityPolicy,
    }
}

/// Where to change: the deny statement, else the first statement named, else
/// the first identity policy (where the missing Allow goes).
fn location(evaluation: &Evaluation, set: &PolicySet) -> Option<Location> {
    let named = evaluation
        .reasons
        .iter()
        .filter_map(|r| r.statement.as_ref());
    let deny_first = evaluation
        .reasons
        .iter()
        .filter(|r| r.effect.is_some_and(|e| format!("{e:?}") == "Deny"))
        .filter_map(|r| r.statement.as_ref())
        .chain(named)
        .next();
    if let Some(s) = deny_first {
        return Some(Location {
            file: s.file.clone(),
            line: s.line,
            address: (s.file.as_deref() != Some(s.label.as_str())).then(|| s.label.clone()),
        });
    }
    set.identity.first().map(|d| Location {
        file: d.source.file.clone(),
        line: d.statements.last().and_then(|s| s.line),
        address: (d.source.file.as_deref() != Some(d.source.label.as_str()))
            .then(|| d.source.label.clone()),
    })
}

/// A plan value that is unknown until apply, which a rule needed.
pub const PLAN_UNKNOWN: Rule = Rule {
    id: "policy/unknown-until-apply",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A value the checks need is unknown until `terraform apply` (a computed id, a data source not read at plan time).",
    why: "Whatever depends on it is reported as undetermined rather than guessed.",
    fix: "Re-check after apply (live, or with `--save-snapshot`), or make the value known at plan time.",
    docs: "https://developer.hashicorp.com/terraform/internals/json-format",
};

/// The offline rules, for the registry.
pub const RULES: &[Rule] = &[
    POLICY_UNDETERMINED,
    POLICY_UNREADABLE,
    PLAN_UNKNOWN,
    super::live::SIMULATION_DISAGREES,
];
