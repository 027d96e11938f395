//! Discovery: reads services, task definitions and the network around them
//! with the ECS, EC2 and IAM SDKs into a [`NetworkSnapshot`]. The only I/O of
//! the network checks; it never judges. Independent calls run concurrently,
//! every resource is fetched once however many services share it, everything
//! is paginated, and a call that fails becomes a [`Gap`] so the rest still
//! gets checked.
//!
//! This file runs the rounds (what each round reads depends on what the one
//! before found); the calls themselves are grouped by resource family: `ecs`
//! (services, task definitions), `vpc` (VPCs, subnets, DHCP options, VPC
//! endpoints), `routes` (route tables, NAT gateways), `security_groups`
//! (security groups and prefix lists), `network_acls`, `iam` (the execution
//! role's simulation) and `ecr` (pull-through cache rules).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use futures_util::future::join_all;
use futures_util::{StreamExt, stream};
use tokio::sync::Mutex;

use crate::aws::describe_error;
use crate::network::snapshot::{Gap, NetworkSnapshot, SNAPSHOT_VERSION, Workload};

/// Pages through a paginated call, counting each page. A failed page becomes
/// a [`Gap`] (`$call` is both the API call and the permission that allows it)
/// and ends the loop: `Ok` holds the items of every page, `Err` those read
/// before the failure. A listing whose next token repeats, or that goes on
/// past [`limits::MAX_PAGES`](crate::limits::MAX_PAGES), is cut there and
/// becomes a truncated [`Gap`] the same way.
macro_rules! try_paginate {
    ($ctx:expr, $pages:expr, $what:expr, $call:literal, |$page:ident| $items:expr $(,)?) => {{
        let mut out = Vec::new();
        let mut pages = $pages;
        let mut failed = false;
        let mut counted = $crate::limits::Pages::default();
        while let Some(page) = pages.next().await {
            $ctx.call();
            match page {
                Ok($page) => {
                    let cut = counted.page($page.next_token());
                    out.extend($items);
                    if let Err(cut) = cut {
                        $ctx.truncated($what, $call, &cut).await;
                        failed = true;
                        break;
                    }
                }
                Err(e) => {
                    $ctx.gap($what, $call, $call, &e).await;
                    failed = true;
                    break;
                }
            }
        }
        if failed { Err(out) } else { Ok(out) }
    }};
}

/// [`try_paginate!`] keeping what was read, whether or not a page failed.
macro_rules! paginate {
    ($($arguments:tt)*) => {
        match try_paginate!($($arguments)*) {
            Ok(items) | Err(items) => items,
        }
    };
}

mod ecr;
mod ecs;
mod iam;
mod network_acls;
mod routes;
mod security_groups;
mod vpc;

/// Calls of one kind in flight at once (the `DescribeServices` batches of a
/// large cluster, the distinct task definitions, the VPCs): enough to keep
/// the API busy, few enough not to be throttled at once; the SDK's adaptive
/// retry (`aws::credentials::load_base`) paces whatever is throttled anyway.
pub const CONCURRENCY: usize = 16;

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

/// What every call shares: the clients, the count of calls made and the gaps.
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
            truncated: false,
        });
    }
}

impl Ctx {
    /// A listing cut short ([`crate::limits::Pages`]): recorded as a gap, so
    /// what it did not read is reported as not checked.
    async fn truncated(&self, what: impl Into<String>, call: &str, cut: &crate::limits::Cut) {
        self.gaps.lock().await.push(Gap {
            what: what.into(),
            call: call.into(),
            permission: call.into(),
            error: cut.to_string(),
            truncated: true,
        });
    }
}

/// The filter that keeps a VPC's resources (every family reads per VPC).
fn vpc_filter(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
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
    let (mut workloads, planned) =
        tokio::join!(ecs::services(&ctx, scope), ecs::planned(&ctx, scope));
    workloads.extend(planned);
    // 2. Their task definitions and subnets.
    task_definitions_and_subnets(&ctx, &mut snapshot, &mut workloads).await;
    // 3. Per VPC, and beside it the security groups and execution roles.
    vpcs_groups_and_roles(&ctx, &mut snapshot, &workloads, region).await;
    let default_groups = default_security_groups(&ctx, &snapshot, &mut workloads).await;
    // 4. What the first rounds pointed at.
    what_they_point_at(&ctx, &mut snapshot, default_groups).await;

    snapshot.workloads = workloads;
    let ctx = Arc::try_unwrap(ctx).ok().expect("all tasks finished");
    snapshot.gaps = ctx.gaps.into_inner();
    snapshot.gaps.sort_by(|a, b| a.what.cmp(&b.what));
    Discovery {
        snapshot,
        api_calls: ctx.calls.into_inner(),
    }
}

