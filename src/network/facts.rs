//! What a [`NetworkSnapshot`] says once its pieces are put together: which
//! workloads run on Fargate, how a task subnet reaches the internet, which
//! endpoints a VPC has in use, whether a security group rule reaches a peer on
//! 443, and how workloads are named. Facts, not judgements: nothing here makes
//! a finding or picks a severity. The rules (`rules/`) judge with them, and the
//! Terraform reader (`policy::terraform`) names resources with them.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::endpoints::{self, EndpointType, Requirement};
use super::snapshot::{
    NetworkSnapshot, Route, RouteTable, RouteTarget, SecurityGroupRule, Subnet, TaskDefinition,
    VpcEndpoint, Workload, WorkloadKind, cidr_contains,
};

/// The workloads the network rules check: those that run on Fargate.
pub(crate) fn fargate_workloads(s: &NetworkSnapshot) -> impl Iterator<Item = &Workload> {
    s.workloads.iter().filter(|w| w.is_fargate())
}

/// A Fargate workload with at least one isolated subnet: the subnets where it
/// depends on VPC endpoints, and what it needs from them.
pub(crate) struct IsolatedWorkload<'a> {
    /// The service or planned task.
    pub workload: &'a Workload,
    /// Its task definition.
    pub task: &'a TaskDefinition,
    /// The VPC of its subnets.
    pub vpc_id: &'a str,
    /// Its isolated subnets (known to the snapshot), in the workload's order.
    pub subnets: Vec<&'a Subnet>,
    /// The endpoints it needs there ([`endpoints::required`]).
    pub requirements: Vec<Requirement>,
}

impl<'a> IsolatedWorkload<'a> {
    /// How findings name the workload.
    pub fn label(&self) -> String {
        workload_label(self.workload)
    }

    /// The requirement for an endpoint service, if the workload has it.
    pub fn requirement(&self, service: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.service == service)
    }

    /// Ids of the isolated subnets.
    pub fn subnet_ids(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.id.clone()).collect()
    }

    /// The route tables of the isolated subnets, each with the subnets that use it.
    pub fn route_tables(&self, s: &'a NetworkSnapshot) -> Vec<(&'a RouteTable, Vec<String>)> {
        let mut out: Vec<(&RouteTable, Vec<String>)> = Vec::new();
        for subnet in &self.subnets {
            let Some(rt) = s.route_table_of(&subnet.id) else {
                continue;
            };
            match out.iter_mut().find(|(t, _)| t.id == rt.id) {
                Some((_, subnets)) => subnets.push(subnet.id.clone()),
                None => out.push((rt, vec![subnet.id.clone()])),
            }
        }
        out
    }

    /// The Interface endpoint in use for each required Interface service.
    pub fn interface_endpoints(
        &self,
        s: &'a NetworkSnapshot,
    ) -> Vec<(&Requirement, &'a VpcEndpoint)> {
        self.requirements
            .iter()
            .filter(|r| r.endpoint_type == EndpointType::Interface)
            .filter_map(|r| interface_in_use(s, self.vpc_id, r.service).map(|e| (r, e)))
            .collect()
    }
}

/// The Fargate workloads with at least one isolated subnet. Workloads whose
/// task definition is not in the snapshot are left out: what they need is unknown.
/// Made one at a time as the caller goes, never all at once: a rule over
/// 100,000 services holds one of them, not 100,000.
pub(crate) fn isolated_workloads(
    s: &NetworkSnapshot,
) -> impl Iterator<Item = IsolatedWorkload<'_>> {
    fargate_workloads(s).filter_map(|w| {
        let task = s.task_definition_of(w)?;
        let subnets: Vec<&Subnet> = w
            .subnets
            .iter()
            .filter(|id| classify(s, w, id) == EgressClass::Isolated)
            .filter_map(|id| s.subnets.get(id))
            .collect();
        let vpc_id = subnets.first()?.vpc_id.as_str();
        Some(IsolatedWorkload {
            workload: w,
            task,
            vpc_id,
            requirements: endpoints::required(w, task, &s.region),
            subnets,
        })
    })
}

