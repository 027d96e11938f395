//! Interface endpoints' security groups must admit the tasks on TCP 443
//! (reference rule R8).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list};
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, SecurityGroup, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An Interface endpoint's security groups do not admit the tasks on TCP 443.
///
/// ## What it does
/// For each Interface endpoint isolated Fargate tasks use, checks that one of
/// the endpoint's security groups has an inbound rule for TCP 443 from one of
/// the task security groups, or from a CIDR (or prefix list) that contains the
/// task subnet. Endpoints with a security group the snapshot does not know are
/// skipped.
///
/// ## Why is this bad?
/// The connection to the endpoint is dropped silently and the task times out,
/// although the endpoint exists and DNS points at it. A frequent cause is an
/// endpoint created with the VPC's *default* security group, which admits only
/// members of that same group.
///
/// ## How to fix
/// Add an inbound rule for TCP 443 from the task security group to the
/// endpoint's security group.
pub const RULE: Rule = Rule {
    id: "network/endpoint-ingress-443",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "An Interface endpoint's security groups allow no inbound TCP 443 from the task security groups or task subnets.",
    why: "The tasks' connections to the endpoint are dropped and the task times out, although the endpoint exists (often: the endpoint uses the VPC's default security group).",
    fix: "Allow inbound TCP 443 from the task security group on the endpoint's security group.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
};

/// A workload's task security groups, and its subnets (id, CIDR) the endpoint does not admit.
struct Uncovered {
    task_groups: Vec<String>,
    subnets: Vec<(String, String)>,
}

struct Group<'a> {
    endpoint: &'a VpcEndpoint,
    service: &'static str,
    groups: Vec<&'a SecurityGroup>,
    /// Workload label → what is not admitted.
    workloads: BTreeMap<String, Uncovered>,
    workload_resources: BTreeSet<String>,
    blocks_start: bool,
}

/// The findings of `network/endpoint-ingress-443`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for (req, e) in iw.interface_endpoints(s) {
            let Some(endpoint_groups) = e
                .security_group_ids
                .iter()
                .map(|g| s.security_groups.get(g))
                .collect::<Option<Vec<&SecurityGroup>>>()
            else {
                continue;
            };
            let task_groups = &iw.workload.security_groups;
            let uncovered: Vec<(String, String)> = iw
                .subnets
                .iter()
                .filter_map(|x| x.cidr_block.as_ref().map(|c| (x.id.clone(), c.clone())))
                .filter(|(_, cidr)| {
                    !endpoint_groups.iter().flat_map(|g| &g.ingress).any(|rule| {
                        facts::rule_reaches(s, rule, task_groups, std::slice::from_ref(cidr))
                    })
                })
                .collect();
            if uncovered.is_empty() {
                continue;
            }
            let g = groups.entry(e.id.clone()).or_insert_with(|| Group {
                endpoint: e,
                service: req.service,
                groups: endpoint_groups,
                workloads: BTreeMap::new(),
                workload_resources: BTreeSet::new(),
                blocks_start: false,
            });
            g.blocks_start |= req.blocks_start;
            g.workloads.insert(
                iw.label(),
                Uncovered {
                    task_groups: task_groups.clone(),
                    subnets: uncovered,
                },
            );
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups
        .into_iter()
        .map(|(id, g)| finding(s, &id, g))
        .collect()
}

