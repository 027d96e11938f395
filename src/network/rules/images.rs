//! Where the images come from, and what the platform can reach (reference rules
//! R13, R15, R16). A repository behind an ECR pull-through cache (R14) looks
//! like any other ECR repository in a task definition, so it is not detected.

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels};
use crate::network::endpoints::{self, ecr_region};
use crate::network::facts::{self, fargate_workloads, isolated_workloads, workload_label};
use crate::network::snapshot::{NetworkSnapshot, Workload, WorkloadKind};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An isolated task pulls an image that no VPC endpoint can serve.
///
/// ## What it does
/// Flags containers of Fargate tasks in isolated subnets whose image is not in
/// private ECR of the task's region: Docker Hub (`nginx`, `docker.io/…`),
/// `ghcr.io`, `quay.io`, `public.ecr.aws`, any other registry, or private ECR
/// in another region.
///
/// ## Why is this bad?
/// Without a NAT gateway or public IP, only this region's VPC endpoints are
/// reachable, and "VPC endpoints don't support cross-Region requests". The pull
/// hangs and the task stops with
/// `CannotPullContainerError: … failed to resolve ref docker.io/…: … i/o timeout`.
///
/// ## How to fix
/// Copy the image into ECR in the task's region (or replicate the repository
/// there) and point the task definition at it; or give the subnets a NAT gateway.
pub const IMAGE_UNREACHABLE: Rule = Rule {
    id: "network/image-unreachable",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A task in an isolated subnet pulls an image from outside this region's private ECR (Docker Hub, ghcr.io, public.ecr.aws, ECR in another region).",
    why: "Isolated subnets reach only this region's VPC endpoints; the pull times out with `CannotPullContainerError … i/o timeout`.",
    fix: "Copy or replicate the image into ECR in the task's region and use that URI, or route the subnets through a NAT gateway.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
};

/// The service runs on Fargate platform version 1.3.0 or older.
///
/// ## What it does
/// Notes Fargate workloads pinned to platform version 1.3.0 or older.
///
/// ## Why is this bad?
/// Up to 1.3.0, Fargate fetched registry auth and secrets through its own
/// network interface; from 1.4.0 (`LATEST`) everything goes through the task's
/// interface, so isolated subnets then also need the `ecr.api`,
/// `secretsmanager` and `ssm` endpoints, and the task security groups must
/// allow them. EFS volumes and ECS Exec need 1.4.0. Moving to 1.4.0 without
/// these endpoints is the classic way a working service breaks.
///
/// ## How to fix
/// Create the endpoints 1.4.0 needs (the finding lists them), then update the
/// service to platform version `1.4.0` or `LATEST`.
pub const PLATFORM_VERSION_LEGACY: Rule = Rule {
    id: "network/platform-version-legacy",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A Fargate workload runs on platform version 1.3.0 or older.",
    why: "From 1.4.0 registry auth and secrets go through the task's own network, so isolated subnets need more endpoints; EFS and ECS Exec need 1.4.0.",
    fix: "Create the endpoints 1.4.0 needs, then move the service to platform version 1.4.0 (`LATEST`).",
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html",
};

/// Windows tasks in isolated subnets may need foreign layers from Microsoft.
///
/// ## What it does
/// Notes Windows Fargate tasks in isolated subnets.
///
/// ## Why is this bad?
/// Windows base images pushed without `allow-nondistributable-artifacts`
/// reference "foreign" layers that are downloaded from Microsoft's servers, not
/// from ECR, which an isolated subnet cannot reach.
///
/// ## How to fix
/// Push the images with the Docker daemon's `allow-nondistributable-artifacts`
/// set for the ECR registry, so every layer is stored in ECR.
pub const WINDOWS_FOREIGN_LAYERS: Rule = Rule {
    id: "network/windows-foreign-layers",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A Windows task runs in an isolated subnet, where foreign (Microsoft-hosted) image layers cannot be downloaded.",
    why: "Windows base images pushed without `allow-nondistributable-artifacts` keep layers that are fetched from Microsoft, not ECR.",
    fix: "Push the images with `allow-nondistributable-artifacts` for the ECR registry, so every layer is in ECR.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
};

/// The findings of the three image and platform rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let mut findings = image_unreachable(snapshot);
    findings.extend(platform_version_legacy(snapshot));
    findings.extend(windows_foreign_layers(snapshot));
    findings
}

