//! How a task subnet reaches AWS services (reference rules R1, R2): through an
//! internet gateway with a public IP, through a NAT gateway, through something
//! the snapshot cannot see past, or not at all ("isolated": then it needs VPC
//! endpoints, and the endpoint rules apply). The classification itself is a
//! fact about the snapshot, in [`crate::network::facts`]; it is named here too
//! because callers outside the network module (`check.rs`) read it from here.

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels, tf_list};
use crate::network::facts::{
    self, NatPath, default_route, describe_target, fargate_workloads, is_blackhole, nat_path,
    workload_label,
};
pub use crate::network::facts::{EgressClass, classify};
use crate::network::snapshot::{NetworkSnapshot, RouteTarget, Workload, WorkloadKind};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

const FARGATE_NETWORKING: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html";

/// Why an isolated subnet is isolated, in a few words, for messages.
pub(crate) fn why_isolated(
    snapshot: &NetworkSnapshot,
    workload: &Workload,
    subnet_id: &str,
) -> String {
    let Some(rt) = snapshot.route_table_of(subnet_id) else {
        return "its route table is unknown".into();
    };
    match default_route(rt) {
        None => format!("route table `{}` has no `0.0.0.0/0` route", rt.id),
        Some(r) if is_blackhole(r) => {
            format!("the `0.0.0.0/0` route of `{}` is a blackhole", rt.id)
        }
        Some(r) => match &r.target {
            RouteTarget::InternetGateway(igw) if !workload.assign_public_ip => format!(
                "route table `{}` sends `0.0.0.0/0` to internet gateway `{igw}`, but the tasks get no public IP (`assignPublicIp: DISABLED`), so they cannot use it",
                rt.id
            ),
            RouteTarget::NatGateway(nat) => {
                format!(
                    "NAT gateway `{nat}` of route table `{}` cannot forward traffic",
                    rt.id
                )
            }
            other => format!(
                "route table `{}` sends `0.0.0.0/0` to {}",
                rt.id,
                describe_target(other)
            ),
        },
    }
}

/// Public IP assigned, but the subnet has no route to an internet gateway.
///
/// ## What it does
/// Flags Fargate services with `assignPublicIp: ENABLED` in a subnet whose
/// route table has no active `0.0.0.0/0` route to an internet gateway.
///
/// ## Why is this bad?
/// A public IP only helps when the subnet routes to an internet gateway. Without
/// that route the address is never used: the task is isolated (or goes through a
/// NAT gateway), and a reader of the service definition is misled into thinking it
/// can reach ECR over the internet.
///
/// ## How to fix
/// Set `assignPublicIp` to `DISABLED`, or, if the subnet was meant to be public,
/// add `0.0.0.0/0 → igw-…` to its route table.
pub const PUBLIC_IP_WITHOUT_INTERNET_GATEWAY: Rule = Rule {
    id: "network/public-ip-without-internet-gateway",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A Fargate service assigns its tasks a public IP in a subnet without a default route to an internet gateway.",
    why: "The public IP is never used; the task is isolated or behind NAT, so it needs what those subnets need (VPC endpoints or a NAT gateway).",
    fix: "Set `assignPublicIp` to `DISABLED`, or route `0.0.0.0/0` of the subnet to an internet gateway.",
    docs: FARGATE_NETWORKING,
};

/// The default route goes somewhere the check cannot see past.
///
/// ## What it does
/// Flags task subnets whose `0.0.0.0/0` route goes to a transit gateway, a VPC
/// peering connection, a virtual private gateway, a network interface or a
/// Gateway Load Balancer endpoint, or whose route table is not in the snapshot.
///
/// ## Why is this bad?
/// Whether the tasks reach ECR then depends on networks outside this VPC (an
/// egress VPC, a firewall, on-premises). The check cannot verify them, and does
/// not require VPC endpoints for these subnets, so a broken path shows up only
/// when the task fails to start.
///
/// ## How to fix
/// Verify the path (for example with VPC Reachability Analyzer from an instance
/// in the subnet), or create the VPC endpoints in this VPC so the tasks do not
/// depend on it.
pub const EGRESS_UNKNOWN: Rule = Rule {
    id: "network/egress-unknown",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A task subnet's default route goes to a transit gateway, peering connection, VPN gateway or appliance that the check cannot see past.",
    why: "Whether tasks reach ECR, S3 and CloudWatch Logs depends on networks outside the VPC; the check cannot verify it and does not require VPC endpoints there.",
    fix: "Verify the path through that target, or create the VPC endpoints in this VPC so the tasks do not depend on it.",
    docs: FARGATE_NETWORKING,
};

