//! ECR's dual-stack names (`<account>.dkr-ecr.<region>.on.aws`) from
//! isolated subnets (reference rule R18; field research §1.14, §9).

use std::collections::BTreeMap;

use super::util::{Names, code_list};
use crate::network::endpoints::ecr_region;
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, RouteTable, RouteTarget, SecurityGroupRule};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An isolated task pulls through ECR's dual-stack name without an IPv6 way out.
///
/// ## What it does
/// Flags containers of Fargate tasks in isolated subnets whose image uses
/// ECR's dual-stack registry name (`<account>.dkr-ecr.<region>.on.aws`, or
/// `dkr-ecr-fips`) when a task subnet's route table has no `::/0` route to an
/// egress-only or internet gateway, or none of the task's security groups
/// allows outbound TCP 443 to `::/0`.
///
/// ## Why is this bad?
/// Interface VPC endpoints do not serve the dual-stack names ("use the IPv4
/// names with PrivateLink"), so the `ecr.dkr` endpoint does not help: the pull
/// leaves over IPv6 or not at all, and times out with
/// `CannotPullContainerError … i/o timeout`. Registry auth still goes to the
/// IPv4 `api.ecr` name, which the `ecr.api` endpoint serves.
///
/// ## How to fix
/// Use the IPv4 name (`<account>.dkr.ecr.<region>.amazonaws.com`), which the
/// `ecr.dkr` endpoint serves; or give the subnets an IPv6 CIDR, a `::/0` route to
/// an egress-only internet gateway, and security group egress 443 to `::/0`.
pub const DUAL_STACK_IMAGE_NO_IPV6_PATH: Rule = Rule {
    id: "network/dual-stack-image-no-ipv6-path",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A task in an isolated subnet pulls through ECR's dual-stack name (`*.dkr-ecr.<region>.on.aws`), but has no IPv6 way out (`::/0` route to an egress-only or internet gateway, and security group egress 443 to `::/0`).",
    why: "Interface VPC endpoints do not serve the dual-stack names; without an IPv6 path the pull times out (`CannotPullContainerError … i/o timeout`).",
    fix: "Use the IPv4 name `<account>.dkr.ecr.<region>.amazonaws.com`, which the `ecr.dkr` endpoint serves, or add a `::/0` route to an egress-only internet gateway and security group egress 443 to `::/0`.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-requests.html",
};

/// Whether an image uses ECR's dual-stack registry name.
pub(crate) fn is_dual_stack(image: &str) -> bool {
    image
        .split('/')
        .next()
        .is_some_and(|host| host.ends_with(".on.aws"))
        && ecr_region(image).is_some()
}

/// The gateway of a route table's working `::/0` route, when it has one.
pub(crate) fn ipv6_default_gateway(rt: &RouteTable) -> Option<&str> {
    rt.routes.iter().find_map(|r| match &r.target {
        RouteTarget::EgressOnlyInternetGateway(id) | RouteTarget::InternetGateway(id)
            if r.destination_ipv6_cidr.as_deref() == Some("::/0") && !facts::is_blackhole(r) =>
        {
            Some(id.as_str())
        }
        _ => None,
    })
}

fn allows_ipv6_443(rule: &SecurityGroupRule) -> bool {
    rule.covers_tcp(443) && rule.cidr_ipv6.as_deref() == Some("::/0")
}

