//! Live mode uses the evaluator too: when the assumed role may read its own
//! policies, a live denial is explained by the statement that should change,
//! and `iam:SimulatePrincipalPolicy`, when allowed, cross-checks the probe.
//! This module's `read_*` functions are the I/O; `explain` is pure.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_iam::error::ProvideErrorMetadata;

use super::document::{PolicyDocument, Source, parse_documents};
use super::evaluate::{Decision, PolicySet, Request, evaluate};
use crate::report::{Finding, Location, Severity};
use crate::rules::{Meaning, PUSH_ACCESS_DENIED, Rule};

/// The live probe and IAM's own simulation disagree.
pub const SIMULATION_DISAGREES: Rule = Rule {
    id: "policy/simulation-disagrees",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "The live probe was denied an action that `iam:SimulatePrincipalPolicy` says the role's policies allow.",
    why: "Something the simulation does not model denies it: the repository policy, an SCP, a session policy, a VPC-endpoint or source condition.",
    fix: "Look beyond the role's policies: the repository policy, the organization's SCPs and the session policy.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html",
};

/// A role's own policies, as far as the caller may read them.
#[derive(Debug, Clone, Default)]
pub struct RolePolicies {
    /// The role's name.
    pub role: String,
    /// Inline and attached managed policy documents.
    pub documents: Vec<PolicyDocument>,
    /// Why they could not (all) be read, when they could not.
    pub unreadable: Option<String>,
}

fn decode(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

fn error_text<E: ProvideErrorMetadata>(e: &E) -> String {
    format!(
        "{}: {}",
        e.code().unwrap_or("Error"),
        e.message().unwrap_or_default()
    )
}

/// Reads the inline and attached policies of `role` (`iam:ListRolePolicies`,
/// `GetRolePolicy`, `ListAttachedRolePolicies`, `GetPolicy`, `GetPolicyVersion`).
pub async fn read_role_policies(config: &SdkConfig, role: &str) -> RolePolicies {
    let iam = aws_sdk_iam::Client::new(config);
    let mut out = RolePolicies {
        role: role.to_string(),
        ..RolePolicies::default()
    };
    let mut names = Vec::new();
    let mut pages = iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut counted = crate::limits::Pages::default();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                names.extend(p.policy_names().iter().cloned());
                if let Err(cut) = counted.page(p.marker()) {
                    out.unreadable = Some(format!("iam:ListRolePolicies: {cut}"));
                    return out;
                }
            }
            Err(e) => {
                out.unreadable = Some(format!("iam:ListRolePolicies: {}", error_text(&e)));
                return out;
            }
        }
    }
    for name in names {
        match iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
        {
            Ok(p) => {
                let label = format!("role {role} inline policy {name}");
                if let Ok(docs) =
                    parse_documents(&decode(p.policy_document()), Source::label(label))
                {
                    out.documents.extend(docs);
                }
            }
            Err(e) => {
                out.unreadable = Some(format!("iam:GetRolePolicy: {}", error_text(&e)));
                return out;
            }
        }
    }
    let mut attached = Vec::new();
    let mut pages = iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut counted = crate::limits::Pages::default();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                attached.extend(
                    p.attached_policies()
                        .iter()
                        .filter_map(|a| a.policy_arn().map(str::to_string)),
                );
                if let Err(cut) = counted.page(p.marker()) {
                    out.unreadable = Some(format!("iam:ListAttachedRolePolicies: {cut}"));
                    return out;
                }
            }
            Err(e) => {
                out.unreadable = Some(format!("iam:ListAttachedRolePolicies: {}", error_text(&e)));
                return out;
            }
        }
    }
    for arn in attached {
        let version = match iam.get_policy().policy_arn(&arn).send().await {
            Ok(p) => p
                .policy()
                .and_then(|p| p.default_version_id())
                .map(str::to_string),
            Err(e) => {
                out.unreadable = Some(format!("iam:GetPolicy: {}", error_text(&e)));
                return out;
            }
        };
        let Some(version) = version else { continue };
        match iam
            .get_policy_version()
            .policy_arn(&arn)
            .version_id(version)
            .send()
            .await
        {
            Ok(v) => {
                if let Some(doc) = v.policy_version().and_then(|v| v.document())
                    && let Ok(docs) = parse_documents(
                        &decode(doc),
                        Source::label(format!("managed policy {arn}")),
                    )
                {
                    out.documents.extend(docs);
                }
            }
            Err(e) => {
                out.unreadable = Some(format!("iam:GetPolicyVersion: {}", error_text(&e)));
                return out;
            }
        }
    }
    out
}