/// The default route points at a NAT gateway that cannot carry traffic.
///
/// ## What it does
/// Flags task subnets whose `0.0.0.0/0` route goes to a NAT gateway that is not
/// `available` (pending, failed, deleted; a deleted one leaves a `blackhole`
/// route), or to an available NAT gateway whose own subnet has no default route
/// to an internet gateway.
///
/// ## Why is this bad?
/// The tasks have no way out: the ECR login, the image pull and CloudWatch Logs
/// time out, and the task stops with `ResourceInitializationError … i/o timeout`.
///
/// ## How to fix
/// Replace the NAT gateway (or give its subnet an internet route) and point the
/// task subnets' default route at it, or create the VPC endpoints.
pub const NAT_GATEWAY_UNAVAILABLE: Rule = Rule {
    id: "network/nat-gateway-unavailable",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A task subnet's default route goes to a NAT gateway that is not available, or that has no route to an internet gateway itself.",
    why: "The tasks have no way out: ECR login, image pull and logging time out and the task stops with `ResourceInitializationError`.",
    fix: "Create a working NAT gateway in a public subnet and route the task subnets' `0.0.0.0/0` to it, or create the VPC endpoints.",
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html",
};

/// The findings of the three egress rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let mut findings = public_ip_without_internet_gateway(snapshot);
    findings.extend(egress_unknown(snapshot));
    findings.extend(nat_gateway_unavailable(snapshot));
    findings
}

/// Route table → (what its default route does, the task subnets on it).
type NoInternetGateway = BTreeMap<String, (String, Vec<String>)>;

/// One finding per cause: the services whose public IP sits behind the same
/// route tables doing the same thing share one finding, so a fleet of
/// services with one mistake is one finding naming them, not one each.
fn public_ip_without_internet_gateway(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<NoInternetGateway, Vec<&Workload>> = BTreeMap::new();
    for w in fargate_workloads(s).filter(|w| w.assign_public_ip) {
        let mut without = NoInternetGateway::new();
        for subnet in &w.subnets {
            if !s.subnets.contains_key(subnet) {
                continue;
            }
            let Some(rt) = s.route_table_of(subnet) else {
                continue;
            };
            let route = default_route(rt).filter(|r| !is_blackhole(r));
            let goes_to = match route.map(|r| &r.target) {
                Some(RouteTarget::InternetGateway(_)) => continue,
                Some(target) => format!("sends `0.0.0.0/0` to {}", describe_target(target)),
                None => "has no `0.0.0.0/0` route".to_string(),
            };
            without
                .entry(rt.id.clone())
                .or_insert_with(|| (goes_to, Vec::new()))
                .1
                .push(subnet.clone());
        }
        if without.is_empty() {
            continue;
        }
        groups.entry(without).or_default().push(w);
    }
    let mut findings = Vec::new();
    for (without, workloads) in groups {
        let Some(first) = workloads.first().copied() else {
            continue;
        };
        let detail: Vec<String> = without
            .iter()
            .map(|(rt, (goes_to, subnets))| {
                format!("route table `{rt}` of {} {goes_to}", code_list(subnets))
            })
            .collect();
        let (who, assigns, title) = match workloads.len() {
            1 => (
                util::sentence(&workload_label(first)),
                "assigns its tasks",
                format!(
                    "{}: public IP without an internet gateway route",
                    first.name
                ),
            ),
            n => (
                util::sentence(&{
                    let mut names = util::Names::default();
                    workloads
                        .iter()
                        .for_each(|w| names.insert(workload_label(w)));
                    names.sentence_list()
                }),
                "assign their tasks",
                format!(
                    "{} and {} more: public IP without an internet gateway route",
                    first.name,
                    n - 1
                ),
            ),
        };
        let message = format!(
            "{who} {assigns} a public IP (`assignPublicIp: ENABLED`), but {}. A public IP is used only through an internet gateway, so these tasks get none of its benefit: they reach ECR, S3 and CloudWatch Logs only through a NAT gateway or VPC endpoints, and the rules for those apply.",
            util::and_list(&detail)
        );
        let mut services = util::Names::default();
        workloads
            .iter()
            .for_each(|w| services.insert(facts::workload_resource(s, w)));
        let unlisted = services.len() - services.listed().count();
        // The subnets and route tables first: a finding lists at most
        // MAX_RESOURCES, and these are what the fix changes.
        let mut resources: Vec<String> = Vec::new();
        for (rt, (_, subnets)) in &without {
            resources.extend(subnets.iter().cloned());
            resources.push(rt.clone());
        }
        resources.extend(services.listed().cloned());
        let mut fix = network_configuration_fix(s, first);
        if workloads.len() > 1 {
            fix.description = format!(
                "{} The snippets show `{}`; the other {} services need the same change.",
                fix.description,
                first.name,
                workloads.len() - 1
            );
        }
        let mut f = PUBLIC_IP_WITHOUT_INTERNET_GATEWAY
            .finding(title, message)
            .with_resources(resources)
            .with_fix(fix);
        f.omitted_resources = unlisted;
        findings.push(f);
    }
    findings
}

