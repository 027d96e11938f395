//! The IAM and ECR repository policies a plan declares, as raw JSON with the
//! role or repository they apply to. The policy evaluator reads them; this
//! only finds them and says which cannot be read offline.

use serde_json::Value;

use super::index::{Got, Index, Instance, Step, key};
use super::{Notes, PlanOidcProvider, PlanPolicy, PlanPolicyKind};

const ROLES: &[&str] = &["aws_iam_role", "data.aws_iam_role"];
const POLICIES: &[&str] = &["aws_iam_policy", "data.aws_iam_policy"];

/// Every policy document the plan attaches to a role or a repository.
pub(crate) fn policies(ix: &Index, notes: &mut Notes) -> Vec<PlanPolicy> {
    let mut out = Vec::new();
    for inst in &ix.instances {
        match inst.kind().as_str() {
            "aws_iam_role_policy" => role_policy(ix, inst, notes, &mut out),
            "aws_iam_role" => role_blocks(ix, inst, notes, &mut out),
            "aws_iam_role_policy_attachment" => {
                if let Some(role) = role_name(ix, inst, "role", notes) {
                    attach(ix, inst, &role, notes, &mut out);
                }
            }
            "aws_iam_policy_attachment" => match ix.references(inst, &key("roles"), ROLES) {
                Got::Value(roles) => {
                    for role in roles {
                        attach(ix, inst, &role, notes, &mut out);
                    }
                }
                Got::Absent => {}
                Got::Unknown(why) => notes.undetermined(&inst.address, "roles", why),
            },
            "aws_ecr_repository_policy" => repository_policy(ix, inst, notes, &mut out),
            _ => {}
        }
    }
    out.sort_by(|a, b| (&a.kind, &a.address).cmp(&(&b.kind, &b.address)));
    out
}

fn role_name(ix: &Index, inst: &Instance, attribute: &str, notes: &mut Notes) -> Option<String> {
    match ix.reference(inst, &key(attribute), ROLES) {
        // A role ARN where a name is expected: the name is its last segment.
        Got::Value(role) => Some(match role.strip_prefix("arn:") {
            Some(_) => role.rsplit('/').next().unwrap_or(&role).to_string(),
            None => role,
        }),
        Got::Absent => None,
        Got::Unknown(why) => {
            notes.undetermined(
                &inst.address,
                attribute,
                format!("{why}: its policy is not checked"),
            );
            None
        }
    }
}

/// The document of a `policy` attribute, or `None` after noting why not.
fn document(
    ix: &Index,
    inst: &Instance,
    path: &[Step],
    attribute: &str,
    notes: &mut Notes,
) -> Option<String> {
    match ix.string(inst, path) {
        Got::Value(json) => Some(json),
        Got::Absent => None,
        Got::Unknown(why) => {
            notes.undetermined(
                &inst.address,
                attribute,
                format!("{why} (the document interpolates a value unknown until apply): the policy is not checked"),
            );
            None
        }
    }
}

fn role_policy(ix: &Index, inst: &Instance, notes: &mut Notes, out: &mut Vec<PlanPolicy>) {
    let Some(role) = role_name(ix, inst, "role", notes) else {
        return;
    };
    if let Some(json) = document(ix, inst, &key("policy"), "policy", notes) {
        out.push(policy(PlanPolicyKind::Identity { role }, inst, json));
    }
}

/// An `aws_iam_role`'s `inline_policy` blocks and `managed_policy_arns`, when
/// configured: otherwise the provider fills them from the role's other
/// policies, which their own resources already describe.
fn role_blocks(ix: &Index, inst: &Instance, notes: &mut Notes, out: &mut Vec<PlanPolicy>) {
    let role = inst
        .known_str("name")
        .map_or_else(|| inst.address.clone(), str::to_string);
    if let Some(json) = document(
        ix,
        inst,
        &key("assume_role_policy"),
        "assume_role_policy",
        notes,
    ) {
        out.push(policy(
            PlanPolicyKind::Trust { role: role.clone() },
            inst,
            json,
        ));
    }
    if !ix.configured(inst, &key("inline_policy"))
        && !ix.configured(inst, &key("managed_policy_arns"))
    {
        return;
    }
    if let super::index::Field::Known(Value::Array(blocks)) = inst.field(&key("inline_policy")) {
        for n in 0..blocks.len() {
            let path = [
                Step::Key("inline_policy"),
                Step::Index(n),
                Step::Key("policy"),
            ];
            if let Some(json) = document(
                ix,
                inst,
                &path,
                &format!("inline_policy[{n}].policy"),
                notes,
            ) {
                out.push(policy(
                    PlanPolicyKind::Identity { role: role.clone() },
                    inst,
                    json,
                ));
            }
        }
    }
    if let Got::Value(arns) = ix.references(inst, &key("managed_policy_arns"), POLICIES) {
        for arn in arns {
            attach_arn(ix, inst, &role, &arn, "managed_policy_arns", notes, out);
        }
    }
}

