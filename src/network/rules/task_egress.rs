//! The task security groups must let the tasks out on TCP 443: to the
//! Interface endpoints, and to S3 through its prefix list (reference rule R9).

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, code_list, labels};
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, SecurityGroupRule, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

const SECURITY_GROUP_RULES: &str =
    "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html";

/// The task security groups do not allow outbound TCP 443 to an Interface endpoint.
///
/// ## What it does
/// For each Interface endpoint isolated Fargate tasks use, checks that one of
/// the task's security groups has an outbound rule for TCP 443 to one of the
/// endpoint's security groups, or to a CIDR that contains the endpoint's
/// subnets (such as the VPC CIDR or `0.0.0.0/0`). Workloads with a security
/// group the snapshot does not know are skipped.
///
/// ## Why is this bad?
/// Security groups that restrict egress (instead of AWS's default "all
/// outbound") must name every destination. Without 443 to the endpoint, the
/// task's connection never leaves it and the task times out.
///
/// ## How to fix
/// Add an outbound rule for TCP 443 to the endpoint's security group.
pub const TASK_EGRESS_443: Rule = Rule {
    id: "network/task-egress-443",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The task security groups allow no outbound TCP 443 to an Interface endpoint the isolated tasks need.",
    why: "With restricted egress the connection to the endpoint never leaves the task, and the task times out.",
    fix: "Allow outbound TCP 443 from the task security group to the endpoint's security group (or the VPC CIDR).",
    docs: SECURITY_GROUP_RULES,
};

/// The task security groups do not allow outbound TCP 443 to the S3 prefix list.
///
/// ## What it does
/// For isolated Fargate tasks that need S3 (ECR image layers,
/// `environmentFiles`), checks that a task security group allows outbound TCP
/// 443 to the region's S3 prefix list (`pl-…`, `com.amazonaws.<region>.s3`), or
/// to a CIDR such as `0.0.0.0/0` that contains all of its entries.
///
/// ## Why is this bad?
/// This is the rule most often missed. An S3 Gateway endpoint is a route, not
/// an address in the VPC: layer downloads still go to S3's public addresses,
/// so a security group that allows only the VPC CIDR or the endpoint security
/// group blocks them. ECR answers the manifest through `ecr.dkr`, and then the
/// pull fails with
/// `CannotPullContainerError: … failed to copy: httpReadSeeker: failed open: … dial tcp 52.219.x.x:443: i/o timeout`.
///
/// ## How to fix
/// Add an outbound rule for TCP 443 to the S3 prefix list.
pub const TASK_EGRESS_S3_PREFIX_LIST: Rule = Rule {
    id: "network/task-egress-s3-prefix-list",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The task security groups allow no outbound TCP 443 to the S3 prefix list, which the layer downloads through the S3 Gateway endpoint need.",
    why: "The most often missed rule: the manifest comes through `ecr.dkr`, then the layer download to S3's public addresses fails with `dial tcp 52.219.x.x:443: i/o timeout`.",
    fix: "Allow outbound TCP 443 from the task security group to the S3 prefix list (`pl-…`).",
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html",
};

struct EndpointGroup<'a> {
    endpoint: &'a VpcEndpoint,
    service: &'static str,
    cidrs: Vec<String>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
    blocks_start: bool,
}

#[derive(Default)]
struct S3Group {
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
}

/// The findings of the two egress rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut endpoints: BTreeMap<(Vec<String>, String), EndpointGroup> = BTreeMap::new();
    let mut s3: BTreeMap<Vec<String>, S3Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        let task_groups = &iw.workload.security_groups;
        if task_groups.is_empty() {
            continue;
        }
        let Some(egress) = task_groups
            .iter()
            .map(|g| s.security_groups.get(g).map(|g| &g.egress))
            .collect::<Option<Vec<&Vec<SecurityGroupRule>>>>()
        else {
            continue;
        };
        let egress: Vec<&SecurityGroupRule> = egress.into_iter().flatten().collect();
        for (req, e) in iw.interface_endpoints(s) {
            let cidrs: Option<Vec<String>> = e
                .subnet_ids
                .iter()
                .map(|id| s.subnets.get(id).and_then(|x| x.cidr_block.clone()))
                .collect();
            let cidrs = match cidrs.filter(|c| !c.is_empty()) {
                Some(c) => c,
                None => match s.vpcs.get(iw.vpc_id) {
                    Some(v) if !v.cidr_blocks.is_empty() => v.cidr_blocks.clone(),
                    _ => continue,
                },
            };
            if egress
                .iter()
                .any(|r| facts::rule_reaches(s, r, &e.security_group_ids, &cidrs))
            {
                continue;
            }
            let g = endpoints
                .entry((task_groups.clone(), e.id.clone()))
                .or_insert_with(|| EndpointGroup {
                    endpoint: e,
                    service: req.service,
                    cidrs,
                    workloads: BTreeSet::new(),
                    workload_resources: BTreeSet::new(),
                    blocks_start: false,
                });
            g.blocks_start |= req.blocks_start;
            g.workloads.insert(iw.label());
            g.workload_resources
                .insert(facts::workload_resource(s, iw.workload));
        }
        if iw.requirement("s3").is_some() {
            let allowed = match s.s3_prefix_list() {
                Some(pl) => egress.iter().any(|r| {
                    r.prefix_list_id.as_deref() == Some(pl.id.as_str()) && r.covers_tcp(443)
                        || facts::rule_reaches(s, r, &[], &pl.entries)
                }),
                // Without the prefix list its addresses are unknown: not reported.
                None => true,
            };
            if !allowed {
                let g = s3.entry(task_groups.clone()).or_default();
                g.workloads.insert(iw.label());
                g.workload_resources
                    .insert(facts::workload_resource(s, iw.workload));
            }
        }
    }
    let mut findings: Vec<Finding> = endpoints
        .into_iter()
        .map(|((task_groups, id), g)| endpoint_finding(s, &task_groups, &id, g))
        .collect();
    findings.extend(
        s3.into_iter()
            .map(|(task_groups, g)| s3_finding(s, &task_groups, g)),
    );
    findings
}