/// Turning the public IP off, as Terraform and CLI.
fn network_configuration_fix(s: &NetworkSnapshot, w: &Workload) -> Fix {
    let config = format!(
        "awsvpcConfiguration={{subnets=[{}],securityGroups=[{}],assignPublicIp=DISABLED}}",
        w.subnets.join(","),
        w.security_groups.join(",")
    );
    let cluster = facts::cluster_name(&w.cluster);
    let aws_cli = match w.kind {
        WorkloadKind::Service => format!(
            "aws ecs update-service --cluster {cluster} --service {} --network-configuration '{config}' --region {}",
            w.name, s.region
        ),
        WorkloadKind::Planned => format!(
            "aws ecs run-task --cluster {cluster} --launch-type FARGATE --task-definition {} --network-configuration '{config}' --region {}",
            w.name, s.region
        ),
    };
    Fix {
        description: "Turn the public IP off; if the subnets were meant to be public, route their `0.0.0.0/0` to an internet gateway instead.".into(),
        policy_statement: None,
        terraform: Some(format!(
            "resource \"aws_ecs_service\" \"{}\" {{\n  # ...\n  network_configuration {{\n    subnets          = [{}]\n    security_groups  = [{}]\n    assign_public_ip = false\n  }}\n}}",
            util::tf_name(&w.name),
            tf_list(&w.subnets),
            tf_list(&w.security_groups)
        )),
        aws_cli: Some(aws_cli),
    }
}

fn egress_unknown(s: &NetworkSnapshot) -> Vec<Finding> {
    // subnet → (reason, route table, workloads)
    let mut groups: BTreeMap<String, (String, Option<String>, BTreeSet<String>)> = BTreeMap::new();
    for w in fargate_workloads(s) {
        for subnet in &w.subnets {
            if let EgressClass::Unknown(why) = classify(s, w, subnet) {
                let rt = s.route_table_of(subnet).map(|rt| rt.id.clone());
                groups
                    .entry(subnet.clone())
                    .or_insert_with(|| (why, rt, BTreeSet::new()))
                    .2
                    .insert(workload_label(w));
            }
        }
    }
    groups
        .into_iter()
        .map(|(subnet, (why, rt, workloads))| {
            let message = format!(
                "Task subnet `{subnet}`{} of {}: the way out is unknown ({why}). The check cannot see whether that path reaches ECR, S3 and CloudWatch Logs, so it did not require VPC endpoints for this subnet. If the path is broken, tasks stop after about three minutes with `ResourceInitializationError … i/o timeout` or `DockerTimeoutError`.",
                rt.as_deref().map(|r| format!(" (route table `{r}`)")).unwrap_or_default(),
                labels(&workloads)
            );
            let mut resources = vec![subnet.clone()];
            resources.extend(rt.clone());
            let route_table = rt.as_deref().unwrap_or("<route-table-id>");
            EGRESS_UNKNOWN
                .finding(format!("Egress of {subnet} cannot be verified"), message)
                .with_resources(resources)
                .with_fix(Fix {
                    description: format!(
                        "Verify that the path from `{subnet}` ({why}) reaches ECR, S3 and CloudWatch Logs on TCP 443 (for example with VPC Reachability Analyzer from an instance in the subnet), or create the VPC endpoints in this VPC so the tasks do not depend on it."
                    ),
                    policy_statement: None,
                    terraform: None,
                    aws_cli: Some(format!(
                        "aws ec2 describe-route-tables --route-table-ids {route_table} --region {}",
                        s.region
                    )),
                })
        })
        .collect()
}