/// `iam:SimulatePrincipalPolicy` of `actions` on `resource`; `None` when not allowed or failed.
pub async fn simulate(
    config: &SdkConfig,
    role_arn: &str,
    actions: &[String],
    resource: &str,
) -> Option<BTreeMap<String, String>> {
    let iam = aws_sdk_iam::Client::new(config);
    let out = iam
        .simulate_principal_policy()
        .policy_source_arn(role_arn)
        .set_action_names(Some(actions.to_vec()))
        .resource_arns(resource)
        .send()
        .await
        .ok()?;
    Some(
        out.evaluation_results()
            .iter()
            .map(|r| {
                (
                    r.eval_action_name().to_string(),
                    r.eval_decision().as_str().to_string(),
                )
            })
            .collect(),
    )
}

/// The role ARN behind an assumed-role session ARN: (role name, role ARN).
pub fn role_of_session(arn: &str) -> Option<(String, String)> {
    let (prefix, rest) = arn.split_once(":assumed-role/")?;
    let name = rest.split('/').next()?.to_string();
    let partition = prefix.split(':').nth(1).unwrap_or("aws");
    let account = prefix.split(':').nth(4).unwrap_or_default();
    Some((
        name.clone(),
        format!("arn:{partition}:iam::{account}:role/{name}"),
    ))
}

/// Adds to each live `push/access-denied` finding what the role's own
/// policies say about it, and reports where IAM's simulation disagrees.
pub fn explain(
    findings: &mut Vec<Finding>,
    role_arn: &str,
    policies: &RolePolicies,
    simulation: Option<&BTreeMap<String, String>>,
) {
    let account = role_arn.split(':').nth(4).unwrap_or_default().to_string();
    let mut disagreements = Vec::new();
    for f in findings
        .iter_mut()
        .filter(|f| f.rule == PUSH_ACCESS_DENIED.id)
    {
        let (Some(action), Some(resource)) = (f.iam_action.clone(), f.resources.first().cloned())
        else {
            continue;
        };
        if policies.unreadable.is_none() {
            let request = Request {
                action: action.clone(),
                resource: resource.clone(),
                principal_arn: role_arn.to_string(),
                principal_account: account.clone(),
                resource_account: resource
                    .split(':')
                    .nth(4)
                    .filter(|a| !a.is_empty())
                    .unwrap_or(&account)
                    .to_string(),
                session_name: None,
                context: BTreeMap::new(),
            };
            let set = PolicySet {
                identity: policies.documents.clone(),
                ..PolicySet::default()
            };
            let evaluation = evaluate(&set, &request);
            let why: Vec<String> = evaluation.reasons.iter().map(ToString::to_string).collect();
            let verdict = match evaluation.decision {
                Decision::Allowed => {
                    "allow it, so something outside them denies it (repository policy, SCP, session policy or a condition)"
                }
                Decision::ExplicitDeny => "deny it explicitly",
                Decision::ImplicitDeny => "do not allow it",
                Decision::Undetermined => "allow it only under a condition the check cannot know",
            };
            f.message.push_str(&format!(
                " The role's own policies ({} document(s) of role `{}`) {verdict}: {}",
                policies.documents.len(),
                policies.role,
                why.join(" ")
            ));
            if f.location.is_none()
                && let Some(statement) =
                    evaluation.reasons.iter().find_map(|r| r.statement.as_ref())
            {
                f.location = Some(Location {
                    file: None,
                    line: None,
                    address: Some(statement.to_string()),
                });
            }
        }
        if simulation.and_then(|s| s.get(&action)).map(String::as_str) == Some("allowed") {
            disagreements.push((action, resource));
        }
    }
    for (action, resource) in disagreements {
        findings.push(
            SIMULATION_DISAGREES
                .finding(
                    format!("{action}: the probe was denied, the simulation allows it"),
                    format!(
                        "The live probe was denied `{action}` on `{resource}`, but `iam:SimulatePrincipalPolicy` for `{role_arn}` says its policies allow it: the denial comes from something the simulation does not see."
                    ),
                )
                .with_iam_action(action)
                .with_resources([resource, role_arn.to_string()]),
        );
    }
}
