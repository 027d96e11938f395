//! The VPC's DNS attributes (reference rule R5).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, labels};
use crate::network::endpoints::EndpointType;
use crate::network::facts::{self, fargate_workloads, isolated_workloads, workload_label};
use crate::network::snapshot::{NetworkSnapshot, Vpc};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// The VPC's `enableDnsSupport` or `enableDnsHostnames` is off.
///
/// ## What it does
/// Flags the VPCs of Fargate workloads where `enableDnsSupport` is off (while
/// the VPC uses the Amazon-provided DNS, or has isolated task subnets), or
/// where `enableDnsHostnames` is off while isolated tasks depend on Interface
/// endpoints. An attribute that could not be read is not reported.
///
/// ## Why is this bad?
/// Without `enableDnsSupport` the Amazon-provided resolver does not answer, so
/// tasks cannot resolve ECR at all. Interface endpoints' private DNS needs both
/// attributes: with either off, `api.ecr.<region>.amazonaws.com` resolves to
/// public addresses and isolated tasks time out.
///
/// ## How to fix
/// Turn both attributes on (`aws ec2 modify-vpc-attribute`).
pub const RULE: Rule = Rule {
    id: "network/vpc-dns-disabled",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The task VPC has `enableDnsSupport` or `enableDnsHostnames` turned off.",
    why: "Without DNS support tasks cannot resolve ECR; without both attributes Interface endpoints' private DNS does not work and isolated tasks time out.",
    fix: "Enable both attributes on the VPC (`modify-vpc-attribute --enable-dns-support` / `--enable-dns-hostnames`).",
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html#vpc-dns-support",
};

/// Whether the VPC's DHCP options send DNS to the Amazon-provided resolver
/// (or are unknown, which is the default).
fn uses_amazon_dns(vpc: &Vpc) -> bool {
    vpc.domain_name_servers.is_empty()
        || vpc
            .domain_name_servers
            .iter()
            .any(|d| d.eq_ignore_ascii_case("AmazonProvidedDNS"))
}

#[derive(Default)]
struct Needs {
    support: BTreeSet<String>,
    hostnames: BTreeSet<String>,
    resources: BTreeSet<String>,
}

/// The findings of `network/vpc-dns-disabled`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut needs: BTreeMap<String, Needs> = BTreeMap::new();
    for w in fargate_workloads(s) {
        let Some(vpc) = s.vpc_of(w) else { continue };
        if uses_amazon_dns(vpc) {
            let n = needs.entry(vpc.id.clone()).or_default();
            n.support.insert(workload_label(w));
            n.resources.insert(facts::workload_resource(s, w));
        }
    }
    for iw in isolated_workloads(s) {
        let n = needs.entry(iw.vpc_id.to_string()).or_default();
        n.support.insert(iw.label());
        if iw
            .requirements
            .iter()
            .any(|r| r.endpoint_type == EndpointType::Interface)
        {
            n.hostnames.insert(iw.label());
        }
        n.resources.insert(facts::workload_resource(s, iw.workload));
    }
    let mut findings = Vec::new();
    for (vpc_id, n) in needs {
        let Some(vpc) = s.vpcs.get(&vpc_id) else {
            continue;
        };
        let mut off: Vec<(&str, &str, String)> = Vec::new();
        if vpc.enable_dns_support == Some(false) && !n.support.is_empty() {
            off.push((
                "enableDnsSupport",
                "enable_dns_support",
                format!(
                    "the Amazon-provided resolver does not answer, so {} cannot resolve ECR's names",
                    labels(&n.support)
                ),
            ));
        }
        if vpc.enable_dns_hostnames == Some(false) && !n.hostnames.is_empty() {
            off.push((
                "enableDnsHostnames",
                "enable_dns_hostnames",
                format!(
                    "the private DNS names of the Interface endpoints do not resolve, so the isolated tasks of {} call public addresses they cannot reach",
                    labels(&n.hostnames)
                ),
            ));
        }
        if off.is_empty() {
            continue;
        }
        let what: Vec<String> = off
            .iter()
            .map(|(attr, _, why)| format!("`{attr}` is off: {why}"))
            .collect();
        let message = format!(
            "VPC `{vpc_id}`: {}. The tasks stop with `ResourceInitializationError: unable to pull secrets or registry auth: … i/o timeout` or `CannotPullContainerError`.",
            what.join("; ")
        );
        let terraform_attrs: Vec<String> = off
            .iter()
            .map(|(_, tf, _)| format!("  {tf:<20} = true"))
            .collect();
        let cli: Vec<String> = off
            .iter()
            .map(|(attr, _, _)| {
                let flag = if *attr == "enableDnsSupport" {
                    "--enable-dns-support"
                } else {
                    "--enable-dns-hostnames"
                };
                format!(
                    "aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {flag} '{{\"Value\":true}}' --region {}",
                    s.region
                )
            })
            .collect();
        let attributes: Vec<&str> = off.iter().map(|(a, _, _)| *a).collect();
        let mut resources = vec![vpc_id.clone()];
        resources.extend(n.resources.iter().cloned());
        findings.push(
            RULE.finding(
                format!("DNS is off in {vpc_id}: {}", attributes.join(", ")),
                message,
            )
            .with_resources(resources)
            .with_fix(Fix {
                description: format!(
                    "Turn {} on for VPC `{vpc_id}` (one attribute per call).",
                    util::code_list(&attributes)
                ),
                policy_statement: None,
                terraform: Some(format!(
                    "resource \"aws_vpc\" \"{}\" {{\n  # ...\n{}\n}}",
                    util::tf_name(&vpc_id),
                    terraform_attrs.join("\n")
                )),
                aws_cli: Some(cli.join("\n")),
            }),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;
    use crate::network::snapshot::RouteTarget;

    #[test]
    fn fixture_has_dns() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn unknown_attributes_are_not_reported() {
        let mut s = fixture::snapshot();
        let vpc = s.vpcs.get_mut("vpc-1").unwrap();
        vpc.enable_dns_support = None;
        vpc.enable_dns_hostnames = None;
        assert!(check(&s).is_empty());
    }

    #[test]
    fn hostnames_off_in_an_isolated_vpc() {
        let mut s = fixture::snapshot();
        s.vpcs.get_mut("vpc-1").unwrap().enable_dns_hostnames = Some(false);
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.message
                .contains("VPC `vpc-1`: `enableDnsHostnames` is off")
        );
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 modify-vpc-attribute --vpc-id vpc-1 --enable-dns-hostnames '{\"Value\":true}' --region us-east-1"
            )
        );
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("enable_dns_hostnames = true")
        );
    }

    #[test]
    fn hostnames_do_not_matter_behind_nat_but_support_does() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        s.vpcs.get_mut("vpc-1").unwrap().enable_dns_hostnames = Some(false);
        assert!(check(&s).is_empty());
        s.vpcs.get_mut("vpc-1").unwrap().enable_dns_support = Some(false);
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("`enableDnsSupport` is off"));
        assert!(!findings[0].message.contains("enableDnsHostnames"));
    }
}