/// The registry host of an image reference (`docker.io` when none is named).
pub(crate) fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// The repository path and the tag (or digest) of an image, without the registry.
fn repository_and_tag(image: &str) -> (String, String) {
    let path = match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => image,
    };
    if let Some((name, digest)) = path.split_once('@') {
        return (
            name.trim_start_matches("library/").into(),
            format!("@{digest}"),
        );
    }
    let (name, tag) = match path.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (path, "latest"),
    };
    (
        name.trim_start_matches("library/").into(),
        format!(":{tag}"),
    )
}

#[derive(Default)]
struct Unreachable {
    containers: BTreeSet<String>,
    subnets: BTreeSet<String>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
    task_definitions: BTreeSet<String>,
}

fn image_unreachable(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<String, Unreachable> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for c in &iw.task.containers {
            if ecr_region(&c.image).as_deref() == Some(s.region.as_str()) {
                continue;
            }
            let g = groups.entry(c.image.clone()).or_default();
            g.containers
                .insert(format!("`{}` of {}", c.name, iw.label()));
            g.subnets.extend(iw.subnet_ids());
            g.workloads.insert(iw.label());
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
            g.task_definitions.insert(iw.task.arn.clone());
        }
    }
    let account = facts::account(s).unwrap_or_else(|| "<account-id>".into());
    let region = &s.region;
    groups
        .into_iter()
        .map(|(image, g)| {
            let (name, tag) = repository_and_tag(&image);
            let target = format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}{tag}");
            let (where_, fix) = match ecr_region(&image) {
                Some(other) => (
                    format!("private ECR in `{other}`, another region: VPC endpoints don't support cross-Region requests"),
                    Fix {
                        description: format!(
                            "Replicate the repository from `{other}` to `{region}` (ECR replication), then use `{target}` in the task definition. The command replaces the registry's replication configuration: merge it with an existing one."
                        ),
                        policy_statement: None,
                        terraform: Some(format!(
                            "provider \"aws\" {{\n  alias  = \"source\"\n  region = \"{other}\"\n}}\n\nresource \"aws_ecr_replication_configuration\" \"to_{}\" {{\n  provider = aws.source\n  replication_configuration {{\n    rule {{\n      destination {{\n        region      = \"{region}\"\n        registry_id = \"{account}\"\n      }}\n    }}\n  }}\n}}",
                            util::tf_name(region)
                        )),
                        aws_cli: Some(format!(
                            "aws ecr put-replication-configuration --replication-configuration '{{\"rules\":[{{\"destinations\":[{{\"region\":\"{region}\",\"registryId\":\"{account}\"}}]}}]}}' --region {other}"
                        )),
                    },
                ),
                None => {
                    let host = registry_host(&image);
                    let what = match host {
                        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "Docker Hub".to_string(),
                        "public.ecr.aws" => "ECR Public (`public.ecr.aws`), which has no VPC endpoint".to_string(),
                        other => format!("`{other}`"),
                    };
                    (
                        format!("{what}, on the internet"),
                        Fix {
                            description: format!(
                                "Copy the image into a private ECR repository in `{region}` (all platforms, with `docker buildx imagetools create`) and use `{target}` in the task definition. An ECR pull-through cache rule also works, but its first pull of each image needs internet access."
                            ),
                            policy_statement: None,
                            terraform: Some(format!(
                                "resource \"aws_ecr_repository\" \"{}\" {{\n  name = \"{name}\"\n}}\n\n# In the container definition: image = \"{target}\"",
                                util::tf_name(&name)
                            )),
                            aws_cli: Some(format!(
                                "aws ecr create-repository --repository-name {name} --region {region}\naws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {account}.dkr.ecr.{region}.amazonaws.com\ndocker buildx imagetools create --tag {target} {image}"
                            )),
                        },
                    )
                }
            };
            let message = format!(
                "{} pull{} `{image}` from {where_}. {} run{} in isolated subnet{} {} (no internet gateway with a public IP, no working NAT gateway), where only this region's VPC endpoints are reachable: the pull hangs and the task stops with `CannotPullContainerError: … failed to resolve ref {image}: … i/o timeout`.",
                util::sentence(&util::and_list(&g.containers.iter().map(|c| format!("container {c}")).collect::<Vec<_>>())),
                if g.containers.len() == 1 { "s" } else { "" },
                util::sentence(&labels(&g.workloads)),
                if g.workloads.len() == 1 { "s" } else { "" },
                if g.subnets.len() == 1 { "" } else { "s" },
                code_list(&g.subnets),
            );
            let mut resources = vec![image.clone()];
            resources.extend(g.task_definitions);
            resources.extend(g.subnets);
            resources.extend(g.workload_resources);
            IMAGE_UNREACHABLE
                .finding(format!("{image} cannot be pulled from isolated subnets"), message)
                .with_resources(resources)
                .with_fix(fix)
        })
        .collect()
}

