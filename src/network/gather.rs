//! Discovery: reads services, task definitions and the network around them
//! with the ECS, EC2 and IAM SDKs into a [`NetworkSnapshot`]. The only I/O of
//! the network checks; it never judges. Independent calls run concurrently,
//! every resource is fetched once however many services share it, everything
//! is paginated, and a call that fails becomes a [`Gap`] so the rest still
//! gets checked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use futures_util::future::join_all;
use tokio::sync::Mutex;

use super::snapshot::*;
use crate::aws::describe_error;

/// Pages through a paginated call, counting each page; a failed page becomes
/// a [`Gap`] (`$call` is both the API call and the permission that allows it)
/// and ends the loop with what was read so far.
macro_rules! paginate {
    ($ctx:expr, $pages:expr, $what:expr, $call:literal, |$page:ident| $items:expr $(,)?) => {{
        let mut out = Vec::new();
        let mut pages = $pages;
        while let Some(page) = pages.next().await {
            $ctx.call();
            match page {
                Ok($page) => out.extend($items),
                Err(e) => {
                    $ctx.gap($what, $call, $call, &e).await;
                    break;
                }
            }
        }
        out
    }};
}

/// What to discover.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--cluster`.
    pub cluster: Option<String>,
    /// `--service` (empty: every service of the cluster).
    pub services: Vec<String>,
    /// `--task-definition` for a planned task.
    pub task_definition: Option<String>,
    /// `--subnets` of the planned task.
    pub subnets: Vec<String>,
    /// `--security-groups` of the planned task.
    pub security_groups: Vec<String>,
    /// `--assign-public-ip` of the planned task.
    pub assign_public_ip: bool,
}

/// The SDK clients, built once from one shared configuration.
#[derive(Clone)]
pub struct Clients {
    ecr: aws_sdk_ecr::Client,
    ecs: aws_sdk_ecs::Client,
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
}

impl Clients {
    /// Clients for every service discovery reads.
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ecr: aws_sdk_ecr::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
        }
    }
}

/// Discovery's result: the snapshot and how many API calls it took.
pub struct Discovery {
    /// Everything found.
    pub snapshot: NetworkSnapshot,
    /// API calls made (pages count one each).
    pub api_calls: usize,
}

struct Ctx {
    c: Clients,
    calls: AtomicUsize,
    gaps: Mutex<Vec<Gap>>,
}

impl Ctx {
    fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    async fn gap<E>(&self, what: impl Into<String>, call: &str, permission: &str, error: &E)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let text = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => describe_error(error),
        };
        self.gaps.lock().await.push(Gap {
            what: what.into(),
            call: call.into(),
            permission: permission.into(),
            error: text,
        });
    }
}

