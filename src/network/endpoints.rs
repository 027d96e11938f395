//! The endpoint matrix: which VPC endpoints a Fargate task in an isolated
//! subnet needs, from its task definition and platform version. Defined once
//! here; the rules, the fixes and the README table use it.
//! Source: `fargate-network.md` §1 (ECR and ECS VPC-endpoint documentation).

use serde::Serialize;

use super::snapshot::{TaskDefinition, Workload};

/// Interface or Gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EndpointType {
    /// An `Interface` endpoint (PrivateLink ENIs in subnets).
    Interface,
    /// A `Gateway` endpoint (prefix-list routes in route tables).
    Gateway,
}

impl EndpointType {
    /// The EC2 API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Interface => "Interface",
            EndpointType::Gateway => "Gateway",
        }
    }
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct MatrixRow {
    /// Task-definition feature.
    pub feature: &'static str,
    /// Endpoint short names.
    pub endpoints: &'static [(&'static str, EndpointType)],
    /// Whether a missing endpoint stops the task from starting.
    pub blocks_start: bool,
}

/// The matrix, as the README shows it.
pub const MATRIX: &[MatrixRow] = &[
    MatrixRow {
        feature: "image in ECR (same region), platform version 1.4.0 / LATEST",
        endpoints: &[
            ("ecr.api", EndpointType::Interface),
            ("ecr.dkr", EndpointType::Interface),
            ("s3", EndpointType::Gateway),
        ],
        blocks_start: true,
    },
    MatrixRow {
        feature: "image in ECR, platform version 1.3.0 or older",
        endpoints: &[
            ("ecr.dkr", EndpointType::Interface),
            ("s3", EndpointType::Gateway),
        ],
        blocks_start: true,
    },
    MatrixRow {
        feature: "`awslogs` log driver",
        endpoints: &[("logs", EndpointType::Interface)],
        blocks_start: true,
    },
    MatrixRow {
        feature: "secrets from Secrets Manager, or `repositoryCredentials` (1.4.0+)",
        endpoints: &[("secretsmanager", EndpointType::Interface)],
        blocks_start: true,
    },
    MatrixRow {
        feature: "secrets from SSM Parameter Store (1.4.0+)",
        endpoints: &[("ssm", EndpointType::Interface)],
        blocks_start: true,
    },
    MatrixRow {
        feature: "`environmentFiles` in S3",
        endpoints: &[("s3", EndpointType::Gateway)],
        blocks_start: true,
    },
    MatrixRow {
        feature: "FireLens (`awsfirelens`) output in the task's region: `cloudwatch_logs`, `kinesis_firehose`, `kinesis_streams` or `s3` (one endpoint, by output `Name`)",
        endpoints: &[
            ("logs", EndpointType::Interface),
            ("kinesis-firehose", EndpointType::Interface),
            ("kinesis-streams", EndpointType::Interface),
            ("s3", EndpointType::Gateway),
        ],
        blocks_start: false,
    },
    MatrixRow {
        feature: "`enableExecuteCommand` (ECS Exec)",
        endpoints: &[("ssmmessages", EndpointType::Interface)],
        blocks_start: false,
    },
];

/// One endpoint a workload needs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Short service name (`ecr.api`).
    pub service: &'static str,
    /// Type it must have.
    pub endpoint_type: EndpointType,
    /// Why, naming the containers.
    pub reason: String,
    /// Whether the task cannot start without it.
    pub blocks_start: bool,
}

/// Whether an image reference is in ECR, and where: `Some(region)` for a
/// private ECR image, `None` otherwise.
pub fn ecr_region(image: &str) -> Option<String> {
    let host = image.split('/').next()?;
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [_, "dkr", "ecr" | "ecr-fips", region, "amazonaws", "com", ..] => Some(region.to_string()),
        [_, "dkr-ecr" | "dkr-ecr-fips", region, "on", "aws"] => Some(region.to_string()),
        _ => None,
    }
}

