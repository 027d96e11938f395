//! VPC endpoint policies must allow what the task's start needs (reference rule R11).
//!
//! The policy documents are evaluated offline, as IAM does for the parts that
//! matter here: `Action`/`NotAction` (wildcards, case-insensitive),
//! `Resource`/`NotResource` (wildcards, case-sensitive), `Principal`/`NotPrincipal`,
//! and any matching Deny wins. Statements with a `Condition` cannot be
//! evaluated offline: a conditional Allow does not count, a conditional Deny
//! is not assumed to match, and the finding says so. No policy document means
//! the default full-access policy.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::util::{self, labels};
use crate::network::endpoints::{EndpointType, ecr_region};
use crate::network::facts::{self, IsolatedWorkload, isolated_workloads, routes_to_s3};
use crate::network::needs::{parameter_arn, repository_arn, secret_arn};
use crate::network::snapshot::{NetworkSnapshot, TaskDefinition, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

const ENDPOINT_POLICIES: &str =
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html";

/// The S3 Gateway endpoint's policy does not allow reading ECR's image layers.
///
/// ## What it does
/// Evaluates the policy of the S3 Gateway endpoint that serves the isolated
/// task subnets for `s3:GetObject` on
/// `arn:aws:s3:::prod-<region>-starport-layer-bucket/*`, the bucket where ECR
/// keeps image layers.
///
/// ## Why is this bad?
/// ECR redirects every layer download to a pre-signed URL in that bucket; the
/// endpoint policy applies to it. A policy that lists only your own buckets
/// refuses the layers and the pull fails with `CannotPullContainerError`. The
/// request is signed by ECR, not by the task's role: only statements with
/// `"Principal": "*"` apply to it, and conditions such as `aws:PrincipalAccount`
/// reportedly break layer pulls.
///
/// ## How to fix
/// Add a statement allowing `s3:GetObject` on the layer bucket to the endpoint policy.
pub const S3_ENDPOINT_POLICY_BLOCKS_LAYERS: Rule = Rule {
    id: "network/s3-endpoint-policy-blocks-layers",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The S3 Gateway endpoint's policy does not allow `s3:GetObject` on `arn:aws:s3:::prod-<region>-starport-layer-bucket/*`, where ECR keeps image layers.",
    why: "Layer downloads go through the endpoint to that bucket with ECR-signed URLs; a policy that refuses them makes the pull fail with `CannotPullContainerError`.",
    fix: "Add a statement with `\"Principal\": \"*\"` allowing `s3:GetObject` on the starport layer bucket to the endpoint policy.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway",
};

/// An endpoint policy refuses a call the task makes while starting.
///
/// ## What it does
/// Evaluates the policies of the endpoints isolated Fargate tasks use for the
/// calls the execution role makes there: `ecr:GetAuthorizationToken`,
/// `ecr:BatchGetImage` and `ecr:GetDownloadUrlForLayer` (`ecr.api`, `ecr.dkr`),
/// `logs:CreateLogStream` and `logs:PutLogEvents` (`logs`),
/// `secretsmanager:GetSecretValue`, `ssm:GetParameters`, and `s3:GetObject` on
/// `environmentFiles` (the S3 Gateway endpoint), on the task's own resources.
///
/// ## Why is this bad?
/// An endpoint policy is an extra gate on every request through the endpoint:
/// even when the execution role allows the call, the endpoint refuses it with
/// `AccessDeniedException`, and the task does not start.
///
/// ## How to fix
/// Add an Allow statement for the execution role and these actions to the
/// endpoint policy, or narrow the Deny that matches.
pub const ENDPOINT_POLICY_BLOCKS: Rule = Rule {
    id: "network/endpoint-policy-blocks",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A VPC endpoint's policy refuses a call the task makes while starting (ECR auth and pull, CloudWatch Logs, Secrets Manager, SSM, S3 environment files).",
    why: "The endpoint refuses the request with `AccessDeniedException` even when the execution role allows it, and the task does not start.",
    fix: "Allow these actions for the execution role in the endpoint policy, or narrow the Deny that matches.",
    docs: ENDPOINT_POLICIES,
};

/// Who signs a request through the endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// The task's execution role (its ARN, when known).
    Role(Option<&'a str>),
    /// AWS itself, such as ECR's pre-signed layer URLs: only `"Principal": "*"` covers it.
    Service,
}

/// The endpoint policy's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// An unconditional Allow matches and no Deny does.
    Allowed,
    /// This Deny statement matches.
    ExplicitDeny(String),
    /// Nothing allows it.
    ImplicitDeny,
    /// Only Allow statements with a `Condition` match (they cannot be evaluated offline).
    Conditional(Vec<String>),
}