/// Reads everything the network rules need for `scope`.
pub async fn discover(
    clients: Clients,
    region: &str,
    account: Option<String>,
    scope: &Scope,
) -> Discovery {
    let ctx = Arc::new(Ctx {
        c: clients,
        calls: AtomicUsize::new(0),
        gaps: Mutex::new(Vec::new()),
    });
    let mut snapshot = NetworkSnapshot {
        version: SNAPSHOT_VERSION,
        region: region.to_string(),
        account,
        ..NetworkSnapshot::default()
    };

    // 1. Workloads: services of the cluster, and the planned task.
    let (mut workloads, planned) = tokio::join!(services(&ctx, scope), planned(&ctx, scope));
    workloads.extend(planned);

    // 2. Task definitions (each distinct one once) and subnets, concurrently.
    let task_arns: BTreeSet<String> = workloads
        .iter()
        .map(|w| w.task_definition.clone())
        .collect();
    let subnet_ids: BTreeSet<String> = workloads.iter().flat_map(|w| w.subnets.clone()).collect();
    let (tasks, task_subnets) = tokio::join!(
        join_all(task_arns.iter().map(|arn| task_definition(&ctx, arn))),
        subnets(&ctx, &subnet_ids),
    );
    for t in tasks.into_iter().flatten() {
        snapshot.task_definitions.insert(t.arn.clone(), t);
    }
    // A planned task is keyed by what the user typed; point it at the resolved ARN.
    for w in &mut workloads {
        if !snapshot.task_definitions.contains_key(&w.task_definition)
            && let Some(t) = snapshot.task_definitions.values().find(|t| {
                w.task_definition == t.family
                    || w.task_definition == format!("{}:{}", t.family, t.revision)
            })
        {
            w.task_definition = t.arn.clone();
        }
    }
    snapshot.subnets = task_subnets;
    let vpc_ids: BTreeSet<String> = snapshot
        .subnets
        .values()
        .map(|s| s.vpc_id.clone())
        .collect();

    // 3. Per VPC, concurrently: the VPC and its DNS attributes, route tables,
    //    NAT gateways, endpoints and NACLs; beside them the task security groups
    //    and the execution-role simulations.
    let task_groups: BTreeSet<String> = workloads
        .iter()
        .flat_map(|w| w.security_groups.clone())
        .collect();
    let roles: BTreeMap<String, Vec<&'static str>> = snapshot
        .task_definitions
        .values()
        .filter_map(|t| {
            t.execution_role_arn
                .clone()
                .map(|r| (r, super::needs::needed_actions(t)))
        })
        .fold(BTreeMap::new(), |mut m, (r, actions)| {
            let e: &mut Vec<&'static str> = m.entry(r).or_default();
            e.extend(actions);
            e.sort_unstable();
            e.dedup();
            m
        });
    let uses_ecr = snapshot
        .task_definitions
        .values()
        .flat_map(|t| &t.containers)
        .any(|c| super::endpoints::ecr_region(&c.image).as_deref() == Some(region));
    let (vpcs, groups, simulations, cache_prefixes) = tokio::join!(
        join_all(vpc_ids.iter().map(|v| vpc(&ctx, v))),
        security_groups(&ctx, &task_groups),
        join_all(
            roles
                .iter()
                .map(|(role, actions)| simulate(&ctx, role, actions))
        ),
        pull_through_cache_prefixes(&ctx, uses_ecr),
    );
    snapshot.pull_through_cache_prefixes = cache_prefixes;
    for v in vpcs {
        snapshot.vpcs.insert(v.vpc.id.clone(), v.vpc);
        snapshot
            .route_tables
            .extend(v.route_tables.into_iter().map(|r| (r.id.clone(), r)));
        snapshot
            .nat_gateways
            .extend(v.nat_gateways.into_iter().map(|n| (n.id.clone(), n)));
        snapshot
            .vpc_endpoints
            .extend(v.endpoints.into_iter().map(|e| (e.id.clone(), e)));
        snapshot
            .network_acls
            .extend(v.network_acls.into_iter().map(|n| (n.id.clone(), n)));
    }
    snapshot.security_groups = groups;
    for (role, sim) in roles.keys().zip(simulations) {
        snapshot.execution_roles.insert(role.clone(), sim);
    }

    // A workload without security groups gets its VPC's default group, as ECS does.
    let defaults_needed: BTreeSet<String> = workloads
        .iter()
        .filter(|w| w.security_groups.is_empty())
        .filter_map(|w| w.subnets.iter().find_map(|s| snapshot.subnets.get(s)))
        .map(|s| s.vpc_id.clone())
        .collect();
    let defaults: BTreeMap<String, String> = join_all(
        defaults_needed
            .iter()
            .map(|v| default_security_group(&ctx, v)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    for w in workloads
        .iter_mut()
        .filter(|w| w.security_groups.is_empty())
    {
        let vpc = w
            .subnets
            .iter()
            .find_map(|s| snapshot.subnets.get(s))
            .map(|s| &s.vpc_id);
        if let Some(group) = vpc.and_then(|v| defaults.get(v)) {
            w.security_groups.push(group.clone());
        }
    }
    let task_groups_now: BTreeSet<String> = defaults.values().cloned().collect();

    // 4. What the first rounds pointed at: endpoint security groups and
    //    subnets not yet read, DHCP options, and the prefix lists.
    let endpoint_groups: BTreeSet<String> = snapshot
        .vpc_endpoints
        .values()
        .flat_map(|e| e.security_group_ids.clone())
        .chain(task_groups_now)
        .filter(|g| !snapshot.security_groups.contains_key(g))
        .collect();
    // Endpoint subnets (zones, CIDRs) and NAT gateway subnets (their own route to the internet).
    let endpoint_subnets: BTreeSet<String> = snapshot
        .vpc_endpoints
        .values()
        .flat_map(|e| e.subnet_ids.clone())
        .chain(snapshot.nat_gateways.values().map(|n| n.subnet_id.clone()))
        .filter(|s| !s.is_empty() && !snapshot.subnets.contains_key(s))
        .collect();
    // `default` is what EC2 reports for a VPC without a DHCP options set: Amazon-provided DNS.
    let dhcp_ids: BTreeSet<String> = snapshot
        .vpcs
        .values()
        .filter_map(|v| v.dhcp_options_id.clone())
        .filter(|d| d != "default")
        .collect();
    let (more_groups, more_subnets, dhcp) = tokio::join!(
        security_groups(&ctx, &endpoint_groups),
        subnets(&ctx, &endpoint_subnets),
        dhcp_options(&ctx, &dhcp_ids),
    );
    snapshot.security_groups.extend(more_groups);
    snapshot.subnets.extend(more_subnets);
    for v in snapshot.vpcs.values_mut() {
        if let Some(servers) = v.dhcp_options_id.as_ref().and_then(|d| dhcp.get(d)) {
            v.domain_name_servers = servers.clone();
        }
    }
    let referenced_lists: BTreeSet<String> = snapshot
        .security_groups
        .values()
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .filter_map(|r| r.prefix_list_id.clone())
        .chain(
            snapshot
                .route_tables
                .values()
                .flat_map(|t| &t.routes)
                .filter_map(|r| r.destination_prefix_list.clone()),
        )
        .collect();
    snapshot.prefix_lists =
        prefix_lists(&ctx, &snapshot.service_name("s3"), &referenced_lists).await;

    snapshot.workloads = workloads;
    let ctx = Arc::try_unwrap(ctx).ok().expect("all tasks finished");
    snapshot.gaps = ctx.gaps.into_inner();
    snapshot.gaps.sort_by(|a, b| a.what.cmp(&b.what));
    Discovery {
        snapshot,
        api_calls: ctx.calls.into_inner(),
    }
}

async fn services(ctx: &Ctx, scope: &Scope) -> Vec<Workload> {
    let Some(cluster) = &scope.cluster else {
        return Vec::new();
    };
    if scope.task_definition.is_some() && scope.services.is_empty() {
        return Vec::new(); // only the planned task
    }
    let mut names = scope.services.clone();
    if names.is_empty() {
        let mut pages = ctx
            .c
            .ecs
            .list_services()
            .cluster(cluster)
            // ECS pages by 10 unless asked; 100 is the most it gives.
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            ctx.call();
            match page {
                Ok(p) => names.extend(p.service_arns().iter().cloned()),
                Err(e) => {
                    ctx.gap(
                        format!("services of cluster {cluster}"),
                        "ecs:ListServices",
                        "ecs:ListServices",
                        &e,
                    )
                    .await;
                    return Vec::new();
                }
            }
        }
    }
    let chunks: Vec<Vec<String>> = names.chunks(10).map(<[String]>::to_vec).collect();
    let described = join_all(chunks.into_iter().map(|chunk| async move {
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
    .await;
    let mut out = Vec::new();
    for (chunk, result) in described {
        match result {
            Ok(r) => {
                for f in r.failures() {
                    let mut gaps = ctx.gaps.lock().await;
                    gaps.push(Gap {
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
                    });
                }
                for s in r.services() {
                    if s.status() == Some("INACTIVE") {
                        continue;
                    }
                    let net = s
                        .network_configuration()
                        .and_then(|n| n.awsvpc_configuration());
                    out.push(Workload {
                        name: s.service_name().unwrap_or_default().to_string(),
                        cluster: cluster.clone(),
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
                    });
                }
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

async fn planned(ctx: &Ctx, scope: &Scope) -> Vec<Workload> {
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

async fn task_definition(ctx: &Ctx, arn: &str) -> Option<TaskDefinition> {
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
        containers: t
            .container_definitions()
            .iter()
            .map(|c| Container {
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
            })
            .collect(),
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

async fn subnets(ctx: &Ctx, ids: &BTreeSet<String>) -> BTreeMap<String, Subnet> {
    let mut out = BTreeMap::new();
    if ids.is_empty() {
        return out;
    }
    let mut pages = ctx
        .c
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(ids.iter().cloned().collect()))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        ctx.call();
        match page {
            Ok(p) => {
                for s in p.subnets() {
                    let id = s.subnet_id().unwrap_or_default().to_string();
                    out.insert(
                        id.clone(),
                        Subnet {
                            id,
                            vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                            availability_zone: s
                                .availability_zone()
                                .unwrap_or_default()
                                .to_string(),
                            cidr_block: s.cidr_block().map(str::to_string),
                        },
                    );
                }
            }
            Err(e) => {
                let what = format!(
                    "subnets {}",
                    ids.iter().cloned().collect::<Vec<_>>().join(", ")
                );
                ctx.gap(what, "ec2:DescribeSubnets", "ec2:DescribeSubnets", &e)
                    .await;
                break;
            }
        }
    }
    out
}

struct VpcFacts {
    vpc: Vpc,
    route_tables: Vec<RouteTable>,
    nat_gateways: Vec<NatGateway>,
    endpoints: Vec<VpcEndpoint>,
    network_acls: Vec<NetworkAcl>,
}

fn vpc_filter(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
}

async fn vpc(ctx: &Ctx, vpc_id: &str) -> VpcFacts {
    let ec2 = &ctx.c.ec2;
    let describe = async {
        ctx.call();
        match ec2.describe_vpcs().vpc_ids(vpc_id).send().await {
            Ok(o) => o.vpcs().first().cloned(),
            Err(e) => {
                ctx.gap(
                    format!("VPC {vpc_id}"),
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcs",
                    &e,
                )
                .await;
                None
            }
        }
    };
    let attribute = |name: VpcAttributeName| async move {
        ctx.call();
        match ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(name.clone())
            .send()
            .await
        {
            Ok(o) => match name {
                VpcAttributeName::EnableDnsSupport => {
                    o.enable_dns_support().and_then(|a| a.value())
                }
                _ => o.enable_dns_hostnames().and_then(|a| a.value()),
            },
            Err(e) => {
                ctx.gap(
                    format!("{} of VPC {vpc_id}", name.as_str()),
                    "ec2:DescribeVpcAttribute",
                    "ec2:DescribeVpcAttribute",
                    &e,
                )
                .await;
                None
            }
        }
    };
    let (v, dns_support, dns_hostnames, route_tables, nat_gateways, endpoints, network_acls) = tokio::join!(
        describe,
        attribute(VpcAttributeName::EnableDnsSupport),
        attribute(VpcAttributeName::EnableDnsHostnames),
        route_tables(ctx, vpc_id),
        nat_gateways(ctx, vpc_id),
        endpoints(ctx, vpc_id),
        network_acls(ctx, vpc_id),
    );
    let mut cidr_blocks: Vec<String> = v
        .as_ref()
        .map(|v| {
            v.cidr_block_association_set()
                .iter()
                .filter_map(|a| a.cidr_block().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(primary) = v.as_ref().and_then(|v| v.cidr_block())
        && !cidr_blocks.iter().any(|c| c == primary)
    {
        cidr_blocks.insert(0, primary.to_string());
    }
    VpcFacts {
        vpc: Vpc {
            id: vpc_id.to_string(),
            cidr_blocks,
            enable_dns_support: dns_support,
            enable_dns_hostnames: dns_hostnames,
            dhcp_options_id: v
                .as_ref()
                .and_then(|v| v.dhcp_options_id())
                .map(str::to_string),
            domain_name_servers: Vec::new(),
        },
        route_tables,
        nat_gateways,
        endpoints,
        network_acls,
    }
}

fn target_of(r: &aws_sdk_ec2::types::Route) -> RouteTarget {
    let id = |s: Option<&str>| s.map(str::to_string);
    if let Some(g) = id(r.gateway_id()) {
        return match g.as_str() {
            "local" => RouteTarget::Local,
            g if g.starts_with("igw-") => RouteTarget::InternetGateway(g.to_string()),
            g if g.starts_with("vpce-") => RouteTarget::VpcEndpoint(g.to_string()),
            g if g.starts_with("vgw-") => RouteTarget::VirtualPrivateGateway(g.to_string()),
            g => RouteTarget::Other(g.to_string()),
        };
    }
    if let Some(n) = id(r.nat_gateway_id()) {
        return RouteTarget::NatGateway(n);
    }
    if let Some(t) = id(r.transit_gateway_id()) {
        return RouteTarget::TransitGateway(t);
    }
    if let Some(p) = id(r.vpc_peering_connection_id()) {
        return RouteTarget::VpcPeering(p);
    }
    if let Some(e) = id(r.egress_only_internet_gateway_id()) {
        return RouteTarget::EgressOnlyInternetGateway(e);
    }
    if let Some(e) = id(r.network_interface_id()) {
        return RouteTarget::NetworkInterface(e);
    }
    RouteTarget::Other(
        id(r.instance_id())
            .or(id(r.local_gateway_id()))
            .or(id(r.carrier_gateway_id()))
            .unwrap_or_else(|| "unknown".into()),
    )
}

async fn route_tables(ctx: &Ctx, vpc_id: &str) -> Vec<RouteTable> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_route_tables()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("route tables of {vpc_id}"),
        "ec2:DescribeRouteTables",
        |p| p.route_tables().iter().map(|t| {
            RouteTable {
                id: t.route_table_id().unwrap_or_default().to_string(),
                vpc_id: t.vpc_id().unwrap_or_default().to_string(),
                main: t.associations().iter().any(|a| a.main() == Some(true)),
                subnet_ids: t
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
                routes: t
                    .routes()
                    .iter()
                    .map(|r| Route {
                        destination_cidr: r.destination_cidr_block().map(str::to_string),
                        destination_ipv6_cidr: r.destination_ipv6_cidr_block().map(str::to_string),
                        destination_prefix_list: r.destination_prefix_list_id().map(str::to_string),
                        target: target_of(r),
                        state: r.state().map(|s| s.as_str().to_string()),
                    })
                    .collect(),
            }
        })
    )
}

async fn nat_gateways(ctx: &Ctx, vpc_id: &str) -> Vec<NatGateway> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_nat_gateways()
            .filter(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("NAT gateways of {vpc_id}"),
        "ec2:DescribeNatGateways",
        |p| p.nat_gateways().iter().map(|n| {
            NatGateway {
                id: n.nat_gateway_id().unwrap_or_default().to_string(),
                subnet_id: n.subnet_id().unwrap_or_default().to_string(),
                state: n
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                connectivity: n.connectivity_type().map(|c| c.as_str().to_string()),
            }
        })
    )
}

async fn endpoints(ctx: &Ctx, vpc_id: &str) -> Vec<VpcEndpoint> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_vpc_endpoints()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("VPC endpoints of {vpc_id}"),
        "ec2:DescribeVpcEndpoints",
        |p| p.vpc_endpoints().iter().map(|e| {
            VpcEndpoint {
                id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
                vpc_id: e.vpc_id().unwrap_or_default().to_string(),
                service_name: e.service_name().unwrap_or_default().to_string(),
                endpoint_type: e
                    .vpc_endpoint_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                state: e
                    .state()
                    .map(|s| s.as_str().to_lowercase())
                    .unwrap_or_default(),
                private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
                subnet_ids: e.subnet_ids().to_vec(),
                security_group_ids: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
                route_table_ids: e.route_table_ids().to_vec(),
                policy_document: e.policy_document().map(str::to_string),
            }
        })
    )
}

async fn network_acls(ctx: &Ctx, vpc_id: &str) -> Vec<NetworkAcl> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_network_acls()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("network ACLs of {vpc_id}"),
        "ec2:DescribeNetworkAcls",
        |p| p.network_acls().iter().map(|n| {
            NetworkAcl {
                id: n.network_acl_id().unwrap_or_default().to_string(),
                vpc_id: n.vpc_id().unwrap_or_default().to_string(),
                subnet_ids: n
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
                entries: n
                    .entries()
                    .iter()
                    .map(|e| NetworkAclEntry {
                        rule_number: e.rule_number().unwrap_or(32767),
                        egress: e.egress().unwrap_or(false),
                        protocol: e.protocol().unwrap_or("-1").to_string(),
                        allow: e.rule_action().is_some_and(|a| a.as_str() == "allow"),
                        cidr_block: e.cidr_block().map(str::to_string),
                        port_from: e.port_range().and_then(|p| p.from()),
                        port_to: e.port_range().and_then(|p| p.to()),
                    })
                    .collect(),
            }
        })
    )
}

async fn security_groups(ctx: &Ctx, ids: &BTreeSet<String>) -> BTreeMap<String, SecurityGroup> {
    let mut out: BTreeMap<String, SecurityGroup> = BTreeMap::new();
    if ids.is_empty() {
        return out;
    }
    let list: Vec<String> = ids.iter().cloned().collect();
    let groups = async {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(list.clone()))
                .into_paginator()
                .send(),
            format!("security groups {}", list.join(", ")),
            "ec2:DescribeSecurityGroups",
            |p| p.security_groups().iter().map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                ingress: Vec::new(),
                egress: Vec::new(),
            })
        )
    };
    let rules = async {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .describe_security_group_rules()
                .filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(list.clone()))
                        .build(),
                )
                .into_paginator()
                .send(),
            format!("rules of security groups {}", list.join(", ")),
            "ec2:DescribeSecurityGroupRules",
            |p| p.security_group_rules().iter().cloned()
        )
    };
    let (groups, rules) = tokio::join!(groups, rules);
    for g in groups {
        out.insert(g.id.clone(), g);
    }
    for r in rules {
        let Some(group) = r.group_id().and_then(|g| out.get_mut(g)) else {
            continue;
        };
        let rule = SecurityGroupRule {
            id: r.security_group_rule_id().map(str::to_string),
            protocol: r.ip_protocol().unwrap_or("-1").to_string(),
            from_port: r.from_port(),
            to_port: r.to_port(),
            cidr_ipv4: r.cidr_ipv4().map(str::to_string),
            cidr_ipv6: r.cidr_ipv6().map(str::to_string),
            prefix_list_id: r.prefix_list_id().map(str::to_string),
            referenced_group_id: r
                .referenced_group_info()
                .and_then(|g| g.group_id())
                .map(str::to_string),
        };
        if r.is_egress() == Some(true) {
            group.egress.push(rule);
        } else {
            group.ingress.push(rule);
        }
    }
    out
}

