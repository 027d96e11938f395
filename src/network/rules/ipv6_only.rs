//! IPv6-only Fargate subnets and the way to ECR (field research §3.9, §3.11;
//! reference rule R18).

use std::collections::BTreeMap;

use super::dual_stack::{ipv6_default_gateway, is_dual_stack};
use super::util::code_list;
use crate::network::endpoints::ecr_region;
use crate::network::facts::{self, NatPath, fargate_workloads, interface_in_use, nat_path};
use crate::network::snapshot::{NetworkSnapshot, RouteTarget, Subnet, Workload};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// A task in an IPv6-only subnet has no way to ECR's registry auth or its images.
///
/// ## What it does
/// For Fargate tasks in subnets whose `Ipv6Native` is true (snapshot version 2),
/// checks the two ECR legs the task needs: registry auth, which Fargate still
/// sends to the IPv4-only `api.ecr.<region>.amazonaws.com` (an `ecr.api`
/// interface endpoint, or DNS64 on the subnet with a `64:ff9b::/96` route to a
/// NAT gateway), and the image pull (a dual-stack `*.dkr-ecr.<region>.on.aws`
/// image needs a `::/0` route to an egress-only or internet gateway and security
/// group egress 443 to `::/0`; an IPv4 image name needs the `ecr.dkr` endpoint
/// or DNS64/NAT64).
///
/// ## Why is this bad?
/// An IPv6-only task has no IPv4 address: the IPv4 default route and NAT do
/// nothing for it, and interface endpoints do not serve the dual-stack
/// `*.on.aws` names. Without these paths the task stops with
/// `ResourceInitializationError` or `CannotPullContainerError … i/o timeout`.
///
/// ## How to fix
/// Add the `ecr.api` (and, for IPv4 image names, `ecr.dkr`) interface endpoints
/// with private DNS; for dual-stack image names, a `::/0` route to an
/// egress-only internet gateway and security group egress 443 to `::/0`.
pub const IPV6_ONLY_NO_ECR_PATH: Rule = Rule {
    id: "network/ipv6-only-no-ecr-path",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A task in an IPv6-only subnet has no path to ECR's registry auth (the IPv4 `api.ecr` name: `ecr.api` endpoint or DNS64/NAT64) or to its images (dual-stack names over a `::/0` route with egress 443 to `::/0`, IPv4 names through the `ecr.dkr` endpoint or DNS64/NAT64).",
    why: "An IPv6-only task has no IPv4 address and Fargate still authenticates against the IPv4 `api.ecr` name, while interface endpoints do not serve the dual-stack `*.on.aws` names: the task cannot start.",
    fix: "Add the `ecr.api` (and for IPv4 image names `ecr.dkr`) interface endpoints with private DNS; for dual-stack image names add a `::/0` route to an egress-only internet gateway and security group egress 443 to `::/0`.",
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking-awsvpc.html",
};

/// Whether the subnet has DNS64 and a `64:ff9b::/96` route to a working NAT gateway.
fn nat64(s: &NetworkSnapshot, subnet: &Subnet) -> bool {
    subnet.enable_dns64 == Some(true)
        && s.route_table_of(&subnet.id).is_some_and(|rt| {
            rt.routes.iter().any(|r| {
                r.destination_ipv6_cidr.as_deref() == Some("64:ff9b::/96")
                    && !facts::is_blackhole(r)
                    && matches!(&r.target, RouteTarget::NatGateway(id) if matches!(nat_path(s, id), NatPath::Ready))
            })
        })
}