impl Decision {
    fn describe(&self) -> String {
        match self {
            Decision::Allowed => "allowed".into(),
            Decision::ExplicitDeny(label) => format!("explicitly denied by {label}"),
            Decision::ImplicitDeny => "no statement allows it".into(),
            Decision::Conditional(labels) => format!(
                "only {} allow{} it, with a `Condition` that cannot be evaluated offline",
                util::and_list(labels),
                if labels.len() == 1 { "s" } else { "" }
            ),
        }
    }
}

/// Parses a policy document.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Evaluates `policy` for one request.
pub(crate) fn evaluate(
    policy: &Value,
    action: &str,
    resource: &str,
    caller: Caller<'_>,
) -> Decision {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut allowed = false;
    let mut conditional = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        let Some(st) = statement.as_object() else {
            continue;
        };
        let label = match st.get("Sid").and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() => format!("statement `{sid}`"),
            _ => format!("statement {}", i + 1),
        };
        if !matches_action(st, action)
            || !matches_resource(st, resource)
            || !matches_principal(st, caller)
        {
            continue;
        }
        let has_condition = st
            .get("Condition")
            .is_some_and(|c| c.as_object().is_none_or(|m| !m.is_empty()));
        match st.get("Effect").and_then(Value::as_str) {
            Some("Deny") if !has_condition => return Decision::ExplicitDeny(label),
            Some("Allow") if has_condition => conditional.push(label),
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allowed
    } else if !conditional.is_empty() {
        Decision::Conditional(conditional)
    } else {
        Decision::ImplicitDeny
    }
}

/// A string or an array of strings.
fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
    match v? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn matches_action(st: &Map<String, Value>, action: &str) -> bool {
    if let Some(list) = strings(st.get("Action")) {
        return list.iter().any(|p| glob(p, action, true));
    }
    if let Some(list) = strings(st.get("NotAction")) {
        return !list.iter().any(|p| glob(p, action, true));
    }
    false
}

fn matches_resource(st: &Map<String, Value>, resource: &str) -> bool {
    if let Some(list) = strings(st.get("Resource")) {
        return list.iter().any(|p| glob(p, resource, false));
    }
    if let Some(list) = strings(st.get("NotResource")) {
        return !list.iter().any(|p| glob(p, resource, false));
    }
    true
}

/// Whether a principal list names the caller.
fn names(principal: &Value, caller: Caller<'_>) -> bool {
    let entries: Vec<&str> = match principal {
        Value::String(s) => vec![s.as_str()],
        Value::Object(m) => strings(m.get("AWS")).unwrap_or_default(),
        _ => Vec::new(),
    };
    entries.iter().any(|e| {
        *e == "*"
            || match caller {
                Caller::Role(Some(arn)) => {
                    let account = arn.split(':').nth(4).unwrap_or_default();
                    *e == arn
                        || (!account.is_empty()
                            && (*e == account || *e == format!("arn:aws:iam::{account}:root")))
                }
                Caller::Role(None) | Caller::Service => false,
            }
    })
}