/// Whether a workload could start from an isolated subnet of `vpc_id`: its task
/// definition is known, its images are in this region's ECR, and every endpoint
/// it needs exists there with the right type and is `available`. (Security
/// groups, DNS and policies are judged by their own rules.)
pub(crate) fn endpoints_cover(s: &NetworkSnapshot, w: &Workload, vpc_id: &str) -> bool {
    let Some(task) = s.task_definition_of(w) else {
        return false;
    };
    task.containers
        .iter()
        .all(|c| endpoints::ecr_region(&c.image).as_deref() == Some(s.region.as_str()))
        && endpoints::required(w, task, &s.region)
            .iter()
            .all(|r| !usable_endpoints(s, vpc_id, r.service, r.endpoint_type).is_empty())
}

/// Endpoints of a VPC for a service that have the right type and are
/// `available`, the one with private DNS first (only it answers the service's name).
pub(crate) fn usable_endpoints<'a>(
    s: &'a NetworkSnapshot,
    vpc_id: &'a str,
    service: &str,
    endpoint_type: EndpointType,
) -> Vec<&'a VpcEndpoint> {
    let mut out: Vec<&VpcEndpoint> = s
        .endpoints_for(vpc_id, service)
        .filter(|e| e.endpoint_type == endpoint_type.as_str() && e.state == "available")
        .collect();
    out.sort_by_key(|e| (!e.private_dns_enabled, e.id.clone()));
    out
}

/// The Interface endpoint the tasks would use for a service.
pub(crate) fn interface_in_use<'a>(
    s: &'a NetworkSnapshot,
    vpc_id: &'a str,
    service: &str,
) -> Option<&'a VpcEndpoint> {
    usable_endpoints(s, vpc_id, service, EndpointType::Interface)
        .into_iter()
        .next()
}

/// The short service name of an endpoint (`ecr.api` for `com.amazonaws.us-east-1.ecr.api`).
pub(crate) fn short_service<'a>(s: &NetworkSnapshot, endpoint: &'a VpcEndpoint) -> &'a str {
    let prefix = format!("com.amazonaws.{}.", s.region);
    endpoint
        .service_name
        .strip_prefix(&prefix)
        .unwrap_or(&endpoint.service_name)
}

/// `web` from a cluster ARN or name.
pub(crate) fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit_once(":cluster/").map_or(cluster, |(_, n)| n)
}

/// How findings name a workload: "service `web` (cluster `prod`)".
pub(crate) fn workload_label(w: &Workload) -> String {
    match w.kind {
        WorkloadKind::Service => {
            format!(
                "service `{}` (cluster `{}`)",
                w.name,
                cluster_name(&w.cluster)
            )
        }
        WorkloadKind::Planned => format!("planned task `{}`", w.name),
    }
}

/// The resource that identifies a workload: the service ARN (or `service/cluster/name`
/// when the account is unknown), or the task definition ARN of a planned task.
pub(crate) fn workload_resource(s: &NetworkSnapshot, w: &Workload) -> String {
    match w.kind {
        WorkloadKind::Service => {
            let cluster = cluster_name(&w.cluster);
            match account(s) {
                Some(a) => format!("arn:aws:ecs:{}:{a}:service/{cluster}/{}", s.region, w.name),
                None => format!("service/{cluster}/{}", w.name),
            }
        }
        WorkloadKind::Planned => w.task_definition.clone(),
    }
}

/// The account: the snapshot's, else the one in a task definition ARN.
pub(crate) fn account(s: &NetworkSnapshot) -> Option<String> {
    s.account.clone().or_else(|| {
        s.task_definitions
            .keys()
            .find_map(|arn| arn.split(':').nth(4).filter(|a| !a.is_empty()))
            .map(str::to_string)
    })
}

