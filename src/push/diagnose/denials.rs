//! Denied requests: grouped by action and resource, with the reason AWS
//! gave ([`super::denial`]) and the fix that grants exactly what is missing.

use super::*;

pub(super) fn is_denial(e: &Exchange) -> bool {
    let code = e.error.as_ref().map(|e| e.code.as_str());
    let message = e.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
    match e.status {
        Some(403) if e.method == "HEAD" && e.error.is_none() && e.raw_error.is_none() => true,
        Some(403) => {
            code == Some("DENIED") && !is_quota(message)
                || denial::is_authorization_message(message)
        }
        _ => {
            code == Some("AccessDeniedException")
                || (e.method == "API" && denial::is_authorization_message(message))
        }
    }
}

pub(super) fn is_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("service limit") || m.contains("quota") || m.contains("limit exceeded")
}

/// The default resource of a step when the message does not name one.
pub(super) fn default_resource(e: &Exchange, ctx: &Context<'_>) -> String {
    match e.step {
        Step::AuthorizationToken => "*".into(),
        // A request about another repository of the registry (a mount's
        // source, a base image's read) is authorized on that repository.
        _ if !e.repository.is_empty() && e.repository != ctx.repository.name => Repository {
            name: e.repository.clone(),
            ..ctx.repository.clone()
        }
        .arn(),
        Step::BlobMount => ctx
            .mount_source
            .map(Repository::arn)
            .unwrap_or_else(|| ctx.repository.arn()),
        _ => ctx.repository.arn(),
    }
}

#[derive(Default)]
pub(super) struct DenialGroup {
    requests: BTreeMap<String, usize>,
    steps: BTreeSet<Step>,
    reason: Option<DenialReason>,
    principal: Option<String>,
    policy_arn: Option<String>,
    notes: BTreeSet<String>,
}

pub(super) fn denials(x: &[Exchange], ctx: &Context<'_>, explained: &mut [bool]) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, String), DenialGroup> = BTreeMap::new();
    for (i, e) in x.iter().enumerate() {
        if e.error_body_for.is_some() || e.is_cleanup_read_back() || !is_denial(e) {
            continue;
        }
        explained[i] = true;
        let step_action = e.step.primary_action().unwrap_or("ecr:*");
        let mut note = None;
        let parsed: Option<Denial> = match &e.error {
            Some(err) => Some(denial::parse(&err.message)),
            None => {
                // Bodiless 403 on HEAD: the follow-up GET carries the message, if it is about the same action.
                let body = x.iter().position(|g| g.error_body_for == Some(i));
                if let Some(g) = body {
                    explained[g] = true;
                }
                body.and_then(|g| x[g].error.as_ref()).map(|err| denial::parse(&err.message)).and_then(|d| {
                    if d.action.as_deref() == Some(step_action) {
                        Some(d)
                    } else {
                        if let Some(other) = &d.action {
                            note = Some(format!(
                                "The GET sent to read the error of the bodiless HEAD was denied for `{other}` instead, which says nothing about `{step_action}`."
                            ));
                        }
                        None
                    }
                })
            }
        };
        let action = parsed
            .as_ref()
            .and_then(|d| d.action.clone())
            .filter(|a| {
                e.step.info().iam_actions.contains(&a.as_str())
                    || e.step == Step::Cleanup
                    || e.method == "API"
            })
            .unwrap_or_else(|| step_action.to_string());
        let resource = parsed
            .as_ref()
            .and_then(|d| d.resource.clone())
            .unwrap_or_else(|| default_resource(e, ctx));
        let group = groups.entry((action, resource)).or_default();
        *group
            .requests
            .entry(format!("{} {}", e.method, e.path))
            .or_default() += 1;
        group.steps.insert(e.step);
        if let Some(d) = parsed {
            if d.reason != DenialReason::Unstated || group.reason.is_none() {
                group.reason = Some(d.reason);
            }
            group.principal = group.principal.take().or(d.principal);
            group.policy_arn = group.policy_arn.take().or(d.policy_arn);
        }
        if let Some(n) = note {
            group.notes.insert(n);
        }
    }

    groups
        .into_iter()
        .map(|((action, resource), g)| {
            let reason = g.reason.unwrap_or(DenialReason::Unstated);
            let reason_text = if g.reason.is_none() && g.requests.keys().all(|r| r.starts_with("HEAD ")) {
                "ECR answers a denied HEAD without a body, so the reason is not stated (most often no identity-based policy allows it)"
            } else {
                reason.describe()
            };
            let principal = g.principal.as_deref().or(ctx.principal);
            let cleanup = g.steps.contains(&Step::Cleanup);
            let rule = if cleanup { &rules::PUSH_CLEANUP_DENIED } else { &rules::PUSH_ACCESS_DENIED };
            let why: Vec<String> = g.steps.iter().map(|s| s.info().when.to_string()).collect();
            let mut requests: Vec<String> = g
                .requests
                .iter()
                .take(3)
                .map(|(r, n)| if *n > 1 { format!("{r} (×{n})") } else { r.clone() })
                .collect();
            if g.requests.len() > 3 {
                requests.push(format!("and {} more (see the trace)", g.requests.len() - 3));
            }
            let mut message = format!(
                "`{action}` is denied on `{resource}`: {reason_text}.{} buildx sends these requests for: {}. Denied: {}.",
                g.policy_arn.as_deref().map(|p| format!(" Policy: `{p}`.")).unwrap_or_default(),
                why.join("; "),
                requests.join(", "),
            );
            if let Some(p) = principal {
                message.push_str(&format!(" Principal: `{p}`."));
            }
            for n in &g.notes {
                message.push(' ');
                message.push_str(n);
            }
            let title = if cleanup {
                format!("{action} denied: the probe's image was not deleted")
            } else {
                format!("{action} denied on {}", short_resource(&resource))
            };
            rule.finding(title, message)
                .with_iam_action(&action)
                .with_resources([resource.clone()])
                .with_fix(fix_for(&action, &resource, reason, principal))
        })
        .collect()
}

