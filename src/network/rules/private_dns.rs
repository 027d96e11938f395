//! Interface endpoints must answer the service's own name (reference rule R5).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels};
use crate::network::endpoints::EndpointType;
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An Interface endpoint that isolated tasks need has private DNS turned off.
///
/// ## What it does
/// Flags the Interface endpoints (`ecr.api`, `ecr.dkr`, `logs`, `secretsmanager`,
/// `ssm`, `ssmmessages`) that isolated Fargate tasks need when none of the
/// available ones for that service has `PrivateDnsEnabled`.
///
/// ## Why is this bad?
/// Fargate calls the services by their public names (`api.ecr.<region>.amazonaws.com`,
/// `<account>.dkr.ecr.<region>.amazonaws.com`, …). Only private DNS makes those
/// names resolve to the endpoint's private addresses; without it they resolve
/// to public addresses that an isolated subnet cannot reach, and the task times
/// out. ECR's documentation requires private DNS for `ecr.dkr`.
///
/// ## How to fix
/// Turn private DNS on (`aws ec2 modify-vpc-endpoint --private-dns-enabled`);
/// the VPC's `enableDnsSupport` and `enableDnsHostnames` must be on too.
pub const RULE: Rule = Rule {
    id: "network/endpoint-private-dns-disabled",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "An Interface endpoint that isolated tasks need has private DNS turned off.",
    why: "Fargate calls services by their public names; without private DNS they resolve to public addresses the isolated task cannot reach, and it times out.",
    fix: "Enable private DNS on the endpoint (`modify-vpc-endpoint --private-dns-enabled`).",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
};

/// The findings of `network/endpoint-private-dns-disabled`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    // endpoint id → (endpoint, service, blocks start, workloads, workload resources)
    type Group<'a> = (
        &'a VpcEndpoint,
        &'static str,
        bool,
        BTreeSet<String>,
        BTreeSet<String>,
    );
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for req in iw
            .requirements
            .iter()
            .filter(|r| r.endpoint_type == EndpointType::Interface)
        {
            let usable =
                facts::usable_endpoints(s, iw.vpc_id, req.service, EndpointType::Interface);
            // The first one has private DNS if any does.
            let Some(e) = usable.first().copied() else {
                continue;
            };
            if e.private_dns_enabled {
                continue;
            }
            let g = groups
                .entry(e.id.clone())
                .or_insert_with(|| (e, req.service, false, BTreeSet::new(), BTreeSet::new()));
            g.2 |= req.blocks_start;
            g.3.insert(iw.label());
            g.4.insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups
        .into_iter()
        .map(|(id, (e, service, blocks_start, workloads, resources))| {
            let host = util::service_host(service, &s.region);
            let must = if service == "ecr.dkr" {
                " ECR requires private DNS on the `ecr.dkr` endpoint."
            } else {
                ""
            };
            let message = format!(
                "Interface endpoint `{id}` (`{}`) has private DNS turned off, so `{host}` still resolves to public addresses that the isolated tasks of {} cannot reach; the endpoint is never used.{must} {}",
                e.service_name,
                labels(&workloads),
                match util::symptom(service) {
                    Some(symptom) if blocks_start => format!("The task stops with {symptom}."),
                    Some(symptom) => format!("The task starts, but this fails: {symptom}."),
                    None => String::new(),
                }
            );
            let mut all = vec![id.clone(), e.vpc_id.clone()];
            all.extend(resources);
            let mut f = RULE
                .finding(format!("{id} ({service}) has private DNS off"), message)
                .with_resources(all)
                .with_fix(Fix {
                    description: format!(
                        "Enable private DNS on `{id}`. It needs `enableDnsSupport` and `enableDnsHostnames` on VPC `{}`, and no other endpoint of {} in the VPC with private DNS.",
                        e.vpc_id,
                        code_list([&e.service_name])
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_vpc_endpoint\" \"{}\" {{\n  # ...\n  private_dns_enabled = true\n}}",
                        util::tf_name(service)
                    )),
                    aws_cli: Some(format!(
                        "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --private-dns-enabled --region {}",
                        s.region
                    )),
                });
            if !blocks_start {
                f = f.with_severity(Severity::Warning);
            }
            f.endpoint_service = Some(e.service_name.clone());
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn fixture_has_private_dns() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn ecr_dkr_without_private_dns() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-ecr-dkr").private_dns_enabled = false;
        s.workloads.push(fixture::workload("api"));
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.ecr.dkr")
        );
        assert!(f.message.contains("`vpce-ecr-dkr`"));
        assert!(
            f.message
                .contains("`<account>.dkr.ecr.us-east-1.amazonaws.com`")
        );
        assert!(f.message.contains("ECR requires private DNS"));
        assert!(
            f.message
                .contains("service `api` (cluster `prod`) and service `web`")
        );
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-ecr-dkr --private-dns-enabled --region us-east-1"
            )
        );
    }

    #[test]
    fn a_second_endpoint_with_private_dns_is_enough() {
        let mut s = fixture::snapshot();
        let mut other = fixture::interface_endpoint("logs");
        other.id = "vpce-logs-2".into();
        other.private_dns_enabled = false;
        s.vpc_endpoints.insert(other.id.clone(), other);
        assert!(check(&s).is_empty());
    }
}
