//! The task execution role: what it must be allowed for the task to start,
//! judged from `iam:SimulatePrincipalPolicy` results in the snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::util::{self, labels};
use crate::network::facts::{self, fargate_workloads, workload_label};
use crate::network::needs::{ECR_PULL, needed_actions};
use crate::network::needs::{parameter_arn, repository_arn, secret_arn};
use crate::network::snapshot::{NetworkSnapshot, TaskDefinition};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

const EXECUTION_ROLE_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html";

/// What an action is for, and what the task prints when it is denied.
fn purpose(action: &str) -> (&'static str, String) {
    match action {
        "ecr:GetAuthorizationToken" => (
            "log in to ECR",
            "`ResourceInitializationError: unable to pull secrets or registry auth: … AccessDeniedException: … is not authorized to perform: ecr:GetAuthorizationToken`".into(),
        ),
        a if a.starts_with("ecr:") => (
            "pull the image from ECR",
            format!("`CannotPullContainerError: … is not authorized to perform: {a}`"),
        ),
        "logs:CreateLogGroup" => (
            "create the log group (`awslogs-create-group`)",
            "`ResourceInitializationError: failed to validate logger args: create log group … AccessDeniedException`".into(),
        ),
        a if a.starts_with("logs:") => (
            "send the containers' logs to CloudWatch Logs (awslogs)",
            format!("`CannotStartContainerError: … failed to initialize logging driver: … AccessDeniedException … {a}`"),
        ),
        "secretsmanager:GetSecretValue" => (
            "read secrets (or `repositoryCredentials`) from Secrets Manager",
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secret from asm: … AccessDeniedException`".into(),
        ),
        _ => (
            "read parameters from SSM Parameter Store",
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secrets from ssm: … AccessDeniedException`".into(),
        ),
    }
}

/// The resources a task definition uses `action` on, for the fix's statement.
fn resources_for(s: &NetworkSnapshot, task: &TaskDefinition, action: &str) -> Vec<String> {
    let account = facts::account(s).unwrap_or_else(|| "*".into());
    let mut out: Vec<String> = Vec::new();
    for c in &task.containers {
        match action {
            "ecr:GetAuthorizationToken" => out.push("*".into()),
            a if a.starts_with("ecr:") => out.extend(repository_arn(&c.image)),
            a if a.starts_with("logs:") && c.log_driver.as_deref() == Some("awslogs") => {
                let region = c.log_options.get("awslogs-region").unwrap_or(&s.region);
                let group = c
                    .log_options
                    .get("awslogs-group")
                    .map_or("*", String::as_str);
                out.push(format!(
                    "arn:aws:logs:{region}:{account}:log-group:{group}:*"
                ));
            }
            "secretsmanager:GetSecretValue" => out.extend(
                c.secrets
                    .iter()
                    .chain(&c.repository_credentials)
                    .filter(|x| x.contains(":secretsmanager:"))
                    .map(|x| secret_arn(x)),
            ),
            "ssm:GetParameters" => out.extend(
                c.secrets
                    .iter()
                    .filter(|x| !x.contains(":secretsmanager:"))
                    .map(|x| parameter_arn(x, &s.region, &account)),
            ),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        out.push("*".into());
    }
    out
}

/// The role name in a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A workload needs an execution role and its task definition has none.
///
/// ## What it does
/// Flags Fargate task definitions without `executionRoleArn` that pull from
/// ECR, log with awslogs, or read secrets.
///
/// ## Why is this bad?
/// On Fargate these are done with the execution role's credentials. Without
/// one there are no credentials: the ECR pull fails with `no basic auth
/// credentials`, and ECS refuses awslogs and secrets.
///
/// ## How to fix
/// Create a role trusted by `ecs-tasks.amazonaws.com` with
/// `AmazonECSTaskExecutionRolePolicy` (plus the secrets it reads), and set it as
/// the task definition's `executionRoleArn`.
pub const EXECUTION_ROLE_MISSING: Rule = Rule {
    id: "network/execution-role-missing",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A Fargate task definition that pulls from ECR, logs with awslogs or reads secrets has no execution role.",
    why: "Fargate does these with the execution role's credentials; without one the pull fails (`no basic auth credentials`) and awslogs and secrets are refused.",
    fix: "Create a role trusted by `ecs-tasks.amazonaws.com` with `AmazonECSTaskExecutionRolePolicy` and set it as `executionRoleArn`.",
    docs: EXECUTION_ROLE_DOCS,
};

/// The execution role is not allowed an action the task needs to start.
///
/// ## What it does
/// Reads the IAM policy simulator's decision (`iam:SimulatePrincipalPolicy`,
/// made during discovery) for each action the task definition needs
/// ([`needed_actions`]) and flags the ones that are not `allowed`.
///
/// ## Why is this bad?
/// The task stops before its containers start, with
/// `ResourceInitializationError` or `CannotPullContainerError` naming
/// `AccessDeniedException` — a network-looking failure that is really IAM.
///
/// ## How to fix
/// Add the statement in the finding to the execution role, or narrow the Deny
/// that matches.
pub const EXECUTION_ROLE_DENIED: Rule = Rule {
    id: "network/execution-role-denied",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The IAM policy simulator says the task execution role is not allowed an action the task needs to start (ECR pull, CloudWatch Logs, Secrets Manager, SSM).",
    why: "The task stops before its containers start, with `ResourceInitializationError` or `CannotPullContainerError … AccessDeniedException`.",
    fix: "Add the statement in the finding to the execution role, or narrow the Deny that matches.",
    docs: EXECUTION_ROLE_DOCS,
};

/// The execution role could not be simulated.
///
/// ## What it does
/// Notes execution roles whose permissions discovery could not simulate, with
/// the reason (usually: `iam:SimulatePrincipalPolicy` is not allowed, or the
/// role is in another account).
///
/// ## Why is this bad?
/// It is not an error: the role may be fine. But whether it allows the ECR
/// pull, logging and secrets was not checked.
///
/// ## How to fix
/// Allow `iam:SimulatePrincipalPolicy` on the role for the role that runs the check.
pub const EXECUTION_ROLE_NOT_SIMULATED: Rule = Rule {
    id: "network/execution-role-not-simulated",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "The task execution role's permissions could not be simulated, so they were not checked.",
    why: "The role may be fine, but whether it allows the ECR pull, logging and secrets is unknown.",
    fix: "Allow `iam:SimulatePrincipalPolicy` on the execution role for the role that runs the check.",
    docs: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html",
};

/// The findings of the three execution-role rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let mut findings = missing(snapshot);
    findings.extend(denied(snapshot));
    findings.extend(not_simulated(snapshot));
    findings
}