async fn dhcp_options(ctx: &Ctx, ids: &BTreeSet<String>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if ids.is_empty() {
        return out;
    }
    let mut pages = ctx
        .c
        .ec2
        .describe_dhcp_options()
        .set_dhcp_options_ids(Some(ids.iter().cloned().collect()))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        ctx.call();
        match page {
            Ok(p) => {
                for d in p.dhcp_options() {
                    let servers = d
                        .dhcp_configurations()
                        .iter()
                        .filter(|c| c.key() == Some("domain-name-servers"))
                        .flat_map(|c| {
                            c.values()
                                .iter()
                                .filter_map(|v| v.value().map(str::to_string))
                        })
                        .collect();
                    out.insert(d.dhcp_options_id().unwrap_or_default().to_string(), servers);
                }
            }
            Err(e) => {
                ctx.gap(
                    "DHCP options",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeDhcpOptions",
                    &e,
                )
                .await;
                break;
            }
        }
    }
    out
}

async fn prefix_lists(
    ctx: &Ctx,
    s3_name: &str,
    ids: &BTreeSet<String>,
) -> BTreeMap<String, PrefixList> {
    let mut lists: Vec<(String, String)> = Vec::new();
    ctx.call();
    let by_name = ctx
        .c
        .ec2
        .describe_managed_prefix_lists()
        .filters(
            Filter::builder()
                .name("prefix-list-name")
                .values(s3_name)
                .build(),
        )
        .send()
        .await;
    match by_name {
        Ok(o) => lists.extend(o.prefix_lists().iter().map(|p| {
            (
                p.prefix_list_id().unwrap_or_default().to_string(),
                p.prefix_list_name().unwrap_or_default().to_string(),
            )
        })),
        Err(e) => {
            ctx.gap(
                format!("the S3 prefix list {s3_name}"),
                "ec2:DescribeManagedPrefixLists",
                "ec2:DescribeManagedPrefixLists",
                &e,
            )
            .await
        }
    }
    let others: Vec<String> = ids
        .iter()
        .filter(|i| !lists.iter().any(|(id, _)| id == *i))
        .cloned()
        .collect();
    if !others.is_empty() {
        ctx.call();
        match ctx
            .c
            .ec2
            .describe_managed_prefix_lists()
            .set_prefix_list_ids(Some(others.clone()))
            .send()
            .await
        {
            Ok(o) => lists.extend(o.prefix_lists().iter().map(|p| {
                (
                    p.prefix_list_id().unwrap_or_default().to_string(),
                    p.prefix_list_name().unwrap_or_default().to_string(),
                )
            })),
            Err(e) => {
                let what = format!("prefix lists {}", others.join(", "));
                ctx.gap(
                    what,
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:DescribeManagedPrefixLists",
                    &e,
                )
                .await
            }
        }
    }
    let entries = join_all(lists.iter().map(|(id, _)| async move {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .get_managed_prefix_list_entries()
                .prefix_list_id(id)
                .into_paginator()
                .send(),
            format!("entries of prefix list {id}"),
            "ec2:GetManagedPrefixListEntries",
            |p| p
                .entries()
                .iter()
                .filter_map(|e| e.cidr().map(str::to_string)),
        )
    }))
    .await;
    lists
        .into_iter()
        .zip(entries)
        .map(|((id, name), entries)| (id.clone(), PrefixList { id, name, entries }))
        .collect()
}

