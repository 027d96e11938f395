//! What the network rules share: which workloads and subnets a rule looks at,
//! how findings name them, and the pieces of Terraform and AWS CLI the fixes reuse.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::egress::{self, EgressClass};
use crate::network::endpoints::{self, EndpointType, Requirement};
use crate::network::snapshot::{
    NetworkSnapshot, RouteTable, SecurityGroupRule, Subnet, TaskDefinition, VpcEndpoint, Workload,
    WorkloadKind, cidr_contains,
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
pub(crate) fn isolated_workloads(s: &NetworkSnapshot) -> Vec<IsolatedWorkload<'_>> {
    fargate_workloads(s)
        .filter_map(|w| {
            let task = s.task_definition_of(w)?;
            let subnets: Vec<&Subnet> = w
                .subnets
                .iter()
                .filter(|id| egress::classify(s, w, id) == EgressClass::Isolated)
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
        .collect()
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

/// "`a`, `b` and `c`".
pub(crate) fn code_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = items
        .into_iter()
        .map(|i| format!("`{}`", i.as_ref()))
        .collect();
    and_list(&items)
}

/// "a, b and c".
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The text with its first letter in upper case, to start a sentence with a label.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The items without repeats, in their first order.
pub(crate) fn unique(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

/// "a, b and c" over workload labels.
pub(crate) fn labels(set: &BTreeSet<String>) -> String {
    and_list(&set.iter().cloned().collect::<Vec<_>>())
}

/// `"a", "b"` for a Terraform list.
pub(crate) fn tf_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|i| format!("\"{}\"", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Terraform resource name from an id or a service name (`ecr.api` → `ecr_api`).
pub(crate) fn tf_name(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// One subnet per Availability Zone (an Interface endpoint takes at most one per zone).
pub(crate) fn one_subnet_per_zone<'a, I>(subnets: I) -> Vec<&'a Subnet>
where
    I: IntoIterator<Item = &'a Subnet>,
{
    let mut seen = BTreeSet::new();
    subnets
        .into_iter()
        .filter(|s| seen.insert(s.availability_zone.clone()))
        .collect()
}

/// What a task prints when it cannot reach the endpoint service, as users see it.
pub(crate) fn symptom(service: &str) -> Option<&'static str> {
    Some(match service {
        "ecr.api" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: The task cannot pull registry auth from Amazon ECR: There is a connection issue between the task and Amazon ECR. … dial tcp …:443: i/o timeout`"
        }
        "ecr.dkr" => {
            "`CannotPullContainerError: The task cannot pull … from the registry … There is a connection issue between the task and the registry. … i/o timeout`"
        }
        "s3" => {
            "`CannotPullContainerError: … failed to copy: httpReadSeeker: failed open: … dial tcp 52.219.x.x:443: i/o timeout` (the layer download from S3)"
        }
        "logs" => {
            "`ResourceInitializationError: failed to validate logger args: … There is a connection issue between the task and Amazon CloudWatch. … signal: killed`"
        }
        "secretsmanager" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secret from asm: There is a connection issue between the task and AWS Secrets Manager. … context deadline exceeded`"
        }
        "ssm" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secrets from ssm: … There is a connection issue between the task and AWS Systems Manager Parameter Store …`"
        }
        "ssmmessages" => {
            "`aws ecs execute-command` failing to open a session (the task itself starts)"
        }
        _ => return None,
    })
}

/// The name a service is called by, which the endpoint's private DNS answers.
pub(crate) fn service_host(service: &str, region: &str) -> String {
    match service {
        "ecr.api" => format!("api.ecr.{region}.amazonaws.com"),
        "ecr.dkr" => format!("<account>.dkr.ecr.{region}.amazonaws.com"),
        other => format!("{other}.{region}.amazonaws.com"),
    }
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
    fn lists_read_like_prose() {
        assert_eq!(code_list(["a"]), "`a`");
        assert_eq!(code_list(["a", "b", "c"]), "`a`, `b` and `c`");
        assert_eq!(tf_list(["a", "b"]), "\"a\", \"b\"");
    }

    #[test]
    fn sentences_and_unique_items() {
        assert_eq!(sentence("service `web`"), "Service `web`");
        assert_eq!(unique(vec!["b".into(), "a".into(), "b".into()]), ["b", "a"]);
    }

    #[test]
    fn terraform_names_are_identifiers() {
        assert_eq!(tf_name("ecr.api"), "ecr_api");
        assert_eq!(tf_name("sg-0A1"), "sg_0a1");
        assert_eq!(tf_name("10.0.0.0/16"), "_10_0_0_0_16");
    }

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