fn finding(s: &NetworkSnapshot, id: &str, g: Group) -> Finding {
    let endpoint_groups: Vec<&str> = g.groups.iter().map(|x| x.id.as_str()).collect();
    let who: Vec<String> = g
        .workloads
        .iter()
        .map(
            |(
                label,
                Uncovered {
                    task_groups,
                    subnets,
                },
            )| {
                let subnets: Vec<String> = subnets
                    .iter()
                    .map(|(id, cidr)| format!("`{id}` {cidr}"))
                    .collect();
                let from = if task_groups.is_empty() {
                    String::new()
                } else {
                    format!(
                        "security group{} {}, ",
                        if task_groups.len() == 1 { "" } else { "s" },
                        code_list(task_groups)
                    )
                };
                format!(
                    "{label} ({from}subnet{} {})",
                    if subnets.len() == 1 { "" } else { "s" },
                    util::and_list(&subnets)
                )
            },
        )
        .collect();
    let default_group = if g.groups.iter().any(|x| x.name == "default") {
        " It uses the VPC's default security group, which admits only members of that same group."
    } else {
        ""
    };
    let symptom = util::symptom(g.service)
        .map(|x| {
            if g.blocks_start {
                format!(" The connections time out and the task stops with {x}.")
            } else {
                format!(" The connections time out: {x}.")
            }
        })
        .unwrap_or_default();
    let message = format!(
        "Security group{} {} of Interface endpoint `{id}` (`{}`) allow{} no inbound TCP 443 from {}.{default_group}{symptom}",
        if endpoint_groups.len() == 1 { "" } else { "s" },
        code_list(&endpoint_groups),
        g.endpoint.service_name,
        if endpoint_groups.len() == 1 { "s" } else { "" },
        util::and_list(&who)
    );
    let mut resources: Vec<String> = vec![id.to_string()];
    resources.extend(endpoint_groups.iter().map(|x| x.to_string()));
    for Uncovered {
        task_groups,
        subnets,
    } in g.workloads.values()
    {
        resources.extend(task_groups.iter().cloned());
        resources.extend(subnets.iter().map(|(id, _)| id.clone()));
    }
    resources.extend(g.workload_resources.iter().cloned());
    resources.dedup();

    // One rule per task security group (the first of each workload), or per subnet CIDR without one.
    let target = endpoint_groups
        .first()
        .copied()
        .unwrap_or("<endpoint-security-group-id>");
    let mut sources: BTreeSet<(bool, String)> = BTreeSet::new();
    for Uncovered {
        task_groups,
        subnets,
    } in g.workloads.values()
    {
        match task_groups.first() {
            Some(group) => {
                sources.insert((true, group.clone()));
            }
            None => sources.extend(subnets.iter().map(|(_, cidr)| (false, cidr.clone()))),
        }
    }
    let mut terraform = Vec::new();
    let mut cli = Vec::new();
    for (is_group, source) in &sources {
        let peer = if *is_group {
            format!("referenced_security_group_id = \"{source}\"")
        } else {
            format!("cidr_ipv4                    = \"{source}\"")
        };
        terraform.push(format!(
            "resource \"aws_vpc_security_group_ingress_rule\" \"{}_443_from_{}\" {{\n  security_group_id            = \"{target}\"\n  {peer}\n  ip_protocol                  = \"tcp\"\n  from_port                    = 443\n  to_port                      = 443\n  description                  = \"HTTPS from Fargate tasks\"\n}}",
            util::tf_name(target),
            util::tf_name(source)
        ));
        cli.push(format!(
            "aws ec2 authorize-security-group-ingress --group-id {target} --protocol tcp --port 443 {} {source} --region {}",
            if *is_group { "--source-group" } else { "--cidr" },
            s.region
        ));
    }
    let sources_text: Vec<String> = sources.iter().map(|(_, x)| format!("`{x}`")).collect();
    let mut f = RULE
        .finding(
            format!("{id} ({}) does not admit the tasks on 443", g.service),
            message,
        )
        .with_resources(resources)
        .with_fix(Fix {
            description: format!(
                "Allow inbound TCP 443 from {} on the endpoint's security group `{target}`.",
                util::and_list(&sources_text)
            ),
            policy_statement: None,
            terraform: Some(terraform.join("\n\n")),
            aws_cli: Some(cli.join("\n")),
        });
    if !g.blocks_start {
        f = f.with_severity(Severity::Warning);
    }
    f.endpoint_service = Some(g.endpoint.service_name.clone());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, tcp_443};
    use crate::network::snapshot::SecurityGroupRule;

    #[test]
    fn fixture_admits_the_task_group() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn vpc_cidr_and_all_traffic_rules_pass() {
        let mut s = fixture::snapshot();
        fixture::group(&mut s, "sg-endpoint").ingress = vec![SecurityGroupRule {
            cidr_ipv4: Some("10.0.0.0/16".into()),
            ..tcp_443()
        }];
        assert!(check(&s).is_empty());
        fixture::group(&mut s, "sg-endpoint").ingress = vec![SecurityGroupRule {
            protocol: "-1".into(),
            cidr_ipv4: Some("0.0.0.0/0".into()),
            ..SecurityGroupRule::default()
        }];
        assert!(check(&s).is_empty());
    }

    #[test]
    fn one_subnet_cidr_leaves_the_other_out() {
        let mut s = fixture::snapshot();
        fixture::group(&mut s, "sg-endpoint").ingress = vec![SecurityGroupRule {
            cidr_ipv4: Some("10.0.1.0/24".into()),
            ..tcp_443()
        }];
        let findings = check(&s);
        assert_eq!(findings.len(), 3, "one per endpoint: {findings:#?}");
        assert!(
            findings
                .iter()
                .all(|f| f.message.contains("`subnet-b` 10.0.2.0/24"))
        );
        assert!(findings.iter().all(|f| !f.message.contains("subnet-a")));
    }

    #[test]
    fn default_security_group_on_the_endpoint() {
        let mut s = fixture::snapshot();
        let default = SecurityGroup {
            id: "sg-default".into(),
            vpc_id: "vpc-1".into(),
            name: "default".into(),
            ingress: vec![SecurityGroupRule {
                protocol: "-1".into(),
                referenced_group_id: Some("sg-default".into()),
                ..SecurityGroupRule::default()
            }],
            egress: vec![],
        };
        s.security_groups.insert(default.id.clone(), default);
        fixture::endpoint(&mut s, "vpce-ecr-api").security_group_ids = vec!["sg-default".into()];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.ecr.api")
        );
        assert!(
            f.message
                .contains("Security group `sg-default` of Interface endpoint `vpce-ecr-api`")
        );
        assert!(f.message.contains("service `web` (cluster `prod`) (security group `sg-task`, subnets `subnet-a` 10.0.1.0/24 and `subnet-b` 10.0.2.0/24)"));
        assert!(f.message.contains("VPC's default security group"));
        assert!(
            f.message
                .contains("unable to pull secrets or registry auth")
        );
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 authorize-security-group-ingress --group-id sg-default --protocol tcp --port 443 --source-group sg-task --region us-east-1"
            )
        );
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("referenced_security_group_id = \"sg-task\"")
        );
    }

    #[test]
    fn wrong_port_does_not_count() {
        let mut s = fixture::snapshot();
        fixture::group(&mut s, "sg-endpoint").ingress[0].from_port = Some(80);
        fixture::group(&mut s, "sg-endpoint").ingress[0].to_port = Some(80);
        assert_eq!(check(&s).len(), 3);
    }

    #[test]
    fn unknown_endpoint_group_is_skipped() {
        let mut s = fixture::snapshot();
        s.security_groups.remove("sg-endpoint");
        assert!(check(&s).is_empty());
    }
}