/// How a task in a subnet reaches the internet, and with it ECR, S3 and CloudWatch Logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressClass {
    /// 0.0.0.0/0 goes to an internet gateway and the task gets a public IP.
    PublicInternetGateway,
    /// 0.0.0.0/0 goes to this NAT gateway, which is available and has an internet route.
    Nat(String),
    /// No way out: only VPC endpoints can serve the task.
    Isolated,
    /// 0.0.0.0/0 goes somewhere the snapshot cannot see past (transit gateway,
    /// peering, VPN, appliance), or the route table is unknown. The text says what.
    Unknown(String),
}

/// The egress class of `subnet_id` for `workload`, from the subnet's route table
/// (its explicit association, else the VPC's main table).
pub fn classify(snapshot: &NetworkSnapshot, workload: &Workload, subnet_id: &str) -> EgressClass {
    if !snapshot.subnets.contains_key(subnet_id) {
        return EgressClass::Unknown(format!("subnet {subnet_id} not in the snapshot"));
    }
    let Some(rt) = snapshot.route_table_of(subnet_id) else {
        return EgressClass::Unknown(format!("route table of {subnet_id} not in the snapshot"));
    };
    let Some(route) = default_route(rt) else {
        return EgressClass::Isolated;
    };
    if is_blackhole(route) {
        return EgressClass::Isolated;
    }
    match &route.target {
        RouteTarget::InternetGateway(_) if workload.assign_public_ip => {
            EgressClass::PublicInternetGateway
        }
        RouteTarget::InternetGateway(_) => EgressClass::Isolated,
        RouteTarget::NatGateway(id) => match nat_path(snapshot, id) {
            NatPath::Ready => EgressClass::Nat(id.clone()),
            NatPath::NotAvailable(_) | NatPath::NoInternetRoute { .. } => EgressClass::Isolated,
            NatPath::Unknown(why) => EgressClass::Unknown(why),
        },
        RouteTarget::Local | RouteTarget::EgressOnlyInternetGateway(_) => EgressClass::Isolated,
        other => EgressClass::Unknown(describe_target(other)),
    }
}

/// The IPv4 default route of a route table.
pub(crate) fn default_route(rt: &RouteTable) -> Option<&Route> {
    rt.routes
        .iter()
        .find(|r| r.destination_cidr.as_deref() == Some("0.0.0.0/0"))
}

/// Whether a route is a blackhole (its target is gone).
pub(crate) fn is_blackhole(route: &Route) -> bool {
    route.state.as_deref() == Some("blackhole")
}

/// A route target in a few words, for messages.
pub(crate) fn describe_target(target: &RouteTarget) -> String {
    match target {
        RouteTarget::Local => "local".into(),
        RouteTarget::InternetGateway(id) => format!("internet gateway {id}"),
        RouteTarget::NatGateway(id) => format!("NAT gateway {id}"),
        RouteTarget::VpcEndpoint(id) => format!("endpoint {id} (Gateway Load Balancer)"),
        RouteTarget::TransitGateway(id) => format!("transit gateway {id}"),
        RouteTarget::VpcPeering(id) => format!("VPC peering {id}"),
        RouteTarget::VirtualPrivateGateway(id) => format!("virtual private gateway {id}"),
        RouteTarget::NetworkInterface(id) => format!("network interface {id}"),
        RouteTarget::EgressOnlyInternetGateway(id) => format!("egress-only internet gateway {id}"),
        RouteTarget::Other(id) => id.clone(),
    }
}

/// Whether a NAT gateway can carry the tasks' traffic to the internet.
pub(crate) enum NatPath {
    /// Available, with its own route to an internet gateway.
    Ready,
    /// Its state, or `gone` when only a blackhole route is left.
    NotAvailable(String),
    /// Available, but its own subnet has no default route to an internet gateway.
    NoInternetRoute { subnet: String, route_table: String },
    /// The snapshot cannot tell: the text says why.
    Unknown(String),
}

