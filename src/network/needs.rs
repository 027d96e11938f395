//! What a task definition needs from AWS to start, besides the network: the
//! IAM actions its execution role must be allowed for its images, secrets and
//! logs, and the resources it uses them on. Defined once here, beside the endpoint matrix (`endpoints.rs`):
//! discovery simulates these actions, the `network/execution-role-*` rules
//! judge the simulation, and the offline flow (`policy::flows`) evaluates them
//! against the role's policies.

use super::endpoints::ecr_region;
use super::snapshot::TaskDefinition;

/// The ECR pull actions, in the order a pull uses them.
pub const ECR_PULL: [&str; 4] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
];

/// The IAM actions the execution role needs for a task definition to start:
/// the ECR pull actions for an ECR image, `logs:CreateLogStream` and
/// `logs:PutLogEvents` for awslogs (and `logs:CreateLogGroup` with
/// `awslogs-create-group`), `secretsmanager:GetSecretValue` for Secrets
/// Manager secrets and `repositoryCredentials`, `ssm:GetParameters` for
/// Parameter Store secrets.
pub fn needed_actions(task: &TaskDefinition) -> Vec<&'static str> {
    let c = &task.containers;
    let mut out = Vec::new();
    if c.iter().any(|c| ecr_region(&c.image).is_some()) {
        out.extend(ECR_PULL);
    }
    if c.iter().any(|c| c.log_driver.as_deref() == Some("awslogs")) {
        out.extend(["logs:CreateLogStream", "logs:PutLogEvents"]);
    }
    if c.iter().any(|c| {
        c.log_driver.as_deref() == Some("awslogs")
            && c.log_options
                .get("awslogs-create-group")
                .map(String::as_str)
                == Some("true")
    }) {
        out.push("logs:CreateLogGroup");
    }
    if c.iter().any(|c| {
        c.repository_credentials.is_some()
            || c.secrets.iter().any(|s| s.contains(":secretsmanager:"))
    }) {
        out.push("secretsmanager:GetSecretValue");
    }
    if c.iter()
        .any(|c| c.secrets.iter().any(|s| !s.contains(":secretsmanager:")))
    {
        out.push("ssm:GetParameters");
    }
    out
}

/// `arn:aws:ecr:<region>:<account>:repository/<name>` of an ECR image reference.
pub(crate) fn repository_arn(image: &str) -> Option<String> {
    let region = ecr_region(image)?;
    let (host, path) = image.split_once('/')?;
    let account = host.split('.').next()?;
    let name = path.split('@').next()?;
    // A tag follows the last colon after the last slash.
    let name = match name.rsplit_once(':') {
        Some((n, tag)) if !tag.contains('/') => n,
        _ => name,
    };
    Some(format!("arn:aws:ecr:{region}:{account}:repository/{name}"))
}

/// The secret's ARN without the `:json-key:version-stage:version-id` suffix.
pub(crate) fn secret_arn(value_from: &str) -> String {
    value_from.split(':').take(7).collect::<Vec<_>>().join(":")
}

/// The parameter's ARN from a `valueFrom` that is an ARN or a name.
pub(crate) fn parameter_arn(value_from: &str, region: &str, account: &str) -> String {
    if value_from.starts_with("arn:") {
        value_from.to_string()
    } else {
        format!(
            "arn:aws:ssm:{region}:{account}:parameter/{}",
            value_from.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;
    use crate::network::snapshot::Container;

    #[test]
    fn needed_actions_follow_the_task_definition() {
        let mut task = fixture::task_definition();
        assert_eq!(
            needed_actions(&task),
            [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ]
        );
        task.containers[0].image = "nginx".into();
        task.containers[0]
            .log_options
            .insert("awslogs-create-group".into(), "true".into());
        task.containers.push(Container {
            name: "db".into(),
            image: "postgres".into(),
            secrets: vec![
                "/db/password".into(),
                "arn:aws:secretsmanager:us-east-1:1:secret:x".into(),
            ],
            ..Container::default()
        });
        assert_eq!(
            needed_actions(&task),
            [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:CreateLogGroup",
                "secretsmanager:GetSecretValue",
                "ssm:GetParameters"
            ]
        );
    }

    #[test]
    fn arns_from_the_task_definition() {
        assert_eq!(
            repository_arn("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:1.2.3")
                .as_deref(),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/team/web")
        );
        assert_eq!(
            repository_arn("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc")
                .as_deref(),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/web")
        );
        assert_eq!(repository_arn("nginx:latest"), None);
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf:password::"),
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf"
        );
        assert_eq!(
            parameter_arn("/app/db", "us-east-1", "1"),
            "arn:aws:ssm:us-east-1:1:parameter/app/db"
        );
        assert_eq!(
            parameter_arn("arn:aws:ssm:us-east-1:1:parameter/x", "us-east-1", "1"),
            "arn:aws:ssm:us-east-1:1:parameter/x"
        );
    }
}
