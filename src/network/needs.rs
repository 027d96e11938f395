//! What a task definition needs from AWS to start, besides the network: the
//! IAM actions its execution role must be allowed for its images, secrets and
//! logs. Defined once here, beside the endpoint matrix (`endpoints.rs`):
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
}
