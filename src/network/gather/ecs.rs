//! ECS: the cluster's services, the planned task, and task definitions.

use aws_sdk_ecs::types::{ContainerDefinition, Failure, Service};
use futures_util::{StreamExt, stream};

use super::{CONCURRENCY, Ctx, Scope};
use crate::network::snapshot::{Container, Gap, TaskDefinition, Workload, WorkloadKind};

/// The services of `--cluster` (those named with `--service`, else all of
/// them), without the inactive ones. Nothing when only a task is planned, and
/// nothing when the cluster's services cannot be listed.
pub(super) async fn services(ctx: &Ctx, scope: &Scope) -> Vec<Workload> {
    let Some(cluster) = &scope.cluster else {
        return Vec::new();
    };
    if scope.task_definition.is_some() && scope.services.is_empty() {
        return Vec::new(); // only the planned task
    }
    let mut names = scope.services.clone();
    if names.is_empty() {
        let listed = try_paginate!(
            ctx,
            ctx.c
                .ecs
                .list_services()
                .cluster(cluster)
                // ECS pages by 10 unless asked; 100 is the most it gives.
                .max_results(100)
                .into_paginator()
                .send(),
            format!("services of cluster {cluster}"),
            "ecs:ListServices",
            |p| p.service_arns().iter().cloned(),
        );
        match listed {
            Ok(arns) => names.extend(arns),
            Err(_) => return Vec::new(),
        }
    }
    // DescribeServices takes 10 services a call: the batches are
    // independent, so they run concurrently, bounded.
    let chunks: Vec<Vec<String>> = names.chunks(10).map(<[String]>::to_vec).collect();
    let described: Vec<_> = stream::iter(chunks.into_iter().map(|chunk| async move {
        ctx.call();
        let result = ctx
            .c
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.clone()))
            .send()
            .await;
        (chunk, result)
    }))
    .buffer_unordered(CONCURRENCY)
    .collect()
    .await;
    let mut out = Vec::new();
    for (chunk, result) in described {
        match result {
            Ok(r) => {
                for f in r.failures() {
                    let mut gaps = ctx.gaps.lock().await;
                    gaps.push(missing_service(f, cluster));
                }
                out.extend(
                    r.services()
                        .iter()
                        .filter(|s| s.status() != Some("INACTIVE"))
                        .map(|s| workload_of(s, cluster)),
                );
            }
            Err(e) => {
                ctx.gap(
                    format!("services {} of cluster {cluster}", chunk.join(", ")),
                    "ecs:DescribeServices",
                    "ecs:DescribeServices",
                    &e,
                )
                .await;
            }
        }
    }
    out
}

/// A service `DescribeServices` did not find, as a gap.
fn missing_service(f: &Failure, cluster: &str) -> Gap {
    Gap {
        what: format!(
            "service {} in cluster {cluster}",
            f.arn().unwrap_or_default()
        ),
        call: "ecs:DescribeServices".into(),
        permission: "ecs:DescribeServices".into(),
        error: format!(
            "{} (the service does not exist or was deleted)",
            f.reason().unwrap_or("MISSING")
        ),
        truncated: false,
    }
}

/// A described service as a workload of `cluster`.
fn workload_of(s: &Service, cluster: &str) -> Workload {
    let net = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    Workload {
        name: s.service_name().unwrap_or_default().to_string(),
        cluster: cluster.to_string(),
        kind: WorkloadKind::Service,
        launch_type: s.launch_type().map(|l| l.as_str().to_string()),
        capacity_providers: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| c.capacity_provider().to_string())
            .collect(),
        platform_version: s.platform_version().map(str::to_string),
        subnets: net.map(|n| n.subnets().to_vec()).unwrap_or_default(),
        security_groups: net
            .map(|n| n.security_groups().to_vec())
            .unwrap_or_default(),
        assign_public_ip: net
            .and_then(|n| n.assign_public_ip())
            .is_some_and(|a| a.as_str() == "ENABLED"),
        enable_execute_command: s.enable_execute_command(),
        task_definition: s.task_definition().unwrap_or_default().to_string(),
    }
}

/// The task `--task-definition` plans to run, as a workload.
pub(super) async fn planned(ctx: &Ctx, scope: &Scope) -> Vec<Workload> {
    let _ = ctx;
    let Some(task) = &scope.task_definition else {
        return Vec::new();
    };
    vec![Workload {
        name: task.rsplit('/').next().unwrap_or(task).to_string(),
        cluster: scope.cluster.clone().unwrap_or_default(),
        kind: WorkloadKind::Planned,
        launch_type: Some("FARGATE".into()),
        capacity_providers: Vec::new(),
        platform_version: Some("LATEST".into()),
        subnets: scope.subnets.clone(),
        security_groups: scope.security_groups.clone(),
        assign_public_ip: scope.assign_public_ip,
        enable_execute_command: false,
        task_definition: task.clone(),
    }]
}

/// A task definition, by ARN or `family[:revision]`.
pub(super) async fn task_definition(ctx: &Ctx, arn: &str) -> Option<TaskDefinition> {
    ctx.call();
    let out = match ctx
        .c
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            ctx.gap(
                format!("task definition {arn}"),
                "ecs:DescribeTaskDefinition",
                "ecs:DescribeTaskDefinition",
                &e,
            )
            .await;
            return None;
        }
    };
    let t = out.task_definition()?;
    Some(TaskDefinition {
        arn: t.task_definition_arn().unwrap_or(arn).to_string(),
        family: t.family().unwrap_or_default().to_string(),
        revision: t.revision(),
        execution_role_arn: t.execution_role_arn().map(str::to_string),
        operating_system: t
            .runtime_platform()
            .and_then(|r| r.operating_system_family())
            .map(|o| o.as_str().to_string()),
        containers: t.container_definitions().iter().map(container_of).collect(),
        efs_file_systems: t
            .volumes()
            .iter()
            .filter_map(|v| {
                v.efs_volume_configuration()
                    .map(|e| e.file_system_id().to_string())
            })
            .collect(),
    })
}

/// A container definition, with what the network rules read of it.
fn container_of(c: &ContainerDefinition) -> Container {
    Container {
        name: c.name().unwrap_or_default().to_string(),
        image: c.image().unwrap_or_default().to_string(),
        secrets: c
            .secrets()
            .iter()
            .map(|s| s.value_from().to_string())
            .collect(),
        repository_credentials: c
            .repository_credentials()
            .map(|r| r.credentials_parameter().to_string()),
        log_driver: c
            .log_configuration()
            .map(|l| l.log_driver().as_str().to_string()),
        log_options: c
            .log_configuration()
            .and_then(|l| l.options())
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        firelens: c.firelens_configuration().is_some(),
        environment_files: c
            .environment_files()
            .iter()
            .map(|f| f.value().to_string())
            .collect(),
    }
}