pub(super) fn short_resource(resource: &str) -> &str {
    resource
        .rsplit_once(":repository/")
        .map_or(resource, |(_, name)| name)
}

/// The role ARN behind an assumed-role session ARN (the path is not in the session ARN).
pub(super) fn role_of(principal: &str) -> Option<(String, String)> {
    let rest = principal.split(":assumed-role/").nth(1)?;
    let role = rest.split('/').next()?;
    let prefix = principal.split(":assumed-role/").next()?;
    let partition = prefix.split(':').nth(1).unwrap_or("aws");
    let account = prefix.split(':').nth(4).unwrap_or("");
    Some((
        role.to_string(),
        format!("arn:{partition}:iam::{account}:role/{role}"),
    ))
}

/// The minimal statement that grants `action` on `resource`, with Terraform and CLI forms.
pub fn fix_for(action: &str, resource: &str, reason: DenialReason, principal: Option<&str>) -> Fix {
    let sid = format!("Allow{}", action.trim_start_matches("ecr:"));
    let statement =
        json!({"Sid": sid, "Effect": "Allow", "Action": [action], "Resource": resource});
    let role = principal.and_then(role_of);
    let role_name = role.as_ref().map_or("<role-name>", |(n, _)| n.as_str());
    let terraform = format!(
        "data \"aws_iam_policy_document\" \"push\" {{\n  statement {{\n    sid       = \"{sid}\"\n    actions   = [\"{action}\"]\n    resources = [\"{resource}\"]\n  }}\n}}\n\nresource \"aws_iam_role_policy\" \"push\" {{\n  role   = \"{role_name}\"\n  policy = data.aws_iam_policy_document.push.json\n}}"
    );
    let document = json!({"Version": "2012-10-17", "Statement": [statement]});
    let aws_cli = format!(
        "aws iam put-role-policy --role-name {role_name} --policy-name ecr-fargate-preflight-{} --policy-document '{}'",
        action.trim_start_matches("ecr:"),
        document
    );
    let description = match reason {
        DenialReason::NoResourcePolicy => {
            let principal_arn = role.as_ref().map_or("<role-arn>", |(_, a)| a.as_str());
            return Fix {
                description: format!(
                    "Cross-account: the repository policy of `{resource}` must allow `{action}` for `{principal_arn}`, and the role's own policy must allow it too (the statement below)."
                ),
                policy_statement: Some(statement),
                terraform: Some(format!(
                    "data \"aws_iam_policy_document\" \"repository\" {{\n  statement {{\n    sid     = \"{sid}\"\n    actions = [\"{action}\"]\n    principals {{\n      type        = \"AWS\"\n      identifiers = [\"{principal_arn}\"]\n    }}\n  }}\n}}\n\nresource \"aws_ecr_repository_policy\" \"this\" {{\n  repository = \"{}\"\n  policy     = data.aws_iam_policy_document.repository.json\n}}",
                    short_resource(resource)
                )),
                aws_cli: Some(aws_cli),
            };
        }
        DenialReason::ExplicitDeny => format!(
            "An explicit Deny matches `{action}`: adding an Allow does not help. Find the Deny statement (role policies, repository policy) and narrow it; the role also needs this Allow."
        ),
        DenialReason::ServiceControlPolicy | DenialReason::ResourceControlPolicy => format!(
            "An organization policy denies `{action}`: ask the organization's administrators to exempt this role or repository. The role also needs this Allow."
        ),
        DenialReason::PermissionsBoundary => format!(
            "The role's permissions boundary must allow `{action}` as well as its policy: add this statement to both."
        ),
        DenialReason::SessionPolicy => format!(
            "The session policy passed when assuming the role must allow `{action}`; the role also needs this Allow."
        ),
        DenialReason::NoIdentityPolicy | DenialReason::Unstated => {
            format!("Allow `{action}` on `{resource}` in the pushing role's policy.")
        }
    };
    Fix {
        description,
        policy_statement: Some(statement),
        terraform: Some(terraform),
        aws_cli: Some(aws_cli),
    }
}