struct BrokenNat {
    problem: String,
    route_tables: BTreeSet<String>,
    subnets: BTreeSet<String>,
    workloads: BTreeSet<String>,
    nat_subnet: Option<String>,
    nat_route_table: Option<String>,
    vpc_id: String,
    /// Whether every affected workload has working endpoints for all it needs to start.
    endpoints_cover: bool,
}

fn nat_gateway_unavailable(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut groups: BTreeMap<String, BrokenNat> = BTreeMap::new();
    for w in fargate_workloads(s) {
        for subnet in &w.subnets {
            let Some(vpc_id) = s.subnets.get(subnet).map(|x| x.vpc_id.clone()) else {
                continue;
            };
            let Some(rt) = s.route_table_of(subnet) else {
                continue;
            };
            let Some(route) = default_route(rt) else {
                continue;
            };
            let RouteTarget::NatGateway(id) = &route.target else {
                continue;
            };
            let (problem, nat_subnet, nat_route_table) = if is_blackhole(route) {
                let state = s
                    .nat_gateways
                    .get(id)
                    .map_or("deleted", |n| n.state.as_str());
                (
                    format!("is `{state}`: the route to it is a `blackhole`"),
                    s.nat_gateways.get(id).map(|n| n.subnet_id.clone()),
                    None,
                )
            } else {
                match nat_path(s, id) {
                    NatPath::NotAvailable(state) => (
                        format!("is `{state}`, not `available`"),
                        s.nat_gateways.get(id).map(|n| n.subnet_id.clone()),
                        None,
                    ),
                    NatPath::NoInternetRoute {
                        subnet,
                        route_table,
                    } => (
                        format!(
                            "is available, but its own subnet `{subnet}` (route table `{route_table}`) has no `0.0.0.0/0` route to an internet gateway"
                        ),
                        Some(subnet),
                        Some(route_table),
                    ),
                    NatPath::Ready | NatPath::Unknown(_) => continue,
                }
            };
            let group = groups.entry(id.clone()).or_insert_with(|| BrokenNat {
                problem,
                route_tables: BTreeSet::new(),
                subnets: BTreeSet::new(),
                workloads: BTreeSet::new(),
                nat_subnet,
                nat_route_table,
                vpc_id: vpc_id.clone(),
                endpoints_cover: true,
            });
            group.endpoints_cover &= facts::endpoints_cover(s, w, &vpc_id);
            group.route_tables.insert(rt.id.clone());
            group.subnets.insert(subnet.clone());
            group.workloads.insert(workload_label(w));
        }
    }
    groups
        .into_iter()
        .map(|(nat, g)| {
            let consequence = if g.endpoints_cover {
                "Their VPC endpoints cover what the tasks need to start, but every other connection out of the VPC fails."
            } else {
                "Unless the subnets get all the VPC endpoints they need (see the endpoint findings), the ECR login, the image pull and CloudWatch Logs time out, and the task stops with `ResourceInitializationError: unable to pull secrets or registry auth: … dial tcp …:443: i/o timeout`."
            };
            let message = format!(
                "The default route of {} (route table{} {}) goes to NAT gateway `{nat}`, which {}. Tasks of {} have no way out to the internet. {consequence}",
                code_list(&g.subnets),
                if g.route_tables.len() > 1 { "s" } else { "" },
                code_list(&g.route_tables),
                g.problem,
                labels(&g.workloads)
            );
            let mut resources = vec![nat.clone()];
            resources.extend(g.route_tables.iter().cloned());
            resources.extend(g.subnets.iter().cloned());
            NAT_GATEWAY_UNAVAILABLE
                .finding(format!("NAT gateway {nat} cannot carry the tasks' traffic"), message)
                .with_severity(if g.endpoints_cover { Severity::Warning } else { Severity::Error })
                .with_resources(resources)
                .with_fix(nat_fix(s, &nat, &g))
        })
        .collect()
}