#[derive(Default)]
struct Users {
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
}

fn missing(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<String, (&TaskDefinition, Users)> = BTreeMap::new();
    for w in fargate_workloads(s) {
        let Some(task) = s.task_definition_of(w) else {
            continue;
        };
        if task.execution_role_arn.is_some() || needed_actions(task).is_empty() {
            continue;
        }
        let g = groups
            .entry(task.arn.clone())
            .or_insert_with(|| (task, Users::default()));
        g.1.workloads.insert(workload_label(w));
        g.1.workload_resources
            .insert(facts::workload_resource(s, w));
    }
    let account = facts::account(s).unwrap_or_else(|| "<account-id>".into());
    groups
        .into_iter()
        .map(|(arn, (task, users))| {
            let needed = needed_actions(task);
            let purposes: BTreeSet<&str> = needed.iter().map(|a| purpose(a).0).collect();
            let message = format!(
                "Task definition `{}:{}` of {} has no execution role (`executionRoleArn`), but Fargate needs one to {}. Without it the task has no credentials for these: the ECR pull fails with `CannotPullContainerError: … no basic auth credentials`, and ECS refuses awslogs and secrets.",
                task.family,
                task.revision,
                labels(&users.workloads),
                util::and_list(&purposes.iter().map(|p| p.to_string()).collect::<Vec<_>>())
            );
            let name = format!("{}-execution", task.family);
            let tf = util::tf_name(&name);
            let extra: Vec<&str> = needed
                .iter()
                .copied()
                .filter(|a| !ECR_PULL.contains(a) && *a != "logs:CreateLogStream" && *a != "logs:PutLogEvents")
                .collect();
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
            let mut terraform = format!(
                "resource \"aws_iam_role\" \"{tf}\" {{\n  name = \"{name}\"\n  assume_role_policy = jsonencode({{\n    Version   = \"2012-10-17\"\n    Statement = [{{ Effect = \"Allow\", Principal = {{ Service = \"ecs-tasks.amazonaws.com\" }}, Action = \"sts:AssumeRole\" }}]\n  }})\n}}\n\nresource \"aws_iam_role_policy_attachment\" \"{tf}\" {{\n  role       = aws_iam_role.{tf}.name\n  policy_arn = \"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy\"\n}}\n"
            );
            let mut cli = format!(
                "aws iam create-role --role-name {name} --assume-role-policy-document '{trust}'\naws iam attach-role-policy --role-name {name} --policy-arn arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
            );
            let mut statement = None;
            if !extra.is_empty() {
                let resources: BTreeSet<String> = extra.iter().flat_map(|a| resources_for(s, task, a)).collect();
                let st = json!({"Sid": "AllowTaskStart", "Effect": "Allow", "Action": extra, "Resource": resources});
                terraform.push_str(&format!(
                    "\nresource \"aws_iam_role_policy\" \"{tf}_secrets\" {{\n  role   = aws_iam_role.{tf}.name\n  policy = jsonencode({{\n    Version   = \"2012-10-17\"\n    Statement = [{{ Effect = \"Allow\", Action = [{}], Resource = [{}] }}]\n  }})\n}}\n",
                    util::tf_list(&extra),
                    util::tf_list(&resources)
                ));
                cli.push_str(&format!(
                    "\naws iam put-role-policy --role-name {name} --policy-name task-start --policy-document '{}'",
                    json!({"Version": "2012-10-17", "Statement": [st]})
                ));
                statement = Some(st);
            }
            terraform.push_str(&format!(
                "\n# In the task definition of {}: execution_role_arn = aws_iam_role.{tf}.arn",
                task.family
            ));
            cli.push_str(&format!(
                "\n# Then register a new revision of {} with \"executionRoleArn\": \"arn:aws:iam::{account}:role/{name}\" and update the service to it.",
                task.family
            ));
            let mut resources = vec![arn];
            resources.extend(users.workload_resources);
            EXECUTION_ROLE_MISSING
                .finding(format!("{}:{} has no execution role", task.family, task.revision), message)
                .with_resources(resources)
                .with_fix(Fix {
                    description: format!(
                        "Create an execution role (here `{name}`) trusted by `ecs-tasks.amazonaws.com` with the managed policy `AmazonECSTaskExecutionRolePolicy`{}, and set it as the task definition's `executionRoleArn`.",
                        if extra.is_empty() { String::new() } else { format!(" plus {}", util::code_list(&extra)) }
                    ),
                    policy_statement: statement,
                    terraform: Some(terraform),
                    aws_cli: Some(cli),
                })
        })
        .collect()
}

