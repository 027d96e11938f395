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
pub mod dual_stack;
pub mod egress;
pub mod endpoint_ingress;
pub mod endpoint_policies;
pub mod endpoint_zones;
pub mod execution_role;
pub mod gaps;
pub mod images;
pub mod log_destinations;
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
    dual_stack::DUAL_STACK_IMAGE_NO_IPV6_PATH,
    log_destinations::LOG_DESTINATION_OTHER_REGION,
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
        dual_stack::check,
        log_destinations::check,
        pull_through_cache::check,
        execution_role::check,
        gaps::check,
        not_fargate::check,
    ];
    // Each rule's findings are folded as they come, so only one rule's are
    // ever held in full.
    aggregate(checks.iter().flat_map(|check| check(snapshot)))
}

/// The most findings one rule keeps as they are; the rest are folded into
/// one more finding of that rule (see [`aggregate`]).
pub const MAX_FINDINGS_PER_RULE: usize = 20;

/// Keeps the report's size proportional to the problems, not the inventory:
/// each finding lists at most [`crate::report::MAX_RESOURCES`] resources
/// (the rest counted in `omitted_resources`), and past
/// [`MAX_FINDINGS_PER_RULE`] findings of one rule (the same problem on many
/// services, subnets or groups), the rest become one finding of that rule
/// that says how many there were and names their resources the same way.
/// Findings of a rule not in [`RULES`] are kept as they are.
pub fn aggregate(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut kept: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut folds: Vec<Fold> = Vec::new();
    for mut f in findings {
        let n = kept.entry(f.rule.clone()).or_default();
        let rule = RULES.iter().find(|r| r.id == f.rule);
        match rule {
            Some(rule) if *n >= MAX_FINDINGS_PER_RULE => {
                match folds.iter_mut().find(|x| x.rule.id == rule.id) {
                    Some(fold) => fold.add(f),
                    None => {
                        let mut fold = Fold::new(rule, &f);
                        fold.add(f);
                        folds.push(fold);
                    }
                }
            }
            _ => {
                *n += 1;
                f.cap_resources();
                out.push(f);
            }
        }
    }
    out.extend(folds.into_iter().map(Fold::finish));
    out
}

/// The findings of one rule past [`MAX_FINDINGS_PER_RULE`], reduced as they
/// come to what the folded finding shows.
struct Fold {
    rule: &'static Rule,
    count: usize,
    severity: crate::report::Severity,
    titles: Vec<String>,
    resources: Vec<String>,
    seen: std::collections::HashSet<String>,
    omitted: usize,
    iam_action: Option<String>,
    endpoint_service: Option<String>,
}

impl Fold {
    fn new(rule: &'static Rule, first: &Finding) -> Fold {
        Fold {
            rule,
            count: 0,
            severity: first.severity,
            titles: Vec::new(),
            resources: Vec::new(),
            seen: std::collections::HashSet::new(),
            omitted: 0,
            iam_action: first.iam_action.clone(),
            endpoint_service: first.endpoint_service.clone(),
        }
    }

    fn add(&mut self, f: Finding) {
        self.count += 1;
        self.severity = self.severity.max(f.severity);
        if self.titles.len() <= util::MAX_LISTED {
            self.titles.push(format!("`{}`", f.title));
        }
        if self.iam_action != f.iam_action {
            self.iam_action = None;
        }
        if self.endpoint_service != f.endpoint_service {
            self.endpoint_service = None;
        }
        self.omitted += f.omitted_resources;
        for r in f.resources {
            if self.seen.contains(&r) {
                continue;
            }
            if self.resources.len() < crate::report::MAX_RESOURCES {
                self.resources.push(r.clone());
            } else {
                self.omitted += 1;
            }
            self.seen.insert(r);
        }
    }

    fn finish(self) -> Finding {
        let count = self.count;
        let rule = self.rule.id;
        let mut titles = self.titles;
        if count > titles.len() {
            // and_list counts the rest: say how many there are in all.
            titles.truncate(util::MAX_LISTED);
            titles.push(format!("{} more", count - util::MAX_LISTED));
        }
        let listed = match titles.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => titles.concat(),
        };
        let mut f = self
            .rule
            .finding(
                format!("{count} more like the `{rule}` findings above"),
                format!(
                    "{count} more findings of `{rule}`, each the same problem as above on other resources, folded into this one so the report stays readable: {listed}."
                ),
            )
            .with_resources(self.resources)
            .with_fix(crate::report::Fix {
                description: format!(
                    "{} Each resource's own fix is in the finding `check` gives for it alone (for example with `--service`).",
                    self.rule.fix
                ),
                ..crate::report::Fix::default()
            });
        f.severity = self.severity;
        f.iam_action = self.iam_action;
        f.endpoint_service = self.endpoint_service;
        f.omitted_resources = self.omitted;
        f
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::network::snapshot::RouteTarget;

    #[test]
    fn past_the_limit_findings_of_one_rule_fold_into_one_that_counts_them() {
        let rule = egress::PUBLIC_IP_WITHOUT_INTERNET_GATEWAY;
        let many: Vec<Finding> = (0..1000)
            .map(|i| {
                rule.finding(format!("svc-{i}: public IP"), "m")
                    .with_resources([
                        format!("svc-{i}"),
                        format!("subnet-{i}"),
                        "rtb-shared".to_string(),
                    ])
            })
            .collect();
        let mut all = vec![gaps::RULE.finding("gap", "m").with_resources(["x"])];
        all.extend(many);
        let out = aggregate(all);
        assert_eq!(out.len(), 1 + MAX_FINDINGS_PER_RULE + 1, "{out:#?}");
        assert_eq!(out[0].rule, "network/not-checked");
        let folded = out.last().unwrap();
        assert_eq!(folded.rule, rule.id);
        assert_eq!(folded.severity, rule.severity);
        assert!(folded.title.starts_with("980 more"), "{}", folded.title);
        assert!(
            folded.message.contains("and 970 more"),
            "{}",
            folded.message
        );
        assert_eq!(folded.resources.len(), crate::report::MAX_RESOURCES);
        // 980 services and 980 subnets, and the shared route table once.
        assert_eq!(
            folded.resources.len() + folded.omitted_resources,
            980 * 2 + 1
        );
        assert!(folded.fix.is_some());
    }

    #[test]
    fn few_findings_are_kept_as_they_are() {
        let f = egress::EGRESS_UNKNOWN
            .finding("t", "m")
            .with_resources(["a", "b", "a"]);
        let out = aggregate(vec![f.clone(), f]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].resources, ["a", "b"]);
        assert_eq!(out[0].omitted_resources, 0);
    }

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
                "network/dual-stack-image-no-ipv6-path",
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
                "network/log-destination-other-region",
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