fn groups_text(task_groups: &[String]) -> String {
    format!(
        "Security group{} {}",
        if task_groups.len() == 1 { "" } else { "s" },
        code_list(task_groups)
    )
}

fn endpoint_finding(
    s: &NetworkSnapshot,
    task_groups: &[String],
    id: &str,
    g: EndpointGroup,
) -> Finding {
    let target_groups = &g.endpoint.security_group_ids;
    let symptom = util::symptom(g.service)
        .map(|x| format!(" The task's connection never leaves it: {x}."))
        .unwrap_or_default();
    let message = format!(
        "{} of {} allow{} no outbound TCP 443 to Interface endpoint `{id}` (`{}`: security group{} {}, addresses in {}).{symptom}",
        groups_text(task_groups),
        labels(&g.workloads),
        if task_groups.len() == 1 { "s" } else { "" },
        g.endpoint.service_name,
        if target_groups.len() == 1 { "" } else { "s" },
        code_list(target_groups),
        util::and_list(&g.cidrs)
    );
    let source = &task_groups[0];
    let (peer_tf, peer_cli, peer_text) = match target_groups.first() {
        Some(target) => (
            format!("referenced_security_group_id = \"{target}\""),
            format!("UserIdGroupPairs=[{{GroupId={target}}}]"),
            format!("`{target}`"),
        ),
        None => (
            format!("cidr_ipv4                    = \"{}\"", g.cidrs[0]),
            format!("IpRanges=[{{CidrIp={}}}]", g.cidrs[0]),
            g.cidrs[0].clone(),
        ),
    };
    let mut resources: Vec<String> = task_groups.to_vec();
    resources.push(id.to_string());
    resources.extend(target_groups.iter().cloned());
    resources.extend(g.workload_resources.iter().cloned());
    let mut f = TASK_EGRESS_443
        .finding(format!("Tasks cannot reach {id} ({}) on 443", g.service), message)
        .with_resources(resources)
        .with_fix(Fix {
            description: format!(
                "Allow outbound TCP 443 from the task security group `{source}` to {peer_text}."
            ),
            policy_statement: None,
            terraform: Some(format!(
                "resource \"aws_vpc_security_group_egress_rule\" \"{}_443_to_{}\" {{\n  security_group_id            = \"{source}\"\n  {peer_tf}\n  ip_protocol                  = \"tcp\"\n  from_port                    = 443\n  to_port                      = 443\n  description                  = \"HTTPS to the {} endpoint\"\n}}",
                util::tf_name(source),
                util::tf_name(g.service),
                g.service
            )),
            aws_cli: Some(format!(
                "aws ec2 authorize-security-group-egress --group-id {source} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,{peer_cli}' --region {}",
                s.region
            )),
        });
    if !g.blocks_start {
        f = f.with_severity(Severity::Warning);
    }
    f.endpoint_service = Some(g.endpoint.service_name.clone());
    f
}