/// What an IPv6-only subnet lacks for `workload`'s ECR images, if anything.
fn missing(s: &NetworkSnapshot, w: &Workload, subnet: &Subnet, images: &[&str]) -> Vec<String> {
    let nat64 = nat64(s, subnet);
    let endpoint = |service| interface_in_use(s, &subnet.vpc_id, service).is_some();
    let mut out = Vec::new();
    if !nat64 && !endpoint("ecr.api") {
        out.push("no path to registry auth (`api.ecr`, IPv4 only): no `ecr.api` interface endpoint, and no DNS64 with a `64:ff9b::/96` route to a NAT gateway".to_string());
    }
    let (dual, ipv4): (Vec<&str>, Vec<&str>) = images.iter().partition(|i| is_dual_stack(i));
    if !ipv4.is_empty() && !nat64 && !endpoint("ecr.dkr") {
        out.push(format!(
            "no path for the IPv4 image name{} {}: no `ecr.dkr` interface endpoint, and no DNS64/NAT64",
            if ipv4.len() == 1 { "" } else { "s" },
            code_list(&ipv4)
        ));
    }
    if !dual.is_empty() {
        let route = s.route_table_of(&subnet.id).and_then(ipv6_default_gateway);
        let egress = w
            .security_groups
            .iter()
            .filter_map(|g| s.security_groups.get(g))
            .any(|g| g.egress.iter().any(super::dual_stack::allows_ipv6_443));
        if route.is_none() {
            out.push(format!("no `::/0` route to an egress-only or internet gateway for the dual-stack image{} {}", if dual.len() == 1 { "" } else { "s" }, code_list(&dual)));
        } else if !egress {
            out.push(format!(
                "no security group egress 443 to `::/0` for the dual-stack image{} {}",
                if dual.len() == 1 { "" } else { "s" },
                code_list(&dual)
            ));
        }
    }
    out
}