fn matches_principal(st: &Map<String, Value>, caller: Caller<'_>) -> bool {
    match (st.get("Principal"), st.get("NotPrincipal")) {
        (Some(p), _) => names(p, caller),
        (None, Some(not)) => !names(not, caller),
        (None, None) => true,
    }
}

/// IAM wildcard matching: `*` any run of characters, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (norm(pattern), norm(text));
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One request a task makes through an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    action: &'static str,
    resource: String,
}

/// The calls the execution role makes through the endpoint of `service`.
fn calls(s: &NetworkSnapshot, task: &TaskDefinition, service: &str) -> Vec<Call> {
    let account = facts::account(s).unwrap_or_else(|| "*".into());
    let region = &s.region;
    let mut out = Vec::new();
    let mut add = |action: &'static str, resource: String| {
        let call = Call { action, resource };
        if !out.contains(&call) {
            out.push(call);
        }
    };
    for c in &task.containers {
        match service {
            "ecr.api" | "ecr.dkr" if ecr_region(&c.image).as_deref() == Some(region.as_str()) => {
                add("ecr:GetAuthorizationToken", "*".into());
                if let Some(arn) = repository_arn(&c.image) {
                    add("ecr:BatchGetImage", arn.clone());
                    add("ecr:GetDownloadUrlForLayer", arn);
                }
            }
            "logs" if c.log_driver.as_deref() == Some("awslogs") => {
                let group = c
                    .log_options
                    .get("awslogs-group")
                    .map_or("*", String::as_str);
                let stream = match c.log_options.get("awslogs-stream-prefix") {
                    Some(prefix) => format!("{prefix}/{}/*", c.name),
                    None => "*".into(),
                };
                let arn = format!(
                    "arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}"
                );
                add("logs:CreateLogStream", arn.clone());
                add("logs:PutLogEvents", arn);
            }
            "secretsmanager" => {
                for secret in c.secrets.iter().chain(&c.repository_credentials) {
                    if secret.contains(":secretsmanager:") {
                        add("secretsmanager:GetSecretValue", secret_arn(secret));
                    }
                }
            }
            "ssm" => {
                for secret in c.secrets.iter().filter(|x| !x.contains(":secretsmanager:")) {
                    add("ssm:GetParameters", parameter_arn(secret, region, &account));
                }
            }
            _ => {}
        }
    }
    out
}

struct Group<'a> {
    rule: &'static Rule,
    endpoint: &'a VpcEndpoint,
    service: String,
    /// Call → what the policy says.
    blocked: BTreeMap<Call, Decision>,
    role: Option<String>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
    unparsable: Option<String>,
}