struct Denied {
    decision: String,
    tasks: BTreeSet<String>,
    resources: BTreeSet<String>,
    users: Users,
}

fn denied(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, &'static str), Denied> = BTreeMap::new();
    for w in fargate_workloads(s) {
        let Some(task) = s.task_definition_of(w) else {
            continue;
        };
        let Some(role) = &task.execution_role_arn else {
            continue;
        };
        let Some(sim) = s.execution_roles.get(role) else {
            continue;
        };
        if sim.skipped.is_some() {
            continue;
        }
        for action in needed_actions(task) {
            let Some(decision) = sim.decisions.get(action) else {
                continue;
            };
            if decision == "allowed" {
                continue;
            }
            let g = groups
                .entry((role.clone(), action))
                .or_insert_with(|| Denied {
                    decision: decision.clone(),
                    tasks: BTreeSet::new(),
                    resources: BTreeSet::new(),
                    users: Users::default(),
                });
            g.tasks.insert(format!("{}:{}", task.family, task.revision));
            g.resources.extend(resources_for(s, task, action));
            g.users.workloads.insert(workload_label(w));
            g.users
                .workload_resources
                .insert(facts::workload_resource(s, w));
        }
    }
    groups
        .into_iter()
        .map(|((role, action), g)| {
            let (what_for, symptom) = purpose(action);
            let name = role_name(&role);
            let explicit = g.decision.eq_ignore_ascii_case("explicitDeny");
            let message = format!(
                "Execution role `{name}` (`{role}`) is not allowed `{action}`: the IAM policy simulator answers `{}`{}. {} need{} it to {what_for} (task definition{} {}), so the task stops with {symptom}.",
                g.decision,
                if explicit { " (a Deny statement matches)" } else { " (no statement allows it)" },
                util::sentence(&labels(&g.users.workloads)),
                if g.users.workloads.len() == 1 { "s" } else { "" },
                if g.tasks.len() == 1 { "" } else { "s" },
                util::code_list(&g.tasks)
            );
            let resources: Vec<String> = g.resources.iter().cloned().collect();
            let resource_value: Value = if resources.len() == 1 { json!(resources[0]) } else { json!(resources) };
            let sid = format!(
                "Allow{}",
                action.split(':').nth(1).unwrap_or(action).replace(|c: char| !c.is_ascii_alphanumeric(), "")
            );
            let statement = json!({"Sid": sid, "Effect": "Allow", "Action": [action], "Resource": resource_value});
            let document = json!({"Version": "2012-10-17", "Statement": [statement]});
            let short = action.replace(':', "-");
            let description = if explicit {
                format!(
                    "An explicit Deny matches `{action}` for `{name}`: an Allow does not override it. Find the Deny (role policies, permissions boundary, organization policies) and narrow it; the role also needs this Allow."
                )
            } else {
                format!("Allow `{action}` for the execution role `{name}` (the statement below).")
            };
            let mut all = vec![role.clone()];
            all.extend(g.users.workload_resources);
            EXECUTION_ROLE_DENIED
                .finding(format!("{action} denied for execution role {name}"), message)
                .with_resources(all)
                .with_iam_action(action)
                .with_fix(Fix {
                    description,
                    terraform: Some(format!(
                        "data \"aws_iam_policy_document\" \"{tf}\" {{\n  statement {{\n    sid       = \"{sid}\"\n    actions   = [\"{action}\"]\n    resources = [{}]\n  }}\n}}\n\nresource \"aws_iam_role_policy\" \"{tf}\" {{\n  role   = \"{name}\"\n  policy = data.aws_iam_policy_document.{tf}.json\n}}",
                        util::tf_list(&resources),
                        tf = util::tf_name(&short)
                    )),
                    aws_cli: Some(format!(
                        "aws iam put-role-policy --role-name {name} --policy-name ecr-fargate-preflight-{short} --policy-document '{document}'"
                    )),
                    policy_statement: Some(statement),
                })
        })
        .collect()
}

