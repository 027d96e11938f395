//! The path diagrams of the network section, built from the snapshot and the
//! findings the rules made of it: for each Fargate workload, each task subnet
//! → its route table → the VPC endpoint, NAT gateway, internet gateway (or
//! egress-only internet gateway) it takes → each service the task needs
//! ([`endpoints::required`]), the links the findings name marked broken with
//! their rules. Workloads with the same shape draw once. Pure: no I/O; the
//! renderers are in `report::paths`.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::endpoints::{self, EndpointType, Requirement};
use super::facts::{self, EgressClass};
use super::snapshot::{NetworkSnapshot, RouteTable, RouteTarget, Workload};
use crate::report::paths::{NodeKind, PathDiagram, PathEdge, PathNode};
use crate::report::{Finding, MAX_PATH_DIAGRAMS, Severity};

/// The findings a link can be blamed on, by the resources they name.
struct Blame<'a> {
    findings: &'a [Finding],
    by_resource: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Blame<'a> {
    /// Network findings of severity warning or error only: a notice never breaks a path.
    fn new(findings: &'a [Finding]) -> Self {
        let mut by_resource: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in findings.iter().enumerate() {
            if !f.rule.starts_with("network/") || f.severity == Severity::Notice {
                continue;
            }
            for r in &f.resources {
                by_resource.entry(r.as_str()).or_default().push(i);
            }
        }
        Blame {
            findings,
            by_resource,
        }
    }

    /// The rules of the findings that name one of `ids` and are about
    /// `service` (a full endpoint service name), or about no single service
    /// when `service` is `None`. Sorted, without repeats.
    fn rules(&self, ids: &[&str], service: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = ids
            .iter()
            .filter_map(|id| self.by_resource.get(id))
            .flatten()
            .map(|&i| &self.findings[i])
            .filter(|f| f.endpoint_service.as_deref() == service)
            .map(|f| f.rule.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// One workload's diagram as it is built: nodes and links without repeats.
#[derive(Default)]
struct Builder {
    nodes: Vec<PathNode>,
    node_index: HashMap<(NodeKind, String), usize>,
    edges: Vec<PathEdge>,
    edge_index: HashMap<(usize, usize), usize>,
}

impl Builder {
    fn node(&mut self, kind: NodeKind, label: &str) -> usize {
        let key = (kind, label.to_string());
        if let Some(&i) = self.node_index.get(&key) {
            return i;
        }
        self.nodes.push(PathNode {
            kind,
            label: label.to_string(),
        });
        self.node_index.insert(key, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// Adds the link, or merges into the one already there: a link is broken
    /// when any path over it is.
    fn edge(
        &mut self,
        from: usize,
        to: usize,
        label: Option<&str>,
        broken_by: Vec<String>,
        missing: Option<&str>,
    ) {
        let missing = missing.filter(|_| broken_by.is_empty()).map(str::to_string);
        if let Some(&i) = self.edge_index.get(&(from, to)) {
            let e = &mut self.edges[i];
            e.broken_by.extend(broken_by);
            e.broken_by.sort();
            e.broken_by.dedup();
            if e.broken_by.is_empty() && e.missing.is_none() {
                e.missing = missing;
            } else if !e.broken_by.is_empty() {
                e.missing = None;
            }
            return;
        }
        self.edges.push(PathEdge {
            from,
            to,
            label: label.map(str::to_string),
            broken_by,
            missing,
        });
        self.edge_index.insert((from, to), self.edges.len() - 1);
    }
}

/// The diagrams of the snapshot's Fargate workloads, one per distinct shape
/// in the order first met, at most [`MAX_PATH_DIAGRAMS`]; and how many more
/// shapes there were.
pub fn diagrams(s: &NetworkSnapshot, findings: &[Finding]) -> (Vec<PathDiagram>, usize) {
    let blame = Blame::new(findings);
    let mut shapes: Vec<PathDiagram> = Vec::new();
    let mut index: HashMap<(Vec<PathNode>, Vec<PathEdge>), usize> = HashMap::new();
    let mut omitted_shapes: HashSet<u64> = HashSet::new();
    for w in facts::fargate_workloads(s) {
        let b = workload_paths(s, w, &blame);
        if b.nodes.is_empty() {
            continue;
        }
        let key = (b.nodes, b.edges);
        match index.get(&key) {
            Some(&i) => {
                let d = &mut shapes[i];
                if d.workloads.len() < crate::report::paths::MAX_WORKLOADS_NAMED {
                    d.workloads.push(w.name.clone());
                } else {
                    d.omitted_workloads += 1;
                }
            }
            None if shapes.len() < MAX_PATH_DIAGRAMS => {
                shapes.push(PathDiagram {
                    workloads: vec![w.name.clone()],
                    omitted_workloads: 0,
                    nodes: key.0.clone(),
                    edges: key.1.clone(),
                });
                index.insert(key, shapes.len() - 1);
            }
            None => {
                // Counted once per shape, by hash: a fleet of 100,000 different
                // shapes holds 100,000 numbers, not 100,000 diagrams.
                let mut h = std::collections::hash_map::DefaultHasher::new();
                key.hash(&mut h);
                omitted_shapes.insert(h.finish());
            }
        }
    }
    (shapes, omitted_shapes.len())
}

/// One workload's links, subnet by subnet.
fn workload_paths(s: &NetworkSnapshot, w: &Workload, blame: &Blame) -> Builder {
    let mut b = Builder::default();
    let needs: Vec<Requirement> = s
        .task_definition_of(w)
        .map(|t| endpoints::required(w, t, &s.region))
        .unwrap_or_default();
    let workload = facts::workload_resource(s, w);
    for subnet_id in &w.subnets {
        let label = match s.subnets.get(subnet_id) {
            Some(x) if !x.availability_zone.is_empty() => {
                format!("{subnet_id} ({})", x.availability_zone)
            }
            _ => subnet_id.clone(),
        };
        let subnet = b.node(NodeKind::Subnet, &label);
        let Some(rt) = s.route_table_of(subnet_id) else {
            let unknown = b.node(NodeKind::Other, "route table not known");
            b.edge(subnet, unknown, None, Vec::new(), None);
            continue;
        };
        let table = b.node(NodeKind::RouteTable, &rt.id);
        let on_subnet = blame.rules(&[subnet_id, &rt.id], None);
        b.edge(subnet, table, None, on_subnet, None);
        let ids = Ids {
            subnet: subnet_id,
            route_table: &rt.id,
            workload: &workload,
        };
        match facts::classify(s, w, subnet_id) {
            EgressClass::PublicInternetGateway => {
                let igw = default_target_id(rt).unwrap_or_default();
                let hop = b.node(NodeKind::InternetGateway, &igw);
                let why = blame.rules(&[&igw], None);
                b.edge(table, hop, Some("0.0.0.0/0"), why, None);
                services_through(s, &mut b, hop, &needs, blame, &ids, &igw);
            }
            EgressClass::Nat(nat_id) => {
                let nat = b.node(NodeKind::NatGateway, &nat_id);
                let why = blame.rules(&[&nat_id], None);
                b.edge(table, nat, Some("0.0.0.0/0"), why, None);
                let igw = s
                    .nat_gateways
                    .get(&nat_id)
                    .and_then(|n| s.route_table_of(&n.subnet_id))
                    .and_then(default_target_id);
                let hop = match igw {
                    Some(igw) => {
                        let hop = b.node(NodeKind::InternetGateway, &igw);
                        b.edge(nat, hop, None, Vec::new(), None);
                        hop
                    }
                    None => nat,
                };
                services_through(s, &mut b, hop, &needs, blame, &ids, &nat_id);
            }
            EgressClass::Isolated => {
                dead_default_route(&mut b, table, rt, w.assign_public_ip, blame);
                endpoints_for(s, &mut b, table, rt, &needs, blame, &ids);
            }
            EgressClass::Unknown(why) => {
                let hop = b.node(NodeKind::Other, &why);
                b.edge(
                    table,
                    hop,
                    Some("0.0.0.0/0, not followed"),
                    Vec::new(),
                    None,
                );
                services_through(s, &mut b, hop, &needs, blame, &ids, "");
            }
        }
        if let Some(eigw) = rt.routes.iter().find_map(|r| match &r.target {
            RouteTarget::EgressOnlyInternetGateway(id)
                if r.destination_ipv6_cidr.as_deref() == Some("::/0") =>
            {
                Some(id)
            }
            _ => None,
        }) {
            let hop = b.node(NodeKind::EgressOnlyInternetGateway, eigw);
            b.edge(table, hop, Some("::/0"), Vec::new(), None);
        }
    }
    b
}

/// The resources a finding about one subnet's path may name.
struct Ids<'a> {
    subnet: &'a str,
    route_table: &'a str,
    workload: &'a str,
}

/// The id of the gateway the default route goes to, when it is one.
fn default_target_id(rt: &RouteTable) -> Option<String> {
    match &facts::default_route(rt)?.target {
        RouteTarget::InternetGateway(id) | RouteTarget::NatGateway(id) => Some(id.clone()),
        _ => None,
    }
}

/// Every needed service past a gateway the task reaches the internet through.
fn services_through(
    s: &NetworkSnapshot,
    b: &mut Builder,
    hop: usize,
    needs: &[Requirement],
    blame: &Blame,
    ids: &Ids,
    gateway: &str,
) {
    for r in needs {
        let service = b.node(NodeKind::Service, r.service);
        let full = s.service_name(r.service);
        let why = blame.rules(
            &[ids.subnet, ids.route_table, ids.workload, gateway],
            Some(&full),
        );
        b.edge(hop, service, None, why, None);
    }
}

/// The default route of an isolated subnet's table, when it has one that
/// leads nowhere (a NAT gateway that is not ready, an internet gateway
/// without a public IP, a blackhole): drawn broken.
fn dead_default_route(
    b: &mut Builder,
    table: usize,
    rt: &RouteTable,
    public_ip: bool,
    blame: &Blame,
) {
    let Some(route) = facts::default_route(rt) else {
        return;
    };
    let (kind, id, missing) = match &route.target {
        RouteTarget::NatGateway(id) => (NodeKind::NatGateway, id, "NAT gateway not ready"),
        RouteTarget::InternetGateway(id) if !public_ip => {
            (NodeKind::InternetGateway, id, "no public IP")
        }
        RouteTarget::InternetGateway(id) => (NodeKind::InternetGateway, id, "blackhole"),
        _ => return,
    };
    let missing = if facts::is_blackhole(route) {
        "blackhole"
    } else {
        missing
    };
    let hop = b.node(kind, id);
    let why = blame.rules(&[id], None);
    b.edge(table, hop, Some("0.0.0.0/0"), why, Some(missing));
}

/// Each needed service through its VPC endpoint, or a broken link straight
/// to it when the subnet has none that serves it.
fn endpoints_for(
    s: &NetworkSnapshot,
    b: &mut Builder,
    table: usize,
    rt: &RouteTable,
    needs: &[Requirement],
    blame: &Blame,
    ids: &Ids,
) {
    for r in needs {
        let service = b.node(NodeKind::Service, r.service);
        let full = s.service_name(r.service);
        let endpoint = match r.endpoint_type {
            EndpointType::Interface => facts::interface_in_use(s, &rt.vpc_id, r.service),
            EndpointType::Gateway => {
                let usable =
                    facts::usable_endpoints(s, &rt.vpc_id, r.service, EndpointType::Gateway);
                usable
                    .iter()
                    .find(|e| facts::routes_to_s3(s, rt, std::slice::from_ref(e)))
                    .copied()
            }
        };
        match endpoint {
            Some(e) => {
                let label = format!("{} ({} {})", e.id, r.service, r.endpoint_type.as_str());
                let hop = b.node(NodeKind::Endpoint, &label);
                let route = match r.endpoint_type {
                    EndpointType::Interface => "local",
                    EndpointType::Gateway => "prefix list",
                };
                b.edge(table, hop, Some(route), Vec::new(), None);
                let why = blame.rules(
                    &[ids.subnet, ids.route_table, ids.workload, &e.id],
                    Some(&full),
                );
                b.edge(hop, service, None, why, None);
            }
            None => {
                let why = blame.rules(&[ids.subnet, ids.route_table, ids.workload], Some(&full));
                let missing = match r.endpoint_type {
                    EndpointType::Interface => "no endpoint",
                    EndpointType::Gateway => "no S3 gateway route",
                };
                b.edge(table, service, None, why, Some(missing));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::{self, fixture};
    use crate::network::snapshot::Workload;
    use crate::report::paths::{self as render, NodeKind};

    fn build(s: &NetworkSnapshot) -> (Vec<PathDiagram>, usize) {
        diagrams(s, &rules::check_all(s))
    }

    fn edge_to<'a>(d: &'a PathDiagram, label: &str) -> Vec<&'a PathEdge> {
        d.edges
            .iter()
            .filter(|e| d.nodes[e.to].label == label)
            .collect()
    }

    #[test]
    fn isolated_subnets_reach_services_through_their_endpoints() {
        let s = fixture::snapshot();
        let (d, omitted) = build(&s);
        assert_eq!((d.len(), omitted), (1, 0));
        let d = &d[0];
        assert_eq!(d.workloads, ["web"]);
        let kinds: Vec<NodeKind> = d.nodes.iter().map(|n| n.kind).collect();
        assert!(kinds.contains(&NodeKind::Subnet) && kinds.contains(&NodeKind::Endpoint));
        for service in ["ecr.api", "ecr.dkr", "s3", "logs"] {
            let into = edge_to(d, service);
            assert!(!into.is_empty(), "{service}: {d:?}");
            assert!(into.iter().all(|e| !e.is_broken()), "{service}: {d:?}");
        }
    }

    #[test]
    fn a_missing_endpoint_is_a_broken_link_labelled_with_its_rule() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints
            .retain(|_, e| !e.service_name.ends_with(".ecr.api"));
        let (d, _) = build(&s);
        let into = edge_to(&d[0], "ecr.api");
        assert_eq!(into.len(), 1, "{:?}", d[0]);
        assert_eq!(
            into[0].broken_by,
            [rules::required_endpoints::ENDPOINT_MISSING.id]
        );
        assert_eq!(d[0].nodes[into[0].from].kind, NodeKind::RouteTable);
        let m = render::mermaid(&d[0]);
        assert!(m.contains("network/endpoint-missing"), "{m}");
    }

    #[test]
    fn identical_services_draw_once_and_different_ones_apart() {
        let mut s = fixture::snapshot();
        for i in 0..99 {
            s.workloads.push(fixture::workload(&format!("web-{i}")));
        }
        let (d, _) = build(&s);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].workload_count(), 100);
        assert_eq!(d[0].workloads.len(), render::MAX_WORKLOADS_NAMED);
        let public = Workload {
            subnets: vec!["subnet-public".into()],
            assign_public_ip: true,
            ..fixture::workload("edge")
        };
        s.workloads.push(public);
        let (d, _) = build(&s);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].workloads, ["edge"]);
        assert!(
            d[1].nodes
                .iter()
                .any(|n| n.kind == NodeKind::InternetGateway && n.label == "igw-1")
        );
    }

    #[test]
    fn nat_subnets_go_through_the_nat_and_its_internet_gateway() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        let (d, _) = build(&s);
        let labels: Vec<&str> = d[0].nodes.iter().map(|n| n.label.as_str()).collect();
        assert!(
            labels.contains(&"nat-1") && labels.contains(&"igw-1"),
            "{labels:?}"
        );
        assert!(d[0].edges.iter().all(|e| !e.is_broken()), "{:?}", d[0]);
        // The NAT gateway fails: the subnet is isolated, the dead route drawn broken.
        s.nat_gateways.get_mut("nat-1").unwrap().state = "failed".into();
        let (d, _) = build(&s);
        let into = edge_to(&d[0], "nat-1");
        assert!(into.iter().all(|e| e.is_broken()), "{:?}", d[0]);
        assert!(
            into[0]
                .broken_by
                .contains(&rules::egress::NAT_GATEWAY_UNAVAILABLE.id.to_string()),
            "{into:?}"
        );
    }

    #[test]
    fn shapes_past_the_cap_are_counted() {
        let mut s = fixture::snapshot();
        s.workloads.clear();
        for i in 0..(MAX_PATH_DIAGRAMS + 3) {
            let id = format!("subnet-x{i}");
            s.subnets.insert(
                id.clone(),
                crate::network::snapshot::Subnet {
                    id: id.clone(),
                    vpc_id: "vpc-1".into(),
                    ..Default::default()
                },
            );
            s.workloads.push(Workload {
                subnets: vec![id],
                ..fixture::workload(&format!("w{i}"))
            });
        }
        let (d, omitted) = build(&s);
        assert_eq!((d.len(), omitted), (MAX_PATH_DIAGRAMS, 3));
    }
}