fn nat_fix(s: &NetworkSnapshot, nat: &str, g: &BrokenNat) -> Fix {
    // An internet gateway of the VPC, from any route table that uses one.
    let igw = s
        .route_tables
        .values()
        .filter(|rt| rt.vpc_id == g.vpc_id)
        .flat_map(|rt| &rt.routes)
        .find_map(|r| match &r.target {
            RouteTarget::InternetGateway(id) => Some(id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "<internet-gateway-id>".into());
    if let (Some(subnet), Some(rt)) = (&g.nat_subnet, &g.nat_route_table) {
        return Fix {
            description: format!(
                "Give the NAT gateway's subnet `{subnet}` a default route to the VPC's internet gateway, so `{nat}` can forward the tasks' traffic."
            ),
            policy_statement: None,
            terraform: Some(format!(
                "resource \"aws_route\" \"{}_internet\" {{\n  route_table_id         = \"{rt}\"\n  destination_cidr_block = \"0.0.0.0/0\"\n  gateway_id             = \"{igw}\"\n}}",
                util::tf_name(rt)
            )),
            aws_cli: Some(format!(
                "aws ec2 create-route --route-table-id {rt} --destination-cidr-block 0.0.0.0/0 --gateway-id {igw} --region {}",
                s.region
            )),
        };
    }
    let public_subnet = g.nat_subnet.as_deref().unwrap_or("<public-subnet-id>");
    let mut terraform = format!(
        "resource \"aws_eip\" \"nat\" {{\n  domain = \"vpc\"\n}}\n\nresource \"aws_nat_gateway\" \"tasks\" {{\n  allocation_id = aws_eip.nat.id\n  subnet_id     = \"{public_subnet}\"\n}}\n"
    );
    let mut cli = format!(
        "ALLOCATION=$(aws ec2 allocate-address --domain vpc --query AllocationId --output text --region {r})\nNAT=$(aws ec2 create-nat-gateway --subnet-id {public_subnet} --allocation-id $ALLOCATION --query NatGateway.NatGatewayId --output text --region {r})\naws ec2 wait nat-gateway-available --nat-gateway-ids $NAT --region {r}",
        r = s.region
    );
    for rt in &g.route_tables {
        terraform.push_str(&format!(
            "\nresource \"aws_route\" \"{}_default\" {{\n  route_table_id         = \"{rt}\"\n  destination_cidr_block = \"0.0.0.0/0\"\n  nat_gateway_id         = aws_nat_gateway.tasks.id\n}}\n",
            util::tf_name(rt)
        ));
        cli.push_str(&format!(
            "\naws ec2 replace-route --route-table-id {rt} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id $NAT --region {}",
            s.region
        ));
    }
    Fix {
        description: format!(
            "Create a NAT gateway in a public subnet (one whose route table sends `0.0.0.0/0` to an internet gateway) and point the task subnets' default route at it instead of `{nat}`; or create the VPC endpoints the tasks need."
        ),
        policy_statement: None,
        terraform: Some(terraform.trim_end().to_string()),
        aws_cli: Some(cli),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, default_route as route_to, of};

    fn web(s: &NetworkSnapshot) -> &Workload {
        &s.workloads[0]
    }

    #[test]
    fn fixture_subnets_are_isolated() {
        let s = fixture::snapshot();
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
        assert!(check(&s).is_empty());
    }

    #[test]
    fn internet_gateway_needs_a_public_ip() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::InternetGateway("igw-1".into())));
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
        s.workloads[0].assign_public_ip = true;
        assert_eq!(
            classify(&s, web(&s), "subnet-a"),
            EgressClass::PublicInternetGateway
        );
        assert!(check(&s).is_empty());
    }

    #[test]
    fn nat_gateway_with_internet_route() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::NatGateway("nat-1".into())));
        assert_eq!(
            classify(&s, web(&s), "subnet-a"),
            EgressClass::Nat("nat-1".into())
        );
        assert!(check(&s).is_empty());
    }

    #[test]
    fn main_route_table_applies_without_association() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .subnet_ids
            .retain(|x| x != "subnet-b");
        fixture::route_table(&mut s, "rtb-main")
            .routes
            .push(route_to(RouteTarget::NatGateway("nat-1".into())));
        assert_eq!(
            classify(&s, web(&s), "subnet-b"),
            EgressClass::Nat("nat-1".into())
        );
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
    }

    #[test]
    fn unavailable_nat_gateway_is_an_error_and_isolates() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::NatGateway("nat-1".into())));
        s.nat_gateways.get_mut("nat-1").unwrap().state = "failed".into();
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &NAT_GATEWAY_UNAVAILABLE);
        assert_eq!(f.len(), 1, "{findings:#?}");
        // The fixture's endpoints still let the tasks start.
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message
                .contains("VPC endpoints cover what the tasks need")
        );
        assert!(f[0].message.contains("`nat-1`") && f[0].message.contains("`failed`"));
        assert!(f[0].message.contains("`subnet-a` and `subnet-b`"));
        assert!(f[0].message.contains("service `web` (cluster `prod`)"));
        assert!(f[0].resources.contains(&"rtb-private".to_string()));
        let fix = f[0].fix.as_ref().unwrap();
        assert!(
            fix.aws_cli
                .as_ref()
                .unwrap()
                .contains("create-nat-gateway --subnet-id subnet-public")
        );
        assert!(
            fix.aws_cli
                .as_ref()
                .unwrap()
                .contains("replace-route --route-table-id rtb-private")
        );
        assert!(fix.terraform.as_ref().unwrap().contains("aws_nat_gateway"));
    }

    #[test]
    fn blackhole_route_to_a_deleted_nat_gateway() {
        let mut s = fixture::snapshot();
        let mut route = route_to(RouteTarget::NatGateway("nat-gone".into()));
        route.state = Some("blackhole".into());
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route);
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
        s.vpc_endpoints.remove("vpce-logs");
        let findings = check(&s);
        let f = of(&findings, &NAT_GATEWAY_UNAVAILABLE);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("`deleted`") && f[0].message.contains("blackhole"));
        assert!(
            f[0].message
                .contains("Unless the subnets get all the VPC endpoints")
        );
    }

    #[test]
    fn nat_gateway_without_internet_route_of_its_own() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::NatGateway("nat-1".into())));
        fixture::route_table(&mut s, "rtb-public")
            .routes
            .truncate(1);
        assert_eq!(classify(&s, web(&s), "subnet-a"), EgressClass::Isolated);
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &NAT_GATEWAY_UNAVAILABLE);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("own subnet `subnet-public`"),
            "{}",
            f[0].message
        );
        let cli = f[0].fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(
            cli.contains("create-route --route-table-id rtb-public"),
            "{cli}"
        );
        // The VPC's internet gateway is gone with that route: a placeholder is left.
        assert!(cli.contains("<internet-gateway-id>"), "{cli}");
    }

    #[test]
    fn transit_gateway_is_unknown_once_per_subnet() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::TransitGateway("tgw-1".into())));
        s.workloads.push(fixture::workload("api"));
        assert_eq!(
            classify(&s, web(&s), "subnet-a"),
            EgressClass::Unknown("transit gateway tgw-1".into())
        );
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &EGRESS_UNKNOWN);
        assert_eq!(f.len(), 2, "one per subnet: {findings:#?}");
        assert!(f[0].message.contains("transit gateway tgw-1"));
        assert!(
            f[0].message
                .contains("service `api` (cluster `prod`) and service `web` (cluster `prod`)")
        );
        assert_eq!(f[0].severity, Severity::Warning);
    }

    #[test]
    fn unknown_subnet_and_private_nat() {
        let mut s = fixture::snapshot();
        assert!(matches!(
            classify(&s, web(&s), "subnet-zz"),
            EgressClass::Unknown(_)
        ));
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(route_to(RouteTarget::NatGateway("nat-1".into())));
        s.nat_gateways.get_mut("nat-1").unwrap().connectivity = Some("private".into());
        assert_eq!(
            classify(&s, web(&s), "subnet-a"),
            EgressClass::Unknown("private NAT gateway nat-1".into())
        );
    }

    #[test]
    fn public_ip_in_an_isolated_subnet_is_a_warning() {
        let mut s = fixture::snapshot();
        s.workloads[0].assign_public_ip = true;
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &PUBLIC_IP_WITHOUT_INTERNET_GATEWAY);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.contains(
                "but route table `rtb-private` of `subnet-a` and `subnet-b` has no `0.0.0.0/0` route"
            ),
            "{}",
            f[0].message
        );
        let fix = f[0].fix.as_ref().unwrap();
        assert!(fix.aws_cli.as_ref().unwrap().contains(
            "--cluster prod --service web --network-configuration 'awsvpcConfiguration={subnets=[subnet-a,subnet-b],securityGroups=[sg-task],assignPublicIp=DISABLED}'"
        ));
        assert!(
            fix.terraform
                .as_ref()
                .unwrap()
                .contains("assign_public_ip = false")
        );
    }

    #[test]
    fn non_fargate_workloads_are_not_checked() {
        let mut s = fixture::snapshot();
        s.workloads[0].launch_type = Some("EC2".into());
        s.workloads[0].assign_public_ip = true;
        assert!(check(&s).is_empty());
    }
}
