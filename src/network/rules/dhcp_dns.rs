//! Custom DNS servers and Interface endpoints' private DNS (reference rule R6).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels};
use crate::network::endpoints::EndpointType;
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::NetworkSnapshot;
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// The VPC's DHCP options send DNS to servers other than the Amazon-provided resolver.
///
/// ## What it does
/// Flags VPCs with isolated Fargate tasks that need Interface endpoints when the
/// DHCP options' `domain-name-servers` are set and are not only `AmazonProvidedDNS`.
///
/// ## Why is this bad?
/// Interface endpoints' private DNS names exist only in the Amazon-provided
/// resolver (Route 53 Resolver at the VPC base address + 2). Custom servers
/// resolve `api.ecr.<region>.amazonaws.com` to public addresses unless they
/// forward the zone to the VPC resolver, and the tasks time out. The task
/// security groups also need outbound TCP and UDP 53 to those servers.
///
/// ## How to fix
/// Forward `<region>.amazonaws.com` from your DNS servers to the VPC resolver
/// (conditional forwarding), or use `AmazonProvidedDNS` in the VPC's DHCP options.
pub const RULE: Rule = Rule {
    id: "network/custom-dns",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "The task VPC's DHCP options use DNS servers other than the Amazon-provided resolver while isolated tasks depend on Interface endpoints.",
    why: "Endpoint private DNS names exist only in the Amazon-provided resolver; custom servers resolve ECR to public addresses unless they forward to it.",
    fix: "Forward `<region>.amazonaws.com` to the VPC resolver (base + 2) from your DNS servers, or use `AmazonProvidedDNS`.",
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/VPC_DHCP_Options.html",
};

/// The findings of `network/custom-dns`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        if !iw
            .requirements
            .iter()
            .any(|r| r.endpoint_type == EndpointType::Interface)
        {
            continue;
        }
        let g = groups.entry(iw.vpc_id.to_string()).or_default();
        g.0.insert(iw.label());
        g.1.insert(facts::workload_resource(s, iw.workload));
    }
    let mut findings = Vec::new();
    for (vpc_id, (workloads, workload_resources)) in groups {
        let Some(vpc) = s.vpcs.get(&vpc_id) else {
            continue;
        };
        let servers = &vpc.domain_name_servers;
        if servers.is_empty()
            || servers
                .iter()
                .all(|d| d.eq_ignore_ascii_case("AmazonProvidedDNS"))
        {
            continue;
        }
        let resolver = vpc
            .cidr_blocks
            .first()
            .and_then(|c| facts::vpc_resolver(c))
            .map_or_else(
                || "the VPC base address + 2".to_string(),
                |ip| format!("`{ip}`"),
            );
        let zone = format!("{}.amazonaws.com", s.region);
        let options = vpc
            .dhcp_options_id
            .as_deref()
            .map(|d| format!("DHCP options `{d}` of "))
            .unwrap_or_default();
        let message = format!(
            "{options}VPC `{vpc_id}` send DNS queries to {}, not only to the Amazon-provided resolver. The private DNS names of the Interface endpoints (`api.ecr.{r}.amazonaws.com`, `logs.{r}.amazonaws.com`, …) exist only there: unless these servers forward `{zone}` to the VPC resolver {resolver}, the isolated tasks of {} resolve ECR to public addresses and time out. The task security groups also need outbound TCP and UDP 53 to these servers.",
            code_list(servers),
            labels(&workloads),
            r = s.region
        );
        let mut resources = vec![vpc_id.clone()];
        resources.extend(vpc.dhcp_options_id.clone());
        resources.extend(workload_resources);
        findings.push(
            RULE.finding(format!("{vpc_id} uses custom DNS servers"), message)
                .with_resources(resources)
                .with_fix(Fix {
                    description: format!(
                        "On your DNS servers, forward `{zone}` to the VPC resolver {resolver} (conditional forwarding). Or switch VPC `{vpc_id}` to the Amazon-provided DNS, as below."
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_vpc_dhcp_options\" \"amazon_dns\" {{\n  domain_name_servers = [\"AmazonProvidedDNS\"]\n}}\n\nresource \"aws_vpc_dhcp_options_association\" \"{}\" {{\n  vpc_id          = \"{vpc_id}\"\n  dhcp_options_id = aws_vpc_dhcp_options.amazon_dns.id\n}}",
                        util::tf_name(&vpc_id)
                    )),
                    aws_cli: Some(format!(
                        "OPTIONS=$(aws ec2 create-dhcp-options --dhcp-configurations 'Key=domain-name-servers,Values=AmazonProvidedDNS' --query DhcpOptions.DhcpOptionsId --output text --region {r})\naws ec2 associate-dhcp-options --dhcp-options-id $OPTIONS --vpc-id {vpc_id} --region {r}",
                        r = s.region
                    )),
                }),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn amazon_dns_passes() {
        let mut s = fixture::snapshot();
        assert!(check(&s).is_empty());
        s.vpcs.get_mut("vpc-1").unwrap().domain_name_servers.clear();
        assert!(check(&s).is_empty());
    }

    #[test]
    fn custom_servers_warn_with_the_resolver_to_forward_to() {
        let mut s = fixture::snapshot();
        s.vpcs.get_mut("vpc-1").unwrap().domain_name_servers =
            vec!["10.10.0.5".into(), "10.10.0.6".into()];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.message.contains(
            "DHCP options `dopt-1` of VPC `vpc-1` send DNS queries to `10.10.0.5` and `10.10.0.6`"
        ));
        assert!(
            f.message
                .contains("forward `us-east-1.amazonaws.com` to the VPC resolver `10.0.0.2`")
        );
        assert!(f.resources.contains(&"dopt-1".to_string()));
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .aws_cli
                .as_ref()
                .unwrap()
                .contains("--vpc-id vpc-1")
        );
    }
}