fn platform_version_legacy(s: &NetworkSnapshot) -> Vec<Finding> {
    // Only legacy workloads look theirs up.
    let isolated: Vec<_> = if fargate_workloads(s).any(|w| w.is_legacy_platform()) {
        isolated_workloads(s).collect()
    } else {
        Vec::new()
    };
    let mut findings = Vec::new();
    for w in fargate_workloads(s).filter(|w| w.is_legacy_platform()) {
        let version = w.platform_version.as_deref().unwrap_or_default();
        // What 1.4.0 would need in the isolated subnets that is not there yet.
        let mut more = String::new();
        if let Some(iw) = isolated.iter().find(|iw| std::ptr::eq(iw.workload, w)) {
            let upgraded = Workload {
                platform_version: Some("1.4.0".into()),
                ..w.clone()
            };
            let missing: Vec<String> = endpoints::required(&upgraded, iw.task, &s.region)
                .into_iter()
                .filter(|r| iw.requirement(r.service).is_none())
                .filter(|r| s.endpoints_for(iw.vpc_id, r.service).next().is_none())
                .map(|r| s.service_name(r.service))
                .collect();
            if !missing.is_empty() {
                more = format!(
                    " Its isolated subnets {} have no {} endpoint yet: create {} before moving, or the service stops starting tasks.",
                    code_list(iw.subnet_ids()),
                    code_list(&missing),
                    if missing.len() == 1 { "it" } else { "them" }
                );
            }
        }
        let message = format!(
            "{} runs on Fargate platform version {version}. Up to 1.3.0, Fargate fetched registry auth and secrets through its own network interface; from 1.4.0 (`LATEST`) they go through the task's interface, so the task's routes, security groups and VPC endpoints (`ecr.api`, `secretsmanager`, `ssm`) must allow them. EFS volumes and ECS Exec need 1.4.0.{more}",
            util::sentence(&workload_label(w))
        );
        let cluster = facts::cluster_name(&w.cluster);
        let aws_cli = match w.kind {
            WorkloadKind::Service => format!(
                "aws ecs update-service --cluster {cluster} --service {} --platform-version 1.4.0 --region {}",
                w.name, s.region
            ),
            WorkloadKind::Planned => format!(
                "aws ecs run-task --cluster {cluster} --launch-type FARGATE --platform-version 1.4.0 --task-definition {} --region {}",
                w.name, s.region
            ),
        };
        findings.push(
            PLATFORM_VERSION_LEGACY
                .finding(format!("{} runs on platform version {version}", w.name), message)
                .with_resources([facts::workload_resource(s, w)])
                .with_fix(Fix {
                    description: "Create the endpoints platform version 1.4.0 needs in isolated subnets, then move to 1.4.0.".into(),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_ecs_service\" \"{}\" {{\n  # ...\n  platform_version = \"1.4.0\"\n}}",
                        util::tf_name(&w.name)
                    )),
                    aws_cli: Some(aws_cli),
                }),
        );
    }
    findings
}