/// The [`NatPath`] of NAT gateway `id`, from its state and its own subnet's route table.
pub(crate) fn nat_path(s: &NetworkSnapshot, id: &str) -> NatPath {
    let Some(nat) = s.nat_gateways.get(id) else {
        return NatPath::Unknown(format!("NAT gateway {id} not in the snapshot"));
    };
    if nat.state != "available" {
        return NatPath::NotAvailable(nat.state.clone());
    }
    if nat.connectivity.as_deref() == Some("private") {
        return NatPath::Unknown(format!("private NAT gateway {id}"));
    }
    let Some(rt) = s.route_table_of(&nat.subnet_id) else {
        return NatPath::Unknown(format!(
            "route table of NAT gateway {id}'s subnet {} not in the snapshot",
            nat.subnet_id
        ));
    };
    match default_route(rt) {
        Some(r) if !is_blackhole(r) => match &r.target {
            RouteTarget::InternetGateway(_) => NatPath::Ready,
            RouteTarget::Local | RouteTarget::EgressOnlyInternetGateway(_) => {
                NatPath::NoInternetRoute {
                    subnet: nat.subnet_id.clone(),
                    route_table: rt.id.clone(),
                }
            }
            other => NatPath::Unknown(format!(
                "NAT gateway {id} sends to {}",
                describe_target(other)
            )),
        },
        _ => NatPath::NoInternetRoute {
            subnet: nat.subnet_id.clone(),
            route_table: rt.id.clone(),
        },
    }
}

/// Whether `rt` routes to one of the S3 Gateway endpoints `usable`.
pub(crate) fn routes_to_s3(s: &NetworkSnapshot, rt: &RouteTable, usable: &[&VpcEndpoint]) -> bool {
    let prefix_list = s.s3_prefix_list().map(|p| p.id.as_str());
    usable.iter().any(|e| e.route_table_ids.contains(&rt.id))
        || rt.routes.iter().any(|r| {
            r.state.as_deref() != Some("blackhole")
                && (prefix_list.is_none() || r.destination_prefix_list.as_deref() == prefix_list)
                && matches!(&r.target, RouteTarget::VpcEndpoint(id) if usable.iter().any(|e| &e.id == id))
        })
}

/// The Amazon-provided resolver of a VPC (base of its primary CIDR + 2).
pub(crate) fn vpc_resolver(cidr: &str) -> Option<Ipv4Addr> {
    let net: Ipv4Net = cidr.parse().ok()?;
    Some(Ipv4Addr::from(u32::from(net.network()) + 2))
}

/// Whether a security group rule covers TCP 443 towards (or from) every CIDR
/// in `cidrs`, any of the groups in `groups`, or (for prefix-list peers) a
/// prefix list in the snapshot whose entries contain all of `cidrs`.
pub(crate) fn rule_reaches(
    s: &NetworkSnapshot,
    rule: &SecurityGroupRule,
    groups: &[String],
    cidrs: &[String],
) -> bool {
    if !rule.covers_tcp(443) {
        return false;
    }
    if let Some(g) = &rule.referenced_group_id {
        return groups.contains(g);
    }
    let contains_all = |outer: &[String]| {
        !cidrs.is_empty()
            && cidrs
                .iter()
                .all(|c| outer.iter().any(|o| cidr_contains(o, c)))
    };
    if let Some(cidr) = &rule.cidr_ipv4 {
        return contains_all(std::slice::from_ref(cidr));
    }
    if let Some(pl) = rule
        .prefix_list_id
        .as_ref()
        .and_then(|p| s.prefix_lists.get(p))
    {
        return contains_all(&pl.entries);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_is_base_plus_two() {
        assert_eq!(
            vpc_resolver("10.0.0.0/16"),
            Some(Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(
            vpc_resolver("172.31.0.0/16"),
            Some(Ipv4Addr::new(172, 31, 0, 2))
        );
        assert_eq!(vpc_resolver("nope"), None);
    }

    #[test]
    fn cluster_names_from_arns() {
        assert_eq!(cluster_name("arn:aws:ecs:us-east-1:1:cluster/prod"), "prod");
        assert_eq!(cluster_name("prod"), "prod");
    }
}