fn s3_finding(s: &NetworkSnapshot, task_groups: &[String], g: S3Group) -> Finding {
    let pl = s
        .s3_prefix_list()
        .expect("only reported when the prefix list is known");
    let source = &task_groups[0];
    let message = format!(
        "{} of {} allow{} no outbound TCP 443 to the S3 prefix list `{}` (`{}`). This is the rule most often missed: the S3 Gateway endpoint is a route, not an address in the VPC, so layer downloads still go to S3's public addresses ({}), and a rule for the VPC CIDR or the endpoint security group does not cover them. The task fetches the manifest through `ecr.dkr` and then fails with `CannotPullContainerError: … failed to copy: httpReadSeeker: failed open: … dial tcp 52.219.x.x:443: i/o timeout`.",
        groups_text(task_groups),
        labels(&g.workloads),
        if task_groups.len() == 1 { "s" } else { "" },
        pl.id,
        pl.name,
        util::and_list(&pl.entries)
    );
    let mut resources: Vec<String> = task_groups.to_vec();
    resources.push(pl.id.clone());
    resources.extend(g.workload_resources);
    let mut f = TASK_EGRESS_S3_PREFIX_LIST
        .finding(format!("Tasks cannot reach S3 ({}) on 443", pl.id), message)
        .with_resources(resources)
        .with_fix(Fix {
            description: format!(
                "Allow outbound TCP 443 from the task security group `{source}` to the S3 prefix list `{}`.",
                pl.id
            ),
            policy_statement: None,
            terraform: Some(format!(
                "resource \"aws_vpc_security_group_egress_rule\" \"{}_443_to_s3\" {{\n  security_group_id = \"{source}\"\n  prefix_list_id    = \"{}\"\n  ip_protocol       = \"tcp\"\n  from_port         = 443\n  to_port           = 443\n  description       = \"HTTPS to S3 (ECR image layers)\"\n}}",
                util::tf_name(source),
                pl.id
            )),
            aws_cli: Some(format!(
                "aws ec2 authorize-security-group-egress --group-id {source} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{{PrefixListId={}}}]' --region {}",
                pl.id, s.region
            )),
        });
    f.endpoint_service = Some(s.service_name("s3"));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, of, tcp_443};

    #[test]
    fn fixture_egress_is_complete() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn all_outbound_covers_everything() {
        let mut s = fixture::snapshot();
        fixture::group(&mut s, "sg-task").egress = vec![SecurityGroupRule {
            protocol: "-1".into(),
            cidr_ipv4: Some("0.0.0.0/0".into()),
            ..SecurityGroupRule::default()
        }];
        assert!(check(&s).is_empty());
    }

    #[test]
    fn vpc_cidr_only_misses_s3() {
        let mut s = fixture::snapshot();
        s.workloads.push(fixture::workload("api"));
        fixture::group(&mut s, "sg-task").egress = vec![SecurityGroupRule {
            cidr_ipv4: Some("10.0.0.0/16".into()),
            ..tcp_443()
        }];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.rule, TASK_EGRESS_S3_PREFIX_LIST.id);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.s3")
        );
        assert!(f.message.contains("Security group `sg-task` of service `api` (cluster `prod`) and service `web` (cluster `prod`) allows no outbound TCP 443 to the S3 prefix list `pl-63a5400a`"));
        assert!(f.message.contains("most often missed"));
        assert!(f.message.contains("dial tcp 52.219.x.x:443: i/o timeout"));
        assert_eq!(
            f.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 authorize-security-group-egress --group-id sg-task --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{PrefixListId=pl-63a5400a}]' --region us-east-1"
            )
        );
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("prefix_list_id    = \"pl-63a5400a\"")
        );
    }

    #[test]
    fn only_s3_allowed_misses_every_interface_endpoint() {
        let mut s = fixture::snapshot();
        fixture::group(&mut s, "sg-task").egress.remove(0);
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &TASK_EGRESS_443);
        assert_eq!(f.len(), 3, "{findings:#?}");
        let api = f
            .iter()
            .find(|f| f.endpoint_service.as_deref() == Some("com.amazonaws.us-east-1.ecr.api"))
            .unwrap();
        assert!(api.message.contains("to Interface endpoint `vpce-ecr-api`"));
        assert!(
            api.message
                .contains("security group `sg-endpoint`, addresses in 10.0.1.0/24 and 10.0.2.0/24")
        );
        assert_eq!(
            api.fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 authorize-security-group-egress --group-id sg-task --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=sg-endpoint}]' --region us-east-1"
            )
        );
    }

    #[test]
    fn second_task_group_can_provide_the_rule() {
        let mut s = fixture::snapshot();
        let mut extra = s.security_groups["sg-task"].clone();
        extra.id = "sg-extra".into();
        s.security_groups.insert("sg-extra".into(), extra);
        fixture::group(&mut s, "sg-task").egress.clear();
        s.workloads[0].security_groups.push("sg-extra".into());
        assert!(check(&s).is_empty());
    }

    #[test]
    fn unknown_task_group_is_skipped() {
        let mut s = fixture::snapshot();
        s.workloads[0].security_groups.push("sg-unknown".into());
        fixture::group(&mut s, "sg-task").egress.clear();
        assert!(check(&s).is_empty());
    }
}