/// The findings of the two endpoint-policy rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<(&'static str, String), Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        let role = iw.task.execution_role_arn.as_deref();
        let mut checks: Vec<(&Rule, &VpcEndpoint, Vec<Call>, Caller)> = Vec::new();
        for (req, e) in iw.interface_endpoints(s) {
            let calls = calls(s, iw.task, req.service);
            if !calls.is_empty() {
                checks.push((&ENDPOINT_POLICY_BLOCKS, e, calls, Caller::Role(role)));
            }
        }
        for e in s3_endpoints(s, &iw) {
            let layers = iw
                .task
                .containers
                .iter()
                .any(|c| ecr_region(&c.image).as_deref() == Some(s.region.as_str()));
            if layers {
                let layer_bucket =
                    format!("arn:aws:s3:::prod-{}-starport-layer-bucket/*", s.region);
                let call = Call {
                    action: "s3:GetObject",
                    resource: layer_bucket,
                };
                checks.push((
                    &S3_ENDPOINT_POLICY_BLOCKS_LAYERS,
                    e,
                    vec![call],
                    Caller::Service,
                ));
            }
            let files: Vec<Call> = iw
                .task
                .containers
                .iter()
                .flat_map(|c| &c.environment_files)
                .map(|arn| Call {
                    action: "s3:GetObject",
                    resource: arn.clone(),
                })
                .collect();
            if !files.is_empty() {
                checks.push((&ENDPOINT_POLICY_BLOCKS, e, files, Caller::Role(role)));
            }
        }
        for (rule, e, calls, caller) in checks {
            let Some(text) = &e.policy_document else {
                continue;
            };
            let (blocked, unparsable) = match parse(text) {
                Ok(policy) => (
                    calls
                        .into_iter()
                        .filter_map(|c| match evaluate(&policy, c.action, &c.resource, caller) {
                            Decision::Allowed => None,
                            d => Some((c, d)),
                        })
                        .collect::<Vec<_>>(),
                    None,
                ),
                Err(error) => (Vec::new(), Some(error)),
            };
            if blocked.is_empty() && unparsable.is_none() {
                continue;
            }
            let g = groups
                .entry((rule.id, e.id.clone()))
                .or_insert_with(|| Group {
                    rule,
                    endpoint: e,
                    service: facts::short_service(s, e).to_string(),
                    blocked: BTreeMap::new(),
                    role: role.map(str::to_string),
                    workloads: BTreeSet::new(),
                    workload_resources: BTreeSet::new(),
                    unparsable: None,
                });
            g.blocked.extend(blocked);
            g.unparsable = g.unparsable.take().or(unparsable);
            g.role = g.role.take().or(role.map(str::to_string));
            g.workloads.insert(iw.label());
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups.into_values().map(|g| finding(s, g)).collect()
}

/// The available S3 Gateway endpoints on the route tables of the workload's isolated subnets.
fn s3_endpoints<'a>(s: &'a NetworkSnapshot, iw: &IsolatedWorkload<'a>) -> Vec<&'a VpcEndpoint> {
    if iw.requirement("s3").is_none() {
        return Vec::new();
    }
    let usable = facts::usable_endpoints(s, iw.vpc_id, "s3", EndpointType::Gateway);
    let mut out: Vec<&VpcEndpoint> = Vec::new();
    for (rt, _) in iw.route_tables(s) {
        for e in &usable {
            if routes_to_s3(s, rt, std::slice::from_ref(e)) && !out.iter().any(|x| x.id == e.id) {
                out.push(e);
            }
        }
    }
    out
}