fn not_simulated(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<String, (String, BTreeSet<&'static str>, Users)> = BTreeMap::new();
    for w in fargate_workloads(s) {
        let Some(task) = s.task_definition_of(w) else {
            continue;
        };
        let Some(role) = &task.execution_role_arn else {
            continue;
        };
        let Some(why) = s.execution_roles.get(role).and_then(|r| r.skipped.clone()) else {
            continue;
        };
        let g = groups
            .entry(role.clone())
            .or_insert_with(|| (why, BTreeSet::new(), Users::default()));
        g.1.extend(needed_actions(task));
        g.2.workloads.insert(workload_label(w));
        g.2.workload_resources
            .insert(facts::workload_resource(s, w));
    }
    groups
        .into_iter()
        .map(|(role, (why, actions, users))| {
            let message = format!(
                "Execution role `{role}` of {} was not simulated: {why}. Whether it allows {} was not checked. `iam:SimulatePrincipalPolicy` on the role, for the role that runs the check, would allow it.",
                labels(&users.workloads),
                if actions.is_empty() { "what the tasks need".to_string() } else { util::code_list(&actions) }
            );
            let statement = json!({"Sid": "AllowSimulateExecutionRole", "Effect": "Allow", "Action": ["iam:SimulatePrincipalPolicy"], "Resource": role});
            let document = json!({"Version": "2012-10-17", "Statement": [statement]});
            let mut all = vec![role.clone()];
            all.extend(users.workload_resources);
            EXECUTION_ROLE_NOT_SIMULATED
                .finding(format!("Execution role {} not simulated", role_name(&role)), message)
                .with_resources(all)
                .with_iam_action("iam:SimulatePrincipalPolicy")
                .with_fix(Fix {
                    description: format!(
                        "Allow `iam:SimulatePrincipalPolicy` on `{role}` for the role that runs the check, and run it again."
                    ),
                    terraform: Some(format!(
                        "data \"aws_iam_policy_document\" \"preflight_simulate\" {{\n  statement {{\n    actions   = [\"iam:SimulatePrincipalPolicy\"]\n    resources = [\"{role}\"]\n  }}\n}}\n\nresource \"aws_iam_role_policy\" \"preflight_simulate\" {{\n  role   = \"<checking-role-name>\"\n  policy = data.aws_iam_policy_document.preflight_simulate.json\n}}"
                    )),
                    aws_cli: Some(format!(
                        "aws iam put-role-policy --role-name <checking-role-name> --policy-name ecr-fargate-preflight-simulate --policy-document '{document}'"
                    )),
                    policy_statement: Some(statement),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, EXECUTION_ROLE, of};
    use crate::network::snapshot::RouteTarget;

    #[test]
    fn fixture_role_is_allowed() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn missing_role() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).execution_role_arn = None;
        fixture::task(&mut s).containers[0].secrets = vec!["/web/db".into()];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &EXECUTION_ROLE_MISSING);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains(
            "Task definition `web:7` of service `web` (cluster `prod`) has no execution role"
        ));
        assert!(f[0].message.contains("pull the image from ECR"));
        let fix = f[0].fix.as_ref().unwrap();
        assert!(
            fix.aws_cli
                .as_ref()
                .unwrap()
                .contains("aws iam create-role --role-name web-execution")
        );
        assert!(
            fix.aws_cli
                .as_ref()
                .unwrap()
                .contains("arn:aws:ssm:us-east-1:123456789012:parameter/web/db")
        );
        assert_eq!(
            fix.policy_statement.as_ref().unwrap()["Action"],
            json!(["ssm:GetParameters"])
        );
    }

    #[test]
    fn no_role_needed_for_a_public_image_without_logs() {
        let mut s = fixture::snapshot();
        let task = fixture::task(&mut s);
        task.execution_role_arn = None;
        task.containers[0].image = "public.ecr.aws/nginx/nginx:1".into();
        task.containers[0].log_driver = None;
        assert!(check(&s).is_empty());
    }

    #[test]
    fn denied_action_with_a_minimal_statement() {
        let mut s = fixture::snapshot();
        s.workloads.push(fixture::workload("api"));
        let sim = s.execution_roles.get_mut(EXECUTION_ROLE).unwrap();
        sim.decisions
            .insert("ecr:BatchGetImage".into(), "implicitDeny".into());
        sim.decisions
            .insert("ecr:GetAuthorizationToken".into(), "explicitDeny".into());
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &EXECUTION_ROLE_DENIED);
        assert_eq!(f.len(), 2, "{findings:#?}");
        let token = f
            .iter()
            .find(|f| f.iam_action.as_deref() == Some("ecr:GetAuthorizationToken"))
            .unwrap();
        assert_eq!(token.severity, Severity::Error);
        assert!(
            token
                .message
                .contains("`explicitDeny` (a Deny statement matches)")
        );
        assert!(
            token
                .fix
                .as_ref()
                .unwrap()
                .description
                .contains("explicit Deny")
        );
        assert_eq!(
            token
                .fix
                .as_ref()
                .unwrap()
                .policy_statement
                .as_ref()
                .unwrap()["Resource"],
            "*"
        );
        let pull = f
            .iter()
            .find(|f| f.iam_action.as_deref() == Some("ecr:BatchGetImage"))
            .unwrap();
        assert!(pull.message.contains("Execution role `web-execution`"));
        assert!(pull.message.contains("Service `api` (cluster `prod`) and service `web` (cluster `prod`) need it to pull the image from ECR"));
        assert!(pull.message.contains("CannotPullContainerError"));
        let fix = pull.fix.as_ref().unwrap();
        assert_eq!(
            fix.policy_statement.as_ref().unwrap()["Resource"],
            "arn:aws:ecr:us-east-1:123456789012:repository/web"
        );
        assert!(fix.aws_cli.as_ref().unwrap().starts_with("aws iam put-role-policy --role-name web-execution --policy-name ecr-fargate-preflight-ecr-BatchGetImage"));
        assert!(
            fix.terraform
                .as_ref()
                .unwrap()
                .contains("role   = \"web-execution\"")
        );
    }

    #[test]
    fn execution_role_applies_behind_nat_too() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        s.execution_roles
            .get_mut(EXECUTION_ROLE)
            .unwrap()
            .decisions
            .insert("logs:PutLogEvents".into(), "implicitDeny".into());
        assert_eq!(of(&check(&s), &EXECUTION_ROLE_DENIED).len(), 1);
    }

    #[test]
    fn not_simulated_is_a_notice() {
        let mut s = fixture::snapshot();
        let sim = s.execution_roles.get_mut(EXECUTION_ROLE).unwrap();
        sim.decisions.clear();
        sim.skipped = Some("iam:SimulatePrincipalPolicy was denied".into());
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.rule, EXECUTION_ROLE_NOT_SIMULATED.id);
        assert_eq!(f.severity, Severity::Notice);
        assert!(
            f.message
                .contains("was not simulated: iam:SimulatePrincipalPolicy was denied")
        );
        assert!(
            f.message
                .contains("`iam:SimulatePrincipalPolicy` on the role")
        );
        assert_eq!(
            f.fix.as_ref().unwrap().policy_statement.as_ref().unwrap()["Resource"],
            EXECUTION_ROLE
        );
    }
}