/// The endpoint a FireLens (`awsfirelens`) output in `region` needs, by its
/// `Name` option (Fluent Bit's output plugins), with the output's name. An
/// output in another region is `network/log-destination-other-region`'s.
fn firelens_destination(
    c: &super::snapshot::Container,
    region: &str,
) -> Option<(&'static str, EndpointType, String)> {
    if c.log_driver.as_deref() != Some("awsfirelens")
        || c.log_options.get("region").is_some_and(|r| r != region)
    {
        return None;
    }
    let name = c.log_options.get("Name")?;
    let (service, endpoint_type) = match name.to_ascii_lowercase().as_str() {
        "cloudwatch_logs" | "cloudwatch" => ("logs", EndpointType::Interface),
        "kinesis_firehose" | "firehose" => ("kinesis-firehose", EndpointType::Interface),
        "kinesis_streams" | "kinesis" => ("kinesis-streams", EndpointType::Interface),
        "s3" => ("s3", EndpointType::Gateway),
        _ => return None,
    };
    Some((service, endpoint_type, name.clone()))
}

/// The endpoints a workload needs in an isolated subnet, deduplicated, in matrix order.
pub fn required(workload: &Workload, task: &TaskDefinition, region: &str) -> Vec<Requirement> {
    let legacy = workload.is_legacy_platform();
    let mut out: Vec<Requirement> = Vec::new();
    let mut add = |service: &'static str, endpoint_type, reason: String, blocks_start| {
        if let Some(r) = out.iter_mut().find(|r| r.service == service) {
            if !r.reason.contains(&reason) {
                r.reason.push_str("; ");
                r.reason.push_str(&reason);
            }
            r.blocks_start |= blocks_start;
        } else {
            out.push(Requirement {
                service,
                endpoint_type,
                reason,
                blocks_start,
            });
        }
    };
    let ecr_containers: Vec<&str> = task
        .containers
        .iter()
        .filter(|c| ecr_region(&c.image).as_deref() == Some(region))
        .map(|c| c.name.as_str())
        .collect();
    if !ecr_containers.is_empty() {
        let who = format!("image of {} is in ECR", ecr_containers.join(", "));
        if !legacy {
            add(
                "ecr.api",
                EndpointType::Interface,
                format!("{who} (registry auth, platform version 1.4.0+)"),
                true,
            );
        }
        add("ecr.dkr", EndpointType::Interface, who.clone(), true);
        add(
            "s3",
            EndpointType::Gateway,
            format!("{who} (layers come from S3)"),
            true,
        );
    }
    for c in &task.containers {
        if c.log_driver.as_deref() == Some("awslogs") {
            add(
                "logs",
                EndpointType::Interface,
                format!("{} logs with awslogs", c.name),
                true,
            );
        }
        if !legacy {
            for s in &c.secrets {
                if s.contains(":secretsmanager:") {
                    add(
                        "secretsmanager",
                        EndpointType::Interface,
                        format!("{} reads a secret from Secrets Manager", c.name),
                        true,
                    );
                } else {
                    add(
                        "ssm",
                        EndpointType::Interface,
                        format!("{} reads a parameter from SSM Parameter Store", c.name),
                        true,
                    );
                }
            }
            if c.repository_credentials.is_some() {
                add(
                    "secretsmanager",
                    EndpointType::Interface,
                    format!("{} uses repositoryCredentials", c.name),
                    true,
                );
            }
        }
        if let Some((service, endpoint_type, output)) = firelens_destination(c, region) {
            add(
                service,
                endpoint_type,
                format!("{} sends logs with FireLens to `{output}`", c.name),
                false,
            );
        }
        if !c.environment_files.is_empty() {
            add(
                "s3",
                EndpointType::Gateway,
                format!("{} loads environmentFiles from S3", c.name),
                true,
            );
        }
    }
    if workload.enable_execute_command {
        add(
            "ssmmessages",
            EndpointType::Interface,
            "enableExecuteCommand is on (ECS Exec)".into(),
            false,
        );
    }
    out
}

