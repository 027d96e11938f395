//! Interface endpoints should have a network interface in every Availability
//! Zone the tasks run in (reference rule R7).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels, tf_list};
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An Interface endpoint is missing from an Availability Zone the tasks use.
///
/// ## What it does
/// For each Interface endpoint isolated Fargate tasks use, compares the
/// Availability Zones of its subnets with those of the isolated task subnets,
/// and flags the zones the endpoint does not cover. Endpoints with a subnet the
/// snapshot does not know are skipped.
///
/// ## Why is this bad?
/// Tasks still reach the endpoint's interfaces in other zones, but every call
/// crosses zones (data-transfer charges), and when the endpoint's zone is
/// impaired, tasks in the healthy zones cannot start either: the zone
/// independence the service was spread for is lost.
///
/// ## How to fix
/// Add a subnet in each missing zone to the endpoint (`modify-vpc-endpoint --add-subnet-ids`).
pub const RULE: Rule = Rule {
    id: "network/endpoint-zone-missing",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "An Interface endpoint that isolated tasks use has no network interface in an Availability Zone the tasks run in.",
    why: "Calls cross zones (charges), and when the endpoint's zone is impaired, tasks in other zones cannot start either.",
    fix: "Add a subnet in each missing zone to the endpoint (`modify-vpc-endpoint --add-subnet-ids`).",
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html",
};

struct Group<'a> {
    endpoint: &'a VpcEndpoint,
    service: &'static str,
    covered: BTreeSet<String>,
    /// Missing zone → the task subnets in it.
    missing: BTreeMap<String, BTreeSet<String>>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
}

/// The findings of `network/endpoint-zone-missing`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for (req, e) in iw.interface_endpoints(s) {
            let zones: Option<BTreeSet<String>> = e
                .subnet_ids
                .iter()
                .map(|id| s.subnets.get(id).map(|x| x.availability_zone.clone()))
                .collect();
            let Some(covered) = zones.filter(|z| !z.is_empty()) else {
                continue;
            };
            let missing: Vec<_> = iw
                .subnets
                .iter()
                .filter(|x| !covered.contains(&x.availability_zone))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let g = groups.entry(e.id.clone()).or_insert_with(|| Group {
                endpoint: e,
                service: req.service,
                covered,
                missing: BTreeMap::new(),
                workloads: BTreeSet::new(),
                workload_resources: BTreeSet::new(),
            });
            for x in missing {
                g.missing
                    .entry(x.availability_zone.clone())
                    .or_default()
                    .insert(x.id.clone());
            }
            g.workloads.insert(iw.label());
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups
        .into_iter()
        .map(|(id, g)| {
            let missing: Vec<String> = g
                .missing
                .iter()
                .map(|(zone, subnets)| format!("`{zone}` ({})", code_list(subnets)))
                .collect();
            let zones: Vec<&String> = g.missing.keys().collect();
            let message = format!(
                "Interface endpoint `{id}` (`{}`) has network interfaces only in {}, but isolated tasks of {} also run in {}. They reach it across zones, which costs inter-zone data transfer, and if {} is impaired they cannot start there either.",
                g.endpoint.service_name,
                code_list(&g.covered),
                labels(&g.workloads),
                util::and_list(&missing),
                code_list(&g.covered)
            );
            // One subnet per missing zone, the first task subnet in it.
            let add: Vec<String> = g
                .missing
                .values()
                .filter_map(|subnets| subnets.iter().next().cloned())
                .collect();
            let mut subnets = g.endpoint.subnet_ids.clone();
            subnets.extend(add.iter().cloned());
            let mut resources = vec![id.clone()];
            resources.extend(g.missing.values().flatten().cloned());
            resources.extend(g.workload_resources);
            let mut f = RULE
                .finding(
                    format!("{id} ({}) is not in {}", g.service, zones.iter().map(|z| z.as_str()).collect::<Vec<_>>().join(", ")),
                    message,
                )
                .with_resources(resources)
                .with_fix(Fix {
                    description: format!(
                        "Add {} to endpoint `{id}` (one subnet per zone).",
                        code_list(&add)
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_vpc_endpoint\" \"{}\" {{\n  # ...\n  subnet_ids = [{}]\n}}",
                        util::tf_name(g.service),
                        tf_list(&subnets)
                    )),
                    aws_cli: Some(format!(
                        "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --add-subnet-ids {} --region {}",
                        add.join(" "),
                        s.region
                    )),
                });
            f.endpoint_service = Some(g.endpoint.service_name.clone());
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn fixture_covers_both_zones() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn endpoint_in_one_zone_only() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-logs").subnet_ids = vec!["subnet-a".into()];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.logs")
        );
        assert!(f.message.contains("only in `us-east-1a`"));
        assert!(f.message.contains("also run in `us-east-1b` (`subnet-b`)"));
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-logs --add-subnet-ids subnet-b --region us-east-1"
            )
        );
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("subnet_ids = [\"subnet-a\", \"subnet-b\"]")
        );
    }

    #[test]
    fn unknown_endpoint_subnet_is_skipped() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-logs").subnet_ids =
            vec!["subnet-a".into(), "subnet-elsewhere".into()];
        assert!(check(&s).is_empty());
    }
}