fn finding(s: &NetworkSnapshot, g: Group) -> Finding {
    let id = &g.endpoint.id;
    let full = &g.endpoint.service_name;
    let layers = g.rule.id == S3_ENDPOINT_POLICY_BLOCKS_LAYERS.id;
    let only_conditional = !g.blocked.is_empty()
        && g.blocked
            .values()
            .all(|d| matches!(d, Decision::Conditional(_)));
    let denies: BTreeSet<String> = g
        .blocked
        .values()
        .filter_map(|d| match d {
            Decision::ExplicitDeny(label) => Some(label.clone()),
            _ => None,
        })
        .collect();
    let lines: Vec<String> = g
        .blocked
        .iter()
        .map(|(c, d)| format!("`{}` on `{}`: {}", c.action, c.resource, d.describe()))
        .collect();
    let message = if let Some(error) = &g.unparsable {
        format!(
            "The policy of endpoint `{id}` (`{full}`) is not valid JSON ({error}), so what it allows for {} could not be checked.",
            labels(&g.workloads)
        )
    } else if layers {
        format!(
            "The policy of S3 Gateway endpoint `{id}` does not allow {}. That bucket holds ECR's image layers: every layer download of {} goes through this endpoint and is refused, and the task stops with `CannotPullContainerError: … failed to copy: httpReadSeeker: failed open: … 403 Forbidden`. The download uses a URL pre-signed by ECR, not the task's role, so only statements with `\"Principal\": \"*\"` apply, and conditions such as `aws:PrincipalAccount` do not match it.",
            util::and_list(&lines),
            labels(&g.workloads)
        )
    } else {
        let symptom = util::symptom(&g.service)
            .map(|x| format!(" A refused call stops the task as an unreachable endpoint does ({x}), but with `AccessDeniedException` instead of the timeout."))
            .unwrap_or_default();
        format!(
            "The policy of endpoint `{id}` (`{full}`) refuses calls that {} make{} while starting, as {}:\n- {}\nAn endpoint policy applies on top of the execution role's own permissions.{symptom}",
            labels(&g.workloads),
            if g.workloads.len() == 1 { "s" } else { "" },
            g.role
                .as_deref()
                .map_or("the execution role".to_string(), |r| format!("`{r}`")),
            lines.join("\n- ")
        )
    };
    let message = if only_conditional {
        format!("{message} Verify the conditions by hand; the check cannot evaluate them offline.")
    } else {
        message
    };

    let statement = if layers {
        json!({
            "Sid": "AllowEcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::prod-{}-starport-layer-bucket/*", s.region),
        })
    } else {
        let actions: BTreeSet<&str> = g.blocked.keys().map(|c| c.action).collect();
        let resources: BTreeSet<&str> = g.blocked.keys().map(|c| c.resource.as_str()).collect();
        let principal = match &g.role {
            Some(role) => json!({ "AWS": role }),
            None => json!("*"),
        };
        json!({
            "Sid": "AllowFargateTaskStart",
            "Effect": "Allow",
            "Principal": principal,
            "Action": actions.into_iter().collect::<Vec<_>>(),
            "Resource": resources.into_iter().collect::<Vec<_>>(),
        })
    };
    let mut document = g
        .endpoint
        .policy_document
        .as_deref()
        .and_then(|t| parse(t).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({ "Version": "2012-10-17", "Statement": [] }));
    let existing = match document.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut all = existing;
    if !g.blocked.is_empty() || g.unparsable.is_some() {
        all.push(statement.clone());
    }
    document["Statement"] = Value::Array(all);
    let pretty = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    let description = if !denies.is_empty() {
        format!(
            "{} in the policy of `{id}` matches: an Allow does not override it. Narrow that Deny so it does not cover these calls; the policy below also adds the Allow they need.",
            util::and_list(&denies.iter().cloned().collect::<Vec<_>>())
        )
    } else if g.unparsable.is_some() {
        format!(
            "Replace the policy of `{id}` with valid JSON that allows these calls, such as the statement below."
        )
    } else if only_conditional {
        format!(
            "If the conditions of the policy of `{id}` do not hold for these calls, add the statement below (the commands keep its existing statements)."
        )
    } else {
        format!(
            "Add the statement below to the policy of `{id}` (the commands keep its existing statements)."
        )
    };
    let mut resources = vec![id.clone()];
    resources.extend(g.role.clone());
    resources.extend(g.workload_resources.iter().cloned());
    let title = if layers {
        format!("{id} (s3) refuses ECR's image layers")
    } else {
        format!("{id} ({}) endpoint policy refuses task calls", g.service)
    };
    let mut f = g
        .rule
        .finding(title, message)
        .with_resources(resources)
        .with_fix(Fix {
            description,
            policy_statement: Some(statement),
            terraform: Some(format!(
                "resource \"aws_vpc_endpoint_policy\" \"{}\" {{\n  vpc_endpoint_id = \"{id}\"\n  policy          = <<-EOT\n{}\n  EOT\n}}",
                util::tf_name(&g.service),
                pretty
                    .lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            aws_cli: Some(format!(
                "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --policy-document '{}' --region {}",
                document, s.region
            )),
        });
    if only_conditional || (g.unparsable.is_some() && g.blocked.is_empty()) {
        f = f.with_severity(Severity::Warning);
    }
    if let [(call, _)] = g.blocked.iter().collect::<Vec<_>>().as_slice() {
        f = f.with_iam_action(call.action);
    }
    f.endpoint_service = Some(full.clone());
    f
}

#[cfg(test)]
mod tests;