/// The README's endpoint matrix, as markdown.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| task-definition feature | endpoints (isolated subnets) | blocks start |\n|---|---|---|\n",
    );
    for row in MATRIX {
        let endpoints: Vec<String> = row
            .endpoints
            .iter()
            .map(|(s, t)| format!("`{s}` ({})", t.as_str()))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            row.feature,
            endpoints.join(", "),
            if row.blocks_start {
                "yes"
            } else {
                "no (exec or logs only)"
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::snapshot::{Container, WorkloadKind};

    fn workload(pv: &str, exec: bool) -> Workload {
        Workload {
            name: "web".into(),
            cluster: "c".into(),
            kind: WorkloadKind::Service,
            launch_type: Some("FARGATE".into()),
            capacity_providers: vec![],
            platform_version: Some(pv.into()),
            subnets: vec![],
            security_groups: vec![],
            assign_public_ip: false,
            enable_execute_command: exec,
            task_definition: "td".into(),
        }
    }

    fn task(containers: Vec<Container>) -> TaskDefinition {
        TaskDefinition {
            containers,
            ..TaskDefinition::default()
        }
    }

    fn services(r: &[Requirement]) -> Vec<&str> {
        r.iter().map(|r| r.service).collect()
    }

    #[test]
    fn ecr_image_needs_api_dkr_and_s3_gateway() {
        let t = task(vec![Container {
            name: "app".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into(),
            ..Container::default()
        }]);
        let r = required(&workload("1.4.0", false), &t, "us-east-1");
        assert_eq!(services(&r), ["ecr.api", "ecr.dkr", "s3"]);
        assert_eq!(r[2].endpoint_type, EndpointType::Gateway);
        // 1.3.0 fetched registry auth through a Fargate-owned interface.
        assert_eq!(
            services(&required(&workload("1.3.0", false), &t, "us-east-1")),
            ["ecr.dkr", "s3"]
        );
        // Another region's ECR is not served by this region's endpoints at all.
        assert!(required(&workload("1.4.0", false), &t, "eu-west-1").is_empty());
    }

    #[test]
    fn logs_secrets_and_exec() {
        let t = task(vec![Container {
            name: "app".into(),
            image: "nginx".into(),
            log_driver: Some("awslogs".into()),
            secrets: vec![
                "arn:aws:secretsmanager:us-east-1:1:secret:db".into(),
                "arn:aws:ssm:us-east-1:1:parameter/x".into(),
            ],
            ..Container::default()
        }]);
        let r = required(&workload("LATEST", true), &t, "us-east-1");
        assert_eq!(
            services(&r),
            ["logs", "secretsmanager", "ssm", "ssmmessages"]
        );
        assert!(!r[3].blocks_start);
    }

    #[test]
    fn firelens_outputs_need_their_destination_in_this_region() {
        let firelens = |name: &str, region: Option<&str>| {
            let mut c = Container {
                name: "app".into(),
                image: "nginx".into(),
                log_driver: Some("awsfirelens".into()),
                ..Container::default()
            };
            c.log_options.insert("Name".into(), name.into());
            if let Some(r) = region {
                c.log_options.insert("region".into(), r.into());
            }
            required(&workload("1.4.0", false), &task(vec![c]), "us-east-1")
        };
        let r = firelens("kinesis_firehose", Some("us-east-1"));
        assert_eq!(services(&r), ["kinesis-firehose"]);
        assert!(!r[0].blocks_start);
        assert_eq!(services(&firelens("cloudwatch_logs", None)), ["logs"]);
        assert_eq!(services(&firelens("s3", None)), ["s3"]);
        assert!(firelens("kinesis_streams", Some("eu-west-1")).is_empty());
        assert!(firelens("datadog", None).is_empty());
    }

    #[test]
    fn readme_endpoint_matrix_is_current() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's endpoint matrix is out of date; replace it with `ecr-fargate-preflight rules --endpoints`"
        );
    }

    #[test]
    fn image_hosts() {
        assert_eq!(
            ecr_region("1.dkr.ecr.eu-west-1.amazonaws.com/a:b").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(ecr_region("public.ecr.aws/nginx/nginx"), None);
        assert_eq!(ecr_region("nginx:latest"), None);
        assert_eq!(ecr_region("ghcr.io/a/b"), None);
    }
}