/// Round 2: the task definitions (each distinct one once) and the workloads'
/// subnets, concurrently; a planned task is pointed at its resolved ARN.
async fn task_definitions_and_subnets(
    ctx: &Ctx,
    snapshot: &mut NetworkSnapshot,
    workloads: &mut [Workload],
) {
    let task_arns: BTreeSet<String> = workloads
        .iter()
        .map(|w| w.task_definition.clone())
        .collect();
    let subnet_ids: BTreeSet<String> = workloads.iter().flat_map(|w| w.subnets.clone()).collect();
    let (tasks, task_subnets) = tokio::join!(
        stream::iter(task_arns.iter().map(|arn| ecs::task_definition(ctx, arn)))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>(),
        vpc::subnets(ctx, &subnet_ids),
    );
    for t in tasks.into_iter().flatten() {
        snapshot.task_definitions.insert(t.arn.clone(), t);
    }
    // A planned task is keyed by what the user typed; point it at the resolved ARN.
    for w in workloads.iter_mut() {
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
}

/// Round 3, concurrently: per VPC its DNS attributes, route tables, NAT
/// gateways, endpoints and NACLs; beside them the task security groups, the
/// execution-role simulations and the registry's pull-through cache rules.
async fn vpcs_groups_and_roles(
    ctx: &Ctx,
    snapshot: &mut NetworkSnapshot,
    workloads: &[Workload],
    region: &str,
) {
    let vpc_ids: BTreeSet<String> = snapshot
        .subnets
        .values()
        .map(|s| s.vpc_id.clone())
        .collect();
    let task_groups: BTreeSet<String> = workloads
        .iter()
        .flat_map(|w| w.security_groups.clone())
        .collect();
    let roles = iam::roles_to_simulate(snapshot);
    let uses_ecr = snapshot
        .task_definitions
        .values()
        .flat_map(|t| &t.containers)
        .any(|c| crate::network::endpoints::ecr_region(&c.image).as_deref() == Some(region));
    let (vpcs, groups, simulations, cache_prefixes) = tokio::join!(
        stream::iter(vpc_ids.iter().map(|v| vpc::vpc(ctx, v)))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>(),
        security_groups::security_groups(ctx, &task_groups),
        // In the roles' order: each simulation is zipped with its role below.
        stream::iter(
            roles
                .iter()
                .map(|(role, actions)| iam::simulate(ctx, role, actions))
        )
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>(),
        ecr::pull_through_cache_prefixes(ctx, uses_ecr),
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
}

/// A workload without security groups gets its VPC's default group, as ECS
/// does. Returns the default groups read, whose rules are read in round 4.
async fn default_security_groups(
    ctx: &Ctx,
    snapshot: &NetworkSnapshot,
    workloads: &mut [Workload],
) -> BTreeSet<String> {
    let defaults_needed: BTreeSet<String> = workloads
        .iter()
        .filter(|w| w.security_groups.is_empty())
        .filter_map(|w| w.subnets.iter().find_map(|s| snapshot.subnets.get(s)))
        .map(|s| s.vpc_id.clone())
        .collect();
    let defaults: BTreeMap<String, String> = join_all(
        defaults_needed
            .iter()
            .map(|v| security_groups::default_security_group(ctx, v)),
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
    defaults.values().cloned().collect()
}

/// Round 4, what the first rounds pointed at: endpoint security groups and
/// subnets not yet read, DHCP options, and the prefix lists.
async fn what_they_point_at(
    ctx: &Ctx,
    snapshot: &mut NetworkSnapshot,
    default_groups: BTreeSet<String>,
) {
    let endpoint_groups: BTreeSet<String> = snapshot
        .vpc_endpoints
        .values()
        .flat_map(|e| e.security_group_ids.clone())
        .chain(default_groups)
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
        security_groups::security_groups(ctx, &endpoint_groups),
        vpc::subnets(ctx, &endpoint_subnets),
        vpc::dhcp_options(ctx, &dhcp_ids),
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
        security_groups::prefix_lists(ctx, &snapshot.service_name("s3"), &referenced_lists).await;
}