fn windows_foreign_layers(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> =
        BTreeMap::new();
    for iw in isolated_workloads(s) {
        let Some(os) = iw.task.operating_system.as_deref() else {
            continue;
        };
        if !os.to_ascii_uppercase().starts_with("WINDOWS") {
            continue;
        }
        let g = groups
            .entry(iw.task.arn.clone())
            .or_insert_with(|| (os.to_string(), BTreeSet::new(), BTreeSet::new()));
        g.1.insert(iw.label());
        g.2.insert(facts::workload_resource(s, iw.workload));
    }
    let account = facts::account(s).unwrap_or_else(|| "<account-id>".into());
    let registry = format!("{account}.dkr.ecr.{}.amazonaws.com", s.region);
    groups
        .into_iter()
        .map(|(arn, (os, workloads, resources))| {
            let message = format!(
                "Task definition `{arn}` ({os}) of {} runs in isolated subnets. Windows base images pushed without `allow-nondistributable-artifacts` keep \"foreign\" layers that are downloaded from Microsoft's servers, not from ECR; from isolated subnets that download fails. Images pushed with it, or whose layers are all in ECR, are fine.",
                labels(&workloads)
            );
            let mut all = vec![arn.clone()];
            all.extend(resources);
            WINDOWS_FOREIGN_LAYERS
                .finding("Windows images may need foreign layers from Microsoft", message)
                .with_resources(all)
                .with_fix(Fix {
                    description: format!(
                        "On the machine that pushes the images, add `\"allow-nondistributable-artifacts\": [\"{registry}\"]` to the Docker daemon's `daemon.json`, restart it and push again, so every layer is stored in ECR."
                    ),
                    policy_statement: None,
                    terraform: None,
                    aws_cli: None,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, of};
    use crate::network::snapshot::{Container, RouteTarget};

    #[test]
    fn fixture_images_are_in_this_region() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("nginx"), "docker.io");
        assert_eq!(registry_host("library/nginx:1"), "docker.io");
        assert_eq!(registry_host("ghcr.io/acme/app:1"), "ghcr.io");
        assert_eq!(registry_host("localhost:5000/app"), "localhost:5000");
        assert_eq!(
            repository_and_tag("nginx"),
            ("nginx".into(), ":latest".into())
        );
        assert_eq!(
            repository_and_tag("docker.io/library/nginx:1.27"),
            ("nginx".into(), ":1.27".into())
        );
        assert_eq!(
            repository_and_tag("ghcr.io/acme/app@sha256:ab"),
            ("acme/app".into(), "@sha256:ab".into())
        );
        assert_eq!(
            repository_and_tag("localhost:5000/app"),
            ("app".into(), ":latest".into())
        );
    }

    #[test]
    fn docker_hub_sidecar_in_an_isolated_subnet() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).containers.push(Container {
            name: "proxy".into(),
            image: "nginx:1.27".into(),
            ..Container::default()
        });
        s.workloads.push(fixture::workload("api"));
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert!(f.message.contains("Container `proxy` of service `api` (cluster `prod`) and container `proxy` of service `web` (cluster `prod`) pull `nginx:1.27` from Docker Hub"), "{}", f.message);
        assert!(f.message.contains("failed to resolve ref nginx:1.27"));
        assert_eq!(f.resources[0], "nginx:1.27");
        let cli = f.fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(
            cli.contains("aws ecr create-repository --repository-name nginx --region us-east-1")
        );
        assert!(cli.contains("docker buildx imagetools create --tag 123456789012.dkr.ecr.us-east-1.amazonaws.com/nginx:1.27 nginx:1.27"));
    }

    #[test]
    fn ecr_in_another_region() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).containers[0].image =
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1".into();
        let findings = check(&s);
        let f = of(&findings, &IMAGE_UNREACHABLE);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("private ECR in `eu-west-1`, another region")
        );
        assert!(
            f[0].fix
                .as_ref()
                .unwrap()
                .aws_cli
                .as_ref()
                .unwrap()
                .contains("put-replication-configuration")
        );
        assert!(
            f[0].fix
                .as_ref()
                .unwrap()
                .aws_cli
                .as_ref()
                .unwrap()
                .ends_with("--region eu-west-1")
        );
    }

    #[test]
    fn public_images_are_fine_behind_nat() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).containers[0].image = "public.ecr.aws/nginx/nginx:1".into();
        assert_eq!(check(&s).len(), 1);
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        assert!(check(&s).is_empty());
    }

    #[test]
    fn legacy_platform_lists_what_1_4_needs() {
        let mut s = fixture::snapshot();
        s.workloads[0].platform_version = Some("1.3.0".into());
        s.vpc_endpoints.remove("vpce-ecr-api");
        fixture::task(&mut s).containers[0].secrets = vec!["/web/db-password".into()];
        fixture::add_interface_endpoint(&mut s, "ssm");
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &PLATFORM_VERSION_LEGACY);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Notice);
        assert!(f[0].message.contains("platform version 1.3.0"));
        assert!(f[0].message.contains("EFS volumes and ECS Exec need 1.4.0"));
        assert!(
            f[0].message
                .contains("have no `com.amazonaws.us-east-1.ecr.api` endpoint yet"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ecs update-service --cluster prod --service web --platform-version 1.4.0 --region us-east-1"
            )
        );
    }

    #[test]
    fn windows_in_isolated_subnets() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).operating_system = Some("WINDOWS_SERVER_2022_CORE".into());
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &WINDOWS_FOREIGN_LAYERS);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Notice);
        assert!(
            f[0].fix
                .as_ref()
                .unwrap()
                .description
                .contains("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
    }
}