/// The findings of `network/ipv6-only-no-ecr-path`: one per workload and what
/// its IPv6-only subnets lack.
pub fn check(s: &NetworkSnapshot) -> Vec<Finding> {
    let mut findings = Vec::new();
    for w in fargate_workloads(s) {
        let Some(task) = s.task_definition_of(w) else {
            continue;
        };
        let images: Vec<&str> = task
            .containers
            .iter()
            .map(|c| c.image.as_str())
            .filter(|i| ecr_region(i).as_deref() == Some(s.region.as_str()))
            .collect();
        if images.is_empty() {
            continue;
        }
        let mut by_missing: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for subnet in w.subnets.iter().filter_map(|id| s.subnets.get(id)) {
            if !subnet.is_ipv6_only() {
                continue;
            }
            let lacks = missing(s, w, subnet, &images);
            if !lacks.is_empty() {
                by_missing.entry(lacks).or_default().push(subnet.id.clone());
            }
        }
        for (lacks, subnets) in by_missing {
            let mut resources = subnets.clone();
            resources.push(task.arn.clone());
            resources.push(facts::workload_resource(s, w));
            findings.push(
                IPV6_ONLY_NO_ECR_PATH
                    .finding(
                        format!("IPv6-only subnet without a path to ECR: {}", subnets[0]),
                        format!(
                            "{} runs in IPv6-only subnet{} {}, which {}. An IPv6-only task has no IPv4 address, Fargate still authenticates against the IPv4 `api.ecr.{}.amazonaws.com`, and interface endpoints do not serve the dual-stack `*.on.aws` names: the task cannot start.",
                            facts::workload_label(w),
                            if subnets.len() == 1 { "" } else { "s" },
                            code_list(&subnets),
                            lacks.join("; "),
                            s.region
                        ),
                    )
                    .with_resources(resources)
                    .with_fix(Fix {
                        description: "Add the `ecr.api` interface endpoint (and `ecr.dkr` for IPv4 image names) with private DNS in the task subnets; for dual-stack image names, a `::/0` route to an egress-only internet gateway and security group egress 443 to `::/0`.".into(),
                        policy_statement: None,
                        terraform: Some(format!(
                            "resource \"aws_vpc_endpoint\" \"ecr_api\" {{\n  vpc_id              = \"{vpc}\"\n  service_name        = \"com.amazonaws.{r}.ecr.api\"\n  vpc_endpoint_type   = \"Interface\"\n  ip_address_type     = \"ipv6\"\n  private_dns_enabled = true\n  subnet_ids          = [\"{subnet}\"]\n  security_group_ids  = [\"<endpoint security group>\"]\n}}\n\n# for dual-stack image names:\nresource \"aws_egress_only_internet_gateway\" \"tasks\" {{\n  vpc_id = \"{vpc}\"\n}}\nresource \"aws_route\" \"tasks_ipv6\" {{\n  route_table_id              = \"<task route table>\"\n  destination_ipv6_cidr_block = \"::/0\"\n  egress_only_gateway_id      = aws_egress_only_internet_gateway.tasks.id\n}}",
                            vpc = s.subnets[&subnets[0]].vpc_id,
                            r = s.region,
                            subnet = subnets[0],
                        )),
                        aws_cli: Some(format!(
                            "aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Interface --service-name com.amazonaws.{r}.ecr.api --ip-address-type ipv6 --private-dns-enabled --subnet-ids {subnet} --security-group-ids <endpoint security group> --region {r}\naws ec2 create-egress-only-internet-gateway --vpc-id {vpc} --region {r}\naws ec2 create-route --route-table-id <task route table> --destination-ipv6-cidr-block ::/0 --egress-only-internet-gateway-id <eigw id> --region {r}",
                            vpc = s.subnets[&subnets[0]].vpc_id,
                            r = s.region,
                            subnet = subnets[0],
                        )),
                    }),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;
    use crate::network::snapshot::{Route, SecurityGroupRule};

    fn ipv6_only(s: &mut NetworkSnapshot) {
        for id in ["subnet-a", "subnet-b"] {
            let subnet = s.subnets.get_mut(id).unwrap();
            subnet.ipv6_native = Some(true);
            subnet.cidr_block = None;
            subnet.ipv6_cidr_blocks = vec!["2600:1f18::/64".into()];
        }
    }

    #[test]
    fn ipv4_and_version_1_subnets_are_not_judged() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.clear();
        assert!(
            check(&s).is_empty(),
            "IPv4 subnets are other rules' business"
        );
    }

    #[test]
    fn endpoints_serve_an_ipv6_only_task_with_ipv4_image_names() {
        let mut s = fixture::snapshot();
        ipv6_only(&mut s);
        assert!(check(&s).is_empty(), "{:#?}", check(&s));
        // Without ecr.api: registry auth has no path.
        s.vpc_endpoints
            .retain(|_, e| !e.service_name.ends_with(".ecr.api"));
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].message.contains("registry auth"),
            "{}",
            findings[0].message
        );
        assert!(!findings[0].message.contains("IPv4 image name"));
        assert!(
            findings[0].message.contains("`subnet-a`"),
            "{}",
            findings[0].message
        );
        // DNS64 with a 64:ff9b::/96 route to the working NAT gateway is a way.
        for id in ["subnet-a", "subnet-b"] {
            s.subnets.get_mut(id).unwrap().enable_dns64 = Some(true);
        }
        let nat = s.nat_gateways.keys().next().unwrap().clone();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(Route {
                destination_cidr: None,
                destination_ipv6_cidr: Some("64:ff9b::/96".into()),
                destination_prefix_list: None,
                target: RouteTarget::NatGateway(nat),
                state: Some("active".into()),
            });
        assert!(check(&s).is_empty(), "{:#?}", check(&s));
    }

    #[test]
    fn dual_stack_names_need_a_ipv6_route_and_egress_even_with_endpoints() {
        let mut s = fixture::snapshot();
        ipv6_only(&mut s);
        fixture::task(&mut s).containers[0].image =
            "123456789012.dkr-ecr.us-east-1.on.aws/web:1".into();
        let findings = check(&s);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].message.contains("no `::/0` route"),
            "{}",
            findings[0].message
        );
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(Route {
                destination_cidr: None,
                destination_ipv6_cidr: Some("::/0".into()),
                destination_prefix_list: None,
                target: RouteTarget::EgressOnlyInternetGateway("eigw-1".into()),
                state: Some("active".into()),
            });
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("egress 443 to `::/0`"),
            "{}",
            findings[0].message
        );
        let group = s.workloads[0].security_groups[0].clone();
        fixture::group(&mut s, &group)
            .egress
            .push(SecurityGroupRule {
                protocol: "tcp".into(),
                from_port: Some(443),
                to_port: Some(443),
                cidr_ipv6: Some("::/0".into()),
                ..SecurityGroupRule::default()
            });
        assert!(check(&s).is_empty(), "{:#?}", check(&s));
    }
}