/// The findings of `network/dual-stack-image-no-ipv6-path`: one per task
/// definition and what is missing, naming the workloads and subnets.
pub fn check(s: &NetworkSnapshot) -> Vec<Finding> {
    // (task definition, images, missing) → (workload labels, resources, subnets).
    type Key = (String, Vec<String>, String);
    let mut groups: BTreeMap<Key, (Names, Names, Names)> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        let images: Vec<String> = iw
            .task
            .containers
            .iter()
            .filter(|c| {
                is_dual_stack(&c.image) && ecr_region(&c.image).as_deref() == Some(&s.region)
            })
            .map(|c| c.image.clone())
            .collect();
        if images.is_empty() {
            continue;
        }
        let egress = iw
            .workload
            .security_groups
            .iter()
            .filter_map(|g| s.security_groups.get(g))
            .any(|g| g.egress.iter().any(allows_ipv6_443));
        for subnet in &iw.subnets {
            let route = s.route_table_of(&subnet.id).and_then(ipv6_default_gateway);
            let missing = match (route, egress) {
                (None, _) => "no `::/0` route to an egress-only or internet gateway".to_string(),
                (Some(_), false) => format!(
                    "a `::/0` route, but no security group of the task ({}) allows outbound TCP 443 to `::/0`",
                    code_list(&iw.workload.security_groups)
                ),
                (Some(_), true) => continue,
            };
            let (labels, resources, subnets) = groups
                .entry((iw.task.arn.clone(), images.clone(), missing))
                .or_default();
            labels.insert(iw.label());
            resources.insert(facts::workload_resource(s, iw.workload));
            subnets.insert(subnet.id.clone());
        }
    }
    groups
        .into_iter()
        .map(|((task, images, missing), (labels, resources, subnets))| {
            let mut all: Vec<String> = subnets.listed().cloned().collect();
            all.push(task.clone());
            all.extend(resources.listed().cloned());
            let ipv4: Vec<String> = images.iter().map(|i| ipv4_name(i)).collect();
            let mut f = DUAL_STACK_IMAGE_NO_IPV6_PATH
                .finding(
                    format!("Dual-stack image name without an IPv6 path in {}", subnets.listed().next().cloned().unwrap_or_default()),
                    format!(
                        "{} pull{} {} through ECR's dual-stack name from isolated subnets {}, which have {missing}. Interface VPC endpoints do not serve the dual-stack names, so the `ecr.dkr` endpoint does not help: the pull times out with `CannotPullContainerError … i/o timeout`.",
                        labels.sentence_list(),
                        if labels.len() == 1 { "s" } else { "" },
                        code_list(&images),
                        subnets.sentence_list()
                    ),
                )
                .with_resources(all)
                .with_fix(Fix {
                    description: format!(
                        "Use the IPv4 registry name, which the `ecr.dkr` endpoint serves: {}. Or give the subnets an IPv6 CIDR and a `::/0` route to an egress-only internet gateway, and the task's security group egress 443 to `::/0`.",
                        code_list(&ipv4)
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "# in the aws_ecs_task_definition's container_definitions:\nimage = \"{}\"\n\n# or, for an IPv6 path:\nresource \"aws_egress_only_internet_gateway\" \"tasks\" {{\n  vpc_id = \"<vpc id>\"\n}}\nresource \"aws_route\" \"tasks_ipv6\" {{\n  route_table_id              = \"<task route table>\"\n  destination_ipv6_cidr_block = \"::/0\"\n  egress_only_gateway_id      = aws_egress_only_internet_gateway.tasks.id\n}}",
                        ipv4[0]
                    )),
                    aws_cli: Some(format!(
                        "aws ec2 create-egress-only-internet-gateway --vpc-id <vpc id> --region {r}\naws ec2 create-route --route-table-id <task route table> --destination-ipv6-cidr-block ::/0 --egress-only-internet-gateway-id <eigw id> --region {r}",
                        r = s.region
                    )),
                });
            f.omitted_resources += resources.len() - resources.listed().count();
            f
        })
        .collect()
}

/// The IPv4 name of a dual-stack image reference.
fn ipv4_name(image: &str) -> String {
    let Some((host, rest)) = image.split_once('/') else {
        return image.to_string();
    };
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [account, "dkr-ecr", region, "on", "aws"] => {
            format!("{account}.dkr.ecr.{region}.amazonaws.com/{rest}")
        }
        [account, "dkr-ecr-fips", region, "on", "aws"] => {
            format!("{account}.dkr.ecr-fips.{region}.amazonaws.com/{rest}")
        }
        _ => image.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;
    use crate::network::snapshot::Route;

    const DUAL: &str = "123456789012.dkr-ecr.us-east-1.on.aws/app:1";

    #[test]
    fn dual_stack_names_need_an_ipv6_route_and_egress() {
        let mut s = fixture::snapshot();
        assert!(check(&s).is_empty());
        fixture::task(&mut s).containers[0].image = DUAL.into();
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].message.contains("no `::/0` route"),
            "{}",
            findings[0].message
        );
        let fix = findings[0].fix.as_ref().unwrap();
        assert!(
            fix.description
                .contains("`123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1`"),
            "{}",
            fix.description
        );
        // The route, but no egress to ::/0.
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
            findings[0]
                .message
                .contains("allows outbound TCP 443 to `::/0`")
        );
        // And the egress: a way out.
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
        assert!(check(&s).is_empty());
    }

    #[test]
    fn ipv4_names_and_other_registries_are_not_dual_stack() {
        assert!(is_dual_stack(DUAL));
        assert!(is_dual_stack("1.dkr-ecr-fips.us-east-1.on.aws/a"));
        assert!(!is_dual_stack("1.dkr.ecr.us-east-1.amazonaws.com/a"));
        assert!(!is_dual_stack("example.on.aws/a"));
        assert_eq!(
            ipv4_name("1.dkr-ecr-fips.us-east-1.on.aws/a:b"),
            "1.dkr.ecr-fips.us-east-1.amazonaws.com/a:b"
        );
    }
}
