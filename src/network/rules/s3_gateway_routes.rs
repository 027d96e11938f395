//! The S3 Gateway endpoint must be on the route table of every isolated task
//! subnet (reference rule R4).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels};
use crate::network::endpoints::EndpointType;
use crate::network::facts::{self, isolated_workloads, routes_to_s3};
use crate::network::snapshot::{NetworkSnapshot, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An isolated task subnet's route table has no route to the S3 Gateway endpoint.
///
/// ## What it does
/// For isolated Fargate task subnets whose tasks need S3 (ECR image layers,
/// `environmentFiles`), checks that the subnet's route table (its explicit
/// association, else the VPC's main table) is one of the S3 Gateway endpoint's
/// route tables, i.e. has the `pl-… → vpce-…` route.
///
/// ## Why is this bad?
/// A Gateway endpoint works only through the routes it adds to the route
/// tables it is associated with. A subnet on another route table (often the
/// main table, or a table added later for a new Availability Zone) sends S3
/// traffic nowhere: the manifest is fetched through `ecr.dkr`, then the layer
/// download fails with `CannotPullContainerError … dial tcp 52.219.x.x:443: i/o timeout`
/// — in some zones only.
///
/// ## How to fix
/// Associate the route table with the S3 Gateway endpoint
/// (`aws ec2 modify-vpc-endpoint --add-route-table-ids`).
pub const RULE: Rule = Rule {
    id: "network/s3-gateway-route-missing",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The route table of an isolated task subnet is not associated with the S3 Gateway endpoint (no `pl-… → vpce-…` route).",
    why: "Image layers come from S3: tasks in that subnet fetch the manifest, then time out on the layer download (`dial tcp 52.219.x.x:443: i/o timeout`).",
    fix: "Add the route table to the S3 Gateway endpoint (`modify-vpc-endpoint --add-route-table-ids`).",
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html",
};

struct Group<'a> {
    endpoint: &'a VpcEndpoint,
    subnets: BTreeSet<String>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
}

/// The findings of `network/s3-gateway-route-missing`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        if iw.requirement("s3").is_none() {
            continue;
        }
        let usable = facts::usable_endpoints(s, iw.vpc_id, "s3", EndpointType::Gateway);
        let Some(first) = usable.first().copied() else {
            // No usable Gateway endpoint at all: `required_endpoints` reports it.
            continue;
        };
        for (rt, subnets) in iw.route_tables(s) {
            if routes_to_s3(s, rt, &usable) {
                continue;
            }
            let g = groups.entry(rt.id.clone()).or_insert_with(|| Group {
                endpoint: first,
                subnets: BTreeSet::new(),
                workloads: BTreeSet::new(),
                workload_resources: BTreeSet::new(),
            });
            g.subnets.extend(subnets);
            g.workloads.insert(iw.label());
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups
        .into_iter()
        .map(|(rt, g)| {
            let endpoint = &g.endpoint.id;
            let bucket = format!("prod-{}-starport-layer-bucket", s.region);
            let main = s.route_tables.get(&rt).is_some_and(|t| t.main);
            let message = format!(
                "Route table `{rt}`{} of isolated subnet{} {} has no route to the S3 Gateway endpoint `{endpoint}`, which is associated only with {}. Tasks of {} there fetch the image manifest through `ecr.dkr`, then the layer download from `{bucket}` goes nowhere: {}.",
                if main { " (the VPC's main route table, used by subnets without an explicit association)" } else { "" },
                if g.subnets.len() == 1 { "" } else { "s" },
                code_list(&g.subnets),
                if g.endpoint.route_table_ids.is_empty() {
                    "no route table".to_string()
                } else {
                    code_list(&g.endpoint.route_table_ids)
                },
                labels(&g.workloads),
                util::symptom("s3").unwrap_or_default()
            );
            let mut resources = vec![rt.clone(), endpoint.clone()];
            resources.extend(g.subnets.iter().cloned());
            resources.extend(g.workload_resources.iter().cloned());
            let mut f = RULE
                .finding(format!("{rt} has no route to the S3 Gateway endpoint"), message)
                .with_resources(resources)
                .with_fix(Fix {
                    description: format!(
                        "Associate route table `{rt}` with the S3 Gateway endpoint `{endpoint}`; it adds the prefix-list route."
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "resource \"aws_vpc_endpoint_route_table_association\" \"s3_{}\" {{\n  vpc_endpoint_id = \"{endpoint}\"\n  route_table_id  = \"{rt}\"\n}}",
                        util::tf_name(&rt)
                    )),
                    aws_cli: Some(format!(
                        "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint} --add-route-table-ids {rt} --region {}",
                        s.region
                    )),
                });
            f.endpoint_service = Some(s.service_name("s3"));
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;
    use crate::network::snapshot::Route;

    #[test]
    fn fixture_routes_to_s3() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn association_alone_is_enough() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .truncate(1);
        assert!(check(&s).is_empty());
    }

    #[test]
    fn route_alone_is_enough() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-s3").route_table_ids.clear();
        assert!(check(&s).is_empty());
    }

    #[test]
    fn subnet_on_the_main_table_misses_the_route() {
        let mut s = fixture::snapshot();
        fixture::route_table(&mut s, "rtb-private")
            .subnet_ids
            .retain(|x| x != "subnet-b");
        s.workloads.push(fixture::workload("api"));
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.s3")
        );
        assert!(
            f.message
                .contains("Route table `rtb-main` (the VPC's main route table")
        );
        assert!(f.message.contains("isolated subnet `subnet-b`"));
        assert!(f.message.contains("associated only with `rtb-private`"));
        assert!(
            f.message
                .contains("service `api` (cluster `prod`) and service `web`")
        );
        assert!(f.message.contains("52.219.x.x:443: i/o timeout"));
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-s3 --add-route-table-ids rtb-main --region us-east-1"
            )
        );
    }

    #[test]
    fn blackhole_route_does_not_count() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-s3").route_table_ids.clear();
        let routes: &mut Vec<Route> = &mut fixture::route_table(&mut s, "rtb-private").routes;
        routes[1].state = Some("blackhole".into());
        assert_eq!(check(&s).len(), 1);
    }

    #[test]
    fn not_needed_without_ecr_images() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).containers[0].image = "public.ecr.aws/nginx/nginx:1".into();
        fixture::endpoint(&mut s, "vpce-s3").route_table_ids.clear();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .truncate(1);
        assert!(check(&s).is_empty());
    }
}