fn attach(ix: &Index, inst: &Instance, role: &str, notes: &mut Notes, out: &mut Vec<PlanPolicy>) {
    match ix.reference(inst, &key("policy_arn"), POLICIES) {
        Got::Value(arn) => attach_arn(ix, inst, role, &arn, "policy_arn", notes, out),
        Got::Absent => {}
        Got::Unknown(why) => notes.undetermined(
            &inst.address,
            "policy_arn",
            format!("{why}: the attached policy is not checked"),
        ),
    }
}

/// The document of the policy at `arn` (a known ARN or the stand-in address of
/// an `aws_iam_policy` in the plan), as an identity policy of `role`.
fn attach_arn(
    ix: &Index,
    inst: &Instance,
    role: &str,
    arn: &str,
    attribute: &str,
    notes: &mut Notes,
    out: &mut Vec<PlanPolicy>,
) {
    let declared = ix
        .instances
        .iter()
        .filter(|p| POLICIES.contains(&p.kind().as_str()))
        .find(|p| p.known_str("arn") == Some(arn) || p.snapshot_id() == arn || p.address == arn);
    match declared {
        Some(p) => {
            if let Some(json) = document(ix, p, &key("policy"), "policy", notes) {
                out.push(policy(PlanPolicyKind::Identity { role: role.to_string() }, p, json));
            }
        }
        None if is_aws_managed(arn) => notes.undetermined(
            &inst.address,
            attribute,
            format!("`{arn}` is an AWS-managed policy, whose document cannot be read offline: what it allows `{role}` is not checked"),
        ),
        None => notes.undetermined(
            &inst.address,
            attribute,
            format!("policy `{arn}` is not declared in the plan: what it allows `{role}` is not checked"),
        ),
    }
}

/// `arn:aws:iam::aws:policy/…` (and the other partitions' spelling).
fn is_aws_managed(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "iam", "", "aws", rest] if rest.starts_with("policy/"))
}

fn repository_policy(ix: &Index, inst: &Instance, notes: &mut Notes, out: &mut Vec<PlanPolicy>) {
    let repository = match ix.reference(
        inst,
        &key("repository"),
        &["aws_ecr_repository", "data.aws_ecr_repository"],
    ) {
        Got::Value(r) => r,
        Got::Absent => return,
        Got::Unknown(why) => {
            notes.undetermined(
                &inst.address,
                "repository",
                format!("{why}: its policy is not checked"),
            );
            return;
        }
    };
    if let Some(json) = document(ix, inst, &key("policy"), "policy", notes) {
        out.push(policy(
            PlanPolicyKind::Repository { repository },
            inst,
            json,
        ));
    }
}

/// Every `aws_iam_openid_connect_provider` the plan declares or reads.
pub(crate) fn oidc_providers(ix: &Index) -> Vec<PlanOidcProvider> {
    ix.instances
        .iter()
        .filter(|inst| {
            matches!(
                inst.kind().as_str(),
                "aws_iam_openid_connect_provider" | "data.aws_iam_openid_connect_provider"
            )
        })
        .map(|inst| PlanOidcProvider {
            address: inst.address.clone(),
            url: inst.known_str("url").map(str::to_string),
            arn: inst.known_str("arn").map(str::to_string),
            client_ids: match inst.field(&key("client_id_list")) {
                super::index::Field::Known(Value::Array(ids)) => ids
                    .iter()
                    .filter_map(|id| id.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Each `aws_iam_role`'s `max_session_duration`, by role name, when known.
pub(crate) fn max_session_durations(ix: &Index) -> std::collections::BTreeMap<String, u32> {
    ix.instances
        .iter()
        .filter(|inst| matches!(inst.kind().as_str(), "aws_iam_role" | "data.aws_iam_role"))
        .filter_map(|inst| {
            let name = inst.known_str("name")?.to_string();
            match inst.field(&key("max_session_duration")) {
                super::index::Field::Known(Value::Number(n)) => {
                    Some((name, u32::try_from(n.as_u64()?).ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

fn policy(kind: PlanPolicyKind, inst: &Instance, json: String) -> PlanPolicy {
    PlanPolicy {
        kind,
        address: inst.address.clone(),
        json,
        location: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_managed_policies() {
        assert!(is_aws_managed(
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
        ));
        assert!(is_aws_managed(
            "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(!is_aws_managed("arn:aws:iam::123456789012:policy/mine"));
        assert!(!is_aws_managed("aws_iam_policy.cleanup[0]"));
    }
}
