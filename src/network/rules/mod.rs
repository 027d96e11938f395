//! The Fargate network rules: pure functions from a [`NetworkSnapshot`] to findings.
//!
//! One module per area, each with its rules (`pub const … : Rule`, whose doc
//! comment is the user documentation), a `check` function and its tests on
//! small hand-built snapshots (`fixture.rs`). Only Fargate workloads are
//! checked; the endpoint rules apply only to isolated subnets (no internet
//! gateway with a public IP, no working NAT gateway), as
//! [`crate::network::facts::classify`] decides. A rule that cannot see something skips it; discovery records what
//! it could not read, and `network/not-checked` reports it.

pub mod dhcp_dns;
pub mod egress;
pub mod endpoint_ingress;
pub mod endpoint_policies;
pub mod endpoint_zones;
pub mod execution_role;
pub mod gaps;
pub mod images;
pub mod network_acls;
pub mod not_fargate;
pub mod private_dns;
pub mod pull_through_cache;
pub mod required_endpoints;
pub mod s3_gateway_routes;
pub mod task_egress;
pub mod vpc_dns;

pub(crate) mod util;

#[cfg(test)]
pub(crate) mod fixture;

use crate::network::snapshot::NetworkSnapshot;
use crate::report::Finding;
use crate::rules::Rule;

/// Every network rule, in the order the README lists them.
pub const RULES: &[Rule] = &[
    egress::NAT_GATEWAY_UNAVAILABLE,
    required_endpoints::ENDPOINT_MISSING,
    required_endpoints::ENDPOINT_NOT_AVAILABLE,
    required_endpoints::ENDPOINT_WRONG_TYPE,
    s3_gateway_routes::RULE,
    private_dns::RULE,
    vpc_dns::RULE,
    endpoint_ingress::RULE,
    task_egress::TASK_EGRESS_443,
    task_egress::TASK_EGRESS_S3_PREFIX_LIST,
    network_acls::RULE,
    endpoint_policies::S3_ENDPOINT_POLICY_BLOCKS_LAYERS,
    endpoint_policies::ENDPOINT_POLICY_BLOCKS,
    images::IMAGE_UNREACHABLE,
    pull_through_cache::RULE,
    execution_role::EXECUTION_ROLE_MISSING,
    execution_role::EXECUTION_ROLE_DENIED,
    egress::PUBLIC_IP_WITHOUT_INTERNET_GATEWAY,
    egress::EGRESS_UNKNOWN,
    dhcp_dns::RULE,
    endpoint_zones::RULE,
    gaps::RULE,
    images::PLATFORM_VERSION_LEGACY,
    images::WINDOWS_FOREIGN_LAYERS,
    execution_role::EXECUTION_ROLE_NOT_SIMULATED,
    not_fargate::RULE,
];

/// Every finding the snapshot supports, rule area by rule area.
pub fn check_all(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let checks: &[fn(&NetworkSnapshot) -> Vec<Finding>] = &[
        egress::check,
        required_endpoints::check,
        s3_gateway_routes::check,
        private_dns::check,
        vpc_dns::check,
        dhcp_dns::check,
        endpoint_zones::check,
        endpoint_ingress::check,
        task_egress::check,
        network_acls::check,
        endpoint_policies::check,
        images::check,
        pull_through_cache::check,
        execution_role::check,
        gaps::check,
        not_fargate::check,
    ];
    checks
        .iter()
        .flat_map(|check| check(snapshot))
        .map(|mut f| {
            f.resources = util::unique(std::mem::take(&mut f.resources));
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::network::snapshot::RouteTarget;

    #[test]
    fn healthy_isolated_setup_has_no_findings() {
        let findings = check_all(&fixture::snapshot());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn every_rule_is_registered_once() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(r.id.starts_with("network/"), "{}", r.id);
            assert!(seen.insert(r.id), "{} listed twice", r.id);
            assert_eq!(
                crate::catalog::by_id(r.id),
                Some(r),
                "{} is not in catalog::all()",
                r.id
            );
        }
        let in_all = crate::catalog::all()
            .filter(|r| r.id.starts_with("network/"))
            .count();
        assert_eq!(in_all, RULES.len());
    }

    /// The rule ids are public API: changing this list is a breaking change.
    #[test]
    fn rule_ids_are_stable() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "network/custom-dns",
                "network/egress-unknown",
                "network/endpoint-ingress-443",
                "network/endpoint-missing",
                "network/endpoint-not-available",
                "network/endpoint-policy-blocks",
                "network/endpoint-private-dns-disabled",
                "network/endpoint-wrong-type",
                "network/endpoint-zone-missing",
                "network/execution-role-denied",
                "network/execution-role-missing",
                "network/execution-role-not-simulated",
                "network/image-unreachable",
                "network/nacl-blocks-443",
                "network/nat-gateway-unavailable",
                "network/not-checked",
                "network/not-fargate",
                "network/platform-version-legacy",
                "network/public-ip-without-internet-gateway",
                "network/pull-through-cache",
                "network/s3-endpoint-policy-blocks-layers",
                "network/s3-gateway-route-missing",
                "network/task-egress-443",
                "network/task-egress-s3-prefix-list",
                "network/vpc-dns-disabled",
                "network/windows-foreign-layers",
            ]
        );
    }

    #[test]
    fn no_endpoints_at_all_names_each_missing_one() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.clear();
        let findings = check_all(&s);
        fixture::assert_well_formed(&findings);
        let missing: Vec<&str> = findings
            .iter()
            .filter(|f| f.rule == "network/endpoint-missing")
            .filter_map(|f| f.endpoint_service.as_deref())
            .collect();
        assert_eq!(
            missing,
            [
                "com.amazonaws.us-east-1.ecr.api",
                "com.amazonaws.us-east-1.ecr.dkr",
                "com.amazonaws.us-east-1.logs",
                "com.amazonaws.us-east-1.s3"
            ]
        );
        // Nothing else is reported about endpoints that do not exist.
        assert_eq!(findings.len(), 4, "{findings:#?}");
    }

    #[test]
    fn nat_gateway_makes_the_endpoint_rules_moot() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.clear();
        s.security_groups.clear();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        let findings = check_all(&s);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn every_finding_of_a_broken_setup_is_well_formed() {
        let mut s = fixture::snapshot();
        s.workloads.push(fixture::workload("api"));
        s.workloads[1].launch_type = Some("EC2".into());
        s.workloads[0].platform_version = Some("1.3.0".into());
        s.workloads[0].assign_public_ip = true;
        fixture::endpoint(&mut s, "vpce-ecr-dkr").private_dns_enabled = false;
        fixture::endpoint(&mut s, "vpce-logs").subnet_ids = vec!["subnet-a".into()];
        fixture::group(&mut s, "sg-task").egress.remove(1);
        s.gaps.push(fixture::gap(
            "NAT gateways",
            "ec2:DescribeNatGateways",
            "ec2:DescribeNatGateways",
        ));
        let findings = check_all(&s);
        fixture::assert_well_formed(&findings);
        let rules: HashSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        for id in [
            "network/not-fargate",
            "network/platform-version-legacy",
            "network/public-ip-without-internet-gateway",
            "network/endpoint-private-dns-disabled",
            "network/endpoint-zone-missing",
            "network/task-egress-s3-prefix-list",
            "network/not-checked",
        ] {
            assert!(rules.contains(id), "{id} missing from {rules:?}");
        }
        for f in &findings {
            assert!(!f.resources.is_empty(), "{f:#?}");
        }
    }
}