async fn simulate(ctx: &Ctx, role: &str, actions: &[&'static str]) -> RoleSimulation {
    if actions.is_empty() {
        return RoleSimulation::default();
    }
    ctx.call();
    let result = ctx
        .c
        .iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
        .send()
        .await;
    match result {
        Ok(o) => RoleSimulation {
            decisions: o
                .evaluation_results()
                .iter()
                .map(|r| {
                    (
                        r.eval_action_name().to_string(),
                        r.eval_decision().as_str().to_string(),
                    )
                })
                .collect(),
            skipped: None,
        },
        Err(e) => RoleSimulation {
            decisions: BTreeMap::new(),
            skipped: Some(match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => describe_error(&e),
            }),
        },
    }
}

async fn pull_through_cache_prefixes(ctx: &Ctx, uses_ecr: bool) -> Vec<String> {
    if !uses_ecr {
        return Vec::new();
    }
    paginate!(
        ctx,
        ctx.c
            .ecr
            .describe_pull_through_cache_rules()
            .into_paginator()
            .send(),
        "pull-through cache rules of the registry",
        "ecr:DescribePullThroughCacheRules",
        |p| p
            .pull_through_cache_rules()
            .iter()
            .filter_map(|r| r.ecr_repository_prefix().map(str::to_string)),
    )
}

/// The id of a VPC's `default` security group.
async fn default_security_group(ctx: &Ctx, vpc_id: &str) -> Option<(String, String)> {
    ctx.call();
    let result = ctx
        .c
        .ec2
        .describe_security_groups()
        .filters(vpc_filter(vpc_id))
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(o) => o
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(|g| (vpc_id.to_string(), g.to_string())),
        Err(e) => {
            ctx.gap(
                format!("the default security group of {vpc_id}"),
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroups",
                &e,
            )
            .await;
            None
        }
    }
}
