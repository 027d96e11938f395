//! The VPC endpoints an isolated workload needs (reference rules R3, R4):
//! present, of the right type, and `available`. Which endpoints a task needs
//! comes from the endpoint matrix (`network::endpoints::required`).

use std::collections::{BTreeMap, BTreeSet};

use super::egress::why_isolated;
use super::util::{self, code_list, tf_list};
use crate::network::endpoints::EndpointType;
use crate::network::facts::{self, IsolatedWorkload, isolated_workloads};
use crate::network::snapshot::{NetworkSnapshot, Subnet, VpcEndpoint};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

const ECS_VPC_ENDPOINTS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html";
const ECR_VPC_ENDPOINTS: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html";

/// A VPC endpoint an isolated task needs does not exist.
///
/// ## What it does
/// For every Fargate workload with a subnet that has no internet path (no
/// internet gateway with a public IP, no working NAT gateway), lists the VPC
/// endpoints its task definition needs — `ecr.api`, `ecr.dkr` and the `s3`
/// Gateway for an ECR image on platform version 1.4.0, `logs` for awslogs,
/// `secretsmanager` and `ssm` for secrets, `ssmmessages` for ECS Exec — and
/// flags those missing from the VPC.
///
/// ## Why is this bad?
/// The task cannot reach the service at all: it hangs for minutes and stops
/// with `ResourceInitializationError` or `CannotPullContainerError … i/o timeout`.
/// ECS Exec (`ssmmessages`) is the exception: the task starts, but
/// `execute-command` fails, so that one is a warning.
///
/// ## How to fix
/// Create the endpoint: Interface endpoints in the task subnets (one per
/// Availability Zone) with private DNS on, Gateway endpoints on the task
/// subnets' route tables. Or give the subnets a NAT gateway.
pub const ENDPOINT_MISSING: Rule = Rule {
    id: "network/endpoint-missing",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A VPC endpoint that a task in an isolated subnet needs (ECR, S3, CloudWatch Logs, Secrets Manager, SSM) does not exist in the VPC.",
    why: "Without an internet path the task cannot reach the service: it stops with `ResourceInitializationError` or `CannotPullContainerError … i/o timeout` (only ECS Exec's `ssmmessages` is a warning).",
    fix: "Create the endpoint (Interface in the task subnets with private DNS, or the S3 Gateway on their route tables), or route the subnets through a NAT gateway.",
    docs: ECS_VPC_ENDPOINTS,
};

/// A VPC endpoint exists but is not `available`.
///
/// ## What it does
/// Flags endpoints that isolated tasks need whose state is `pending`,
/// `pendingAcceptance`, `rejected`, `failed`, `deleting` or `deleted`.
///
/// ## Why is this bad?
/// An endpoint serves traffic only when it is `available`; until then the
/// tasks fail exactly as if it did not exist.
///
/// ## How to fix
/// Wait for a pending endpoint; delete and recreate a failed, rejected or deleted one.
pub const ENDPOINT_NOT_AVAILABLE: Rule = Rule {
    id: "network/endpoint-not-available",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A VPC endpoint an isolated task needs exists but is not `available` (pending, rejected, failed, deleted).",
    why: "It carries no traffic until it is available; the task fails as if it did not exist.",
    fix: "Wait for a pending endpoint; recreate a failed, rejected or deleted one.",
    docs: ECS_VPC_ENDPOINTS,
};

/// A VPC endpoint exists, but not of the type the task needs.
///
/// ## What it does
/// Flags services whose only endpoints in the VPC have the wrong type — in
/// practice an S3 *Interface* endpoint without the S3 *Gateway* endpoint.
///
/// ## Why is this bad?
/// ECR serves image layers from S3 through pre-signed URLs on S3's regional
/// name; Fargate fetches them over the S3 Gateway endpoint's routes. ECR's
/// documentation requires the Gateway endpoint, and an Interface endpoint does
/// not serve the layer downloads (aws/containers-roadmap#1691): the pull fails
/// with `CannotPullContainerError … dial tcp 52.219.x.x:443: i/o timeout`.
///
/// ## How to fix
/// Create the S3 Gateway endpoint on the task subnets' route tables (it is free);
/// the Interface endpoint can stay for other uses.
pub const ENDPOINT_WRONG_TYPE: Rule = Rule {
    id: "network/endpoint-wrong-type",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The VPC has the endpoint an isolated task needs only with the wrong type, such as an S3 Interface endpoint without the S3 Gateway endpoint.",
    why: "ECR image layers are downloaded through the S3 Gateway endpoint; an S3 Interface endpoint does not serve them, so the pull times out.",
    fix: "Create the S3 Gateway endpoint on the task subnets' route tables; the Interface endpoint can stay.",
    docs: ECR_VPC_ENDPOINTS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Missing,
    WrongType,
    NotAvailable,
}

struct Group<'a> {
    endpoint_type: EndpointType,
    /// Why it is needed → the workloads it is needed by.
    reasons: BTreeMap<String, util::Names>,
    blocks_start: bool,
    workloads: util::Names,
    workload_resources: util::Names,
    subnets: Vec<&'a Subnet>,
    why_isolated: BTreeSet<String>,
    route_tables: BTreeSet<String>,
    task_groups: BTreeSet<String>,
    endpoints: Vec<&'a VpcEndpoint>,
}

/// The findings of the three endpoint-presence rules.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<(Problem, String, &'static str), Group> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for req in &iw.requirements {
            let all: Vec<&VpcEndpoint> = s.endpoints_for(iw.vpc_id, req.service).collect();
            let typed: Vec<&VpcEndpoint> = all
                .iter()
                .copied()
                .filter(|e| e.endpoint_type == req.endpoint_type.as_str())
                .collect();
            let (problem, endpoints) = if all.is_empty() {
                (Problem::Missing, all)
            } else if typed.is_empty() {
                (Problem::WrongType, all)
            } else if !typed.iter().any(|e| e.state == "available") {
                (Problem::NotAvailable, typed)
            } else {
                continue;
            };
            let group = groups
                .entry((problem, iw.vpc_id.to_string(), req.service))
                .or_insert_with(|| Group {
                    endpoint_type: req.endpoint_type,
                    reasons: BTreeMap::new(),
                    blocks_start: false,
                    workloads: util::Names::default(),
                    workload_resources: util::Names::default(),
                    subnets: Vec::new(),
                    why_isolated: BTreeSet::new(),
                    route_tables: BTreeSet::new(),
                    task_groups: BTreeSet::new(),
                    endpoints,
                });
            add_workload(s, group, &iw, &req.reason, req.blocks_start);
        }
    }
    groups
        .into_iter()
        .map(|((problem, vpc_id, service), g)| finding(s, problem, &vpc_id, service, g))
        .collect()
}

fn add_workload<'a>(
    s: &'a NetworkSnapshot,
    group: &mut Group<'a>,
    iw: &IsolatedWorkload<'a>,
    reason: &str,
    blocks_start: bool,
) {
    let label = iw.label();
    group
        .reasons
        .entry(reason.to_string())
        .or_default()
        .insert(label.clone());
    group.blocks_start |= blocks_start;
    group.workloads.insert(label);
    group
        .workload_resources
        .insert(facts::workload_resource(s, iw.workload));
    for subnet in &iw.subnets {
        if !group.subnets.iter().any(|x| x.id == subnet.id) {
            group.subnets.push(subnet);
        }
        group
            .why_isolated
            .insert(why_isolated(s, iw.workload, &subnet.id));
    }
    group
        .route_tables
        .extend(iw.route_tables(s).into_iter().map(|(rt, _)| rt.id.clone()));
    group
        .task_groups
        .extend(iw.workload.security_groups.iter().cloned());
}

fn finding(
    s: &NetworkSnapshot,
    problem: Problem,
    vpc_id: &str,
    service: &str,
    g: Group,
) -> Finding {
    let full = s.service_name(service);
    let subnet_ids: Vec<&str> = g.subnets.iter().map(|x| x.id.as_str()).collect();
    let reasons: Vec<String> = if g.reasons.len() == 1 {
        g.reasons.keys().cloned().collect()
    } else {
        g.reasons
            .iter()
            .map(|(reason, who)| format!("{reason} ({})", who.sentence_list()))
            .collect()
    };
    let many = g.workloads.len() > 1;
    let context = format!(
        "{} run{} in isolated subnet{} {} ({}), so {} reach{} `{}` only through a VPC endpoint. Needed because {}.",
        util::sentence(&g.workloads.sentence_list()),
        if many { "" } else { "s" },
        if subnet_ids.len() == 1 { "" } else { "s" },
        code_list(&subnet_ids),
        g.why_isolated
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("; "),
        if many { "they" } else { "it" },
        if many { "" } else { "es" },
        util::service_host(service, &s.region),
        reasons.join("; ")
    );
    let consequence = match util::symptom(service) {
        Some(symptom) if g.blocks_start => {
            format!(" Until it works the task does not start: {symptom}.")
        }
        Some(symptom) => format!(" The task starts, but this fails: {symptom}."),
        None => String::new(),
    };
    let endpoint_ids: Vec<&str> = g.endpoints.iter().map(|e| e.id.as_str()).collect();
    let (rule, title, message) = match problem {
        Problem::Missing => (
            &ENDPOINT_MISSING,
            format!("No {service} endpoint in {vpc_id}"),
            format!("VPC `{vpc_id}` has no `{full}` endpoint. {context}{consequence}"),
        ),
        Problem::WrongType => {
            let have: Vec<String> = g
                .endpoints
                .iter()
                .map(|e| format!("`{}` ({})", e.id, e.endpoint_type))
                .collect();
            let extra = if service == "s3" {
                " An S3 Interface endpoint does not serve ECR's layer downloads: ECR requires the S3 Gateway endpoint (aws/containers-roadmap#1691)."
            } else {
                ""
            };
            (
                &ENDPOINT_WRONG_TYPE,
                format!(
                    "{service} endpoint in {vpc_id} is not a {} endpoint",
                    g.endpoint_type.as_str()
                ),
                format!(
                    "VPC `{vpc_id}` has `{full}` only as {}, but the tasks need a {} endpoint.{extra} {context}{consequence}",
                    util::and_list(&have),
                    g.endpoint_type.as_str()
                ),
            )
        }
        Problem::NotAvailable => {
            let have: Vec<String> = g
                .endpoints
                .iter()
                .map(|e| format!("`{}` is `{}`", e.id, e.state))
                .collect();
            (
                &ENDPOINT_NOT_AVAILABLE,
                format!(
                    "{service} endpoint {} is not available",
                    endpoint_ids.join(", ")
                ),
                format!(
                    "The `{full}` endpoint of VPC `{vpc_id}` is not `available`: {}. It carries no traffic until it is. {context}{consequence}",
                    util::and_list(&have)
                ),
            )
        }
    };
    let mut resources: Vec<String> = vec![vpc_id.to_string()];
    resources.extend(endpoint_ids.iter().map(|e| e.to_string()));
    resources.extend(subnet_ids.iter().map(|x| x.to_string()));
    if g.endpoint_type == EndpointType::Gateway {
        resources.extend(g.route_tables.iter().cloned());
    }
    resources.extend(g.workload_resources.listed().cloned());
    let unlisted = g.workload_resources.len() - g.workload_resources.listed().count();
    let mut create = create_fix(s, vpc_id, service, &g);
    if problem == Problem::NotAvailable {
        create = recreate_fix(s, &g, create);
    }
    let mut f = rule
        .finding(title, message)
        .with_resources(resources)
        .with_fix(create);
    if !g.blocks_start {
        f = f.with_severity(Severity::Warning);
    }
    f.endpoint_service = Some(full);
    f.omitted_resources += unlisted;
    f
}

/// Creating the endpoint, with the ids of the task subnets, route tables and groups.
fn create_fix(s: &NetworkSnapshot, vpc_id: &str, service: &str, g: &Group) -> Fix {
    let full = s.service_name(service);
    let name = util::tf_name(service);
    let region = &s.region;
    match g.endpoint_type {
        EndpointType::Gateway => Fix {
            description: format!(
                "Create the `{full}` Gateway endpoint on the route tables of the task subnets ({}); it is free. The task security groups must then allow outbound TCP 443 to the S3 prefix list.",
                code_list(&g.route_tables)
            ),
            policy_statement: None,
            terraform: Some(format!(
                "resource \"aws_vpc_endpoint\" \"{name}\" {{\n  vpc_id            = \"{vpc_id}\"\n  service_name      = \"{full}\"\n  vpc_endpoint_type = \"Gateway\"\n  route_table_ids   = [{}]\n}}",
                tf_list(&g.route_tables)
            )),
            aws_cli: Some(format!(
                "aws ec2 create-vpc-endpoint --vpc-id {vpc_id} --vpc-endpoint-type Gateway --service-name {full} --route-table-ids {} --region {region}",
                g.route_tables.iter().cloned().collect::<Vec<_>>().join(" ")
            )),
        },
        EndpointType::Interface => {
            // One subnet per zone: CreateVpcEndpoint refuses two in the same zone.
            let subnets: Vec<String> = util::one_subnet_per_zone(g.subnets.iter().copied())
                .into_iter()
                .map(|x| x.id.clone())
                .collect();
            // The security group the VPC's other Interface endpoints use is the best guess.
            let mut groups: Vec<String> = s
                .vpc_endpoints
                .values()
                .filter(|e| e.vpc_id == vpc_id && e.endpoint_type == "Interface")
                .flat_map(|e| e.security_group_ids.iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let guessed = !groups.is_empty();
            if groups.is_empty() {
                groups.push("<endpoint-security-group-id>".into());
            }
            let tasks = if g.task_groups.is_empty() {
                "the tasks' subnets".to_string()
            } else {
                code_list(&g.task_groups)
            };
            Fix {
                description: format!(
                    "Create the `{full}` Interface endpoint in the task subnets (one per Availability Zone) with private DNS on. Its security group must allow inbound TCP 443 from {tasks}{}.",
                    if guessed {
                        format!(
                            " ({} is used by the VPC's other endpoints)",
                            code_list(&groups)
                        )
                    } else {
                        String::new()
                    }
                ),
                policy_statement: None,
                terraform: Some(format!(
                    "resource \"aws_vpc_endpoint\" \"{name}\" {{\n  vpc_id              = \"{vpc_id}\"\n  service_name        = \"{full}\"\n  vpc_endpoint_type   = \"Interface\"\n  subnet_ids          = [{}]\n  security_group_ids  = [{}]\n  private_dns_enabled = true\n}}",
                    tf_list(&subnets),
                    tf_list(&groups)
                )),
                aws_cli: Some(format!(
                    "aws ec2 create-vpc-endpoint --vpc-id {vpc_id} --vpc-endpoint-type Interface --service-name {full} --subnet-ids {} --security-group-ids {} --private-dns-enabled --region {region}",
                    subnets.join(" "),
                    groups.join(" ")
                )),
            }
        }
    }
}

fn recreate_fix(s: &NetworkSnapshot, g: &Group, create: Fix) -> Fix {
    let pending = g
        .endpoints
        .iter()
        .all(|e| e.state.eq_ignore_ascii_case("pending"));
    let ids: Vec<&str> = g.endpoints.iter().map(|e| e.id.as_str()).collect();
    if pending {
        return Fix {
            description: format!(
                "{} is still being created: wait until it is `available` before starting tasks.",
                code_list(&ids)
            ),
            policy_statement: None,
            terraform: create.terraform,
            aws_cli: Some(format!(
                "aws ec2 describe-vpc-endpoints --vpc-endpoint-ids {} --query 'VpcEndpoints[].State' --region {}",
                ids.join(" "),
                s.region
            )),
        };
    }
    let live: Vec<&str> = g
        .endpoints
        .iter()
        .filter(|e| !e.state.eq_ignore_ascii_case("deleted"))
        .map(|e| e.id.as_str())
        .collect();
    let mut cli = String::new();
    if !live.is_empty() {
        cli.push_str(&format!(
            "aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {} --region {}\n",
            live.join(" "),
            s.region
        ));
    }
    cli.push_str(create.aws_cli.as_deref().unwrap_or_default());
    Fix {
        description: format!(
            "Delete {} and create the endpoint again. {}",
            code_list(&ids),
            create.description
        ),
        policy_statement: None,
        terraform: create.terraform,
        aws_cli: Some(cli),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, of};
    use crate::network::snapshot::RouteTarget;

    #[test]
    fn fixture_has_every_endpoint() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn missing_ecr_api_is_an_error_with_a_create_fix() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-ecr-api");
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.rule, ENDPOINT_MISSING.id);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.ecr.api")
        );
        assert!(
            f.message
                .contains("VPC `vpc-1` has no `com.amazonaws.us-east-1.ecr.api` endpoint")
        );
        assert!(f.message.contains("`subnet-a` and `subnet-b`"));
        assert!(
            f.message
                .contains("route table `rtb-private` has no `0.0.0.0/0` route")
        );
        assert!(f.message.contains("image of app is in ECR"));
        assert!(
            f.message
                .contains("unable to pull secrets or registry auth")
        );
        assert!(f.resources.contains(&"subnet-a".to_string()));
        assert!(
            f.resources
                .contains(&"arn:aws:ecs:us-east-1:123456789012:service/prod/web".to_string())
        );
        let fix = f.fix.as_ref().unwrap();
        assert_eq!(
            fix.aws_cli.as_deref(),
            Some(
                "aws ec2 create-vpc-endpoint --vpc-id vpc-1 --vpc-endpoint-type Interface --service-name com.amazonaws.us-east-1.ecr.api --subnet-ids subnet-a subnet-b --security-group-ids sg-endpoint --private-dns-enabled --region us-east-1"
            )
        );
        assert!(
            fix.terraform
                .as_ref()
                .unwrap()
                .contains("resource \"aws_vpc_endpoint\" \"ecr_api\"")
        );
    }

    #[test]
    fn one_finding_for_services_sharing_the_vpc() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-logs");
        s.workloads.push(fixture::workload("api"));
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        let m = &findings[0].message;
        assert!(
            m.contains("Service `api` (cluster `prod`) and service `web` (cluster `prod`) run in"),
            "{m}"
        );
        assert!(m.contains("Needed because app logs with awslogs."), "{m}");
    }

    #[test]
    fn interface_subnets_one_per_zone() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-logs");
        s.subnets.insert(
            "subnet-a2".into(),
            Subnet {
                id: "subnet-a2".into(),
                vpc_id: "vpc-1".into(),
                availability_zone: "us-east-1a".into(),
                cidr_block: Some("10.0.3.0/24".into()),
                ..Default::default()
            },
        );
        fixture::route_table(&mut s, "rtb-private")
            .subnet_ids
            .push("subnet-a2".into());
        s.workloads[0].subnets.push("subnet-a2".into());
        let findings = check(&s);
        let cli = findings[0].fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(cli.contains("--subnet-ids subnet-a subnet-b --"), "{cli}");
    }

    #[test]
    fn missing_s3_gateway() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-s3");
        let findings = check(&s);
        let f = of(&findings, &ENDPOINT_MISSING);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("layers come from S3"));
        assert!(f[0].message.contains("httpReadSeeker"));
        assert_eq!(
            f[0].fix.as_ref().unwrap().aws_cli.as_deref(),
            Some(
                "aws ec2 create-vpc-endpoint --vpc-id vpc-1 --vpc-endpoint-type Gateway --service-name com.amazonaws.us-east-1.s3 --route-table-ids rtb-private --region us-east-1"
            )
        );
    }

    #[test]
    fn s3_interface_endpoint_is_the_wrong_type() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-s3");
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .truncate(1);
        fixture::add_interface_endpoint(&mut s, "s3");
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule, ENDPOINT_WRONG_TYPE.id);
        assert!(
            findings[0]
                .message
                .contains("only as `vpce-s3` (Interface)")
        );
        assert!(findings[0].message.contains("containers-roadmap#1691"));
        assert!(
            findings[0]
                .fix
                .as_ref()
                .unwrap()
                .aws_cli
                .as_ref()
                .unwrap()
                .contains("--vpc-endpoint-type Gateway")
        );
    }

    #[test]
    fn pending_and_failed_endpoints() {
        let mut s = fixture::snapshot();
        fixture::endpoint(&mut s, "vpce-ecr-dkr").state = "pending".into();
        fixture::endpoint(&mut s, "vpce-logs").state = "failed".into();
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        let f = of(&findings, &ENDPOINT_NOT_AVAILABLE);
        assert_eq!(f.len(), 2);
        let dkr = f
            .iter()
            .find(|f| f.message.contains("`vpce-ecr-dkr` is `pending`"))
            .unwrap();
        assert!(dkr.fix.as_ref().unwrap().description.contains("wait"));
        let logs = f
            .iter()
            .find(|f| f.message.contains("`vpce-logs` is `failed`"))
            .unwrap();
        let cli = logs.fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(
            cli.starts_with("aws ec2 delete-vpc-endpoints --vpc-endpoint-ids vpce-logs"),
            "{cli}"
        );
        assert!(cli.contains("create-vpc-endpoint"));
    }

    #[test]
    fn secrets_and_exec_need_their_endpoints() {
        let mut s = fixture::snapshot();
        fixture::task(&mut s).containers[0].secrets =
            vec!["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf".into()];
        s.workloads[0].enable_execute_command = true;
        let findings = check(&s);
        let f = of(&findings, &ENDPOINT_MISSING);
        assert_eq!(f.len(), 2, "{findings:#?}");
        let secrets = f
            .iter()
            .find(|f| {
                f.endpoint_service.as_deref() == Some("com.amazonaws.us-east-1.secretsmanager")
            })
            .unwrap();
        assert_eq!(secrets.severity, Severity::Error);
        assert!(
            secrets
                .message
                .contains("unable to retrieve secret from asm")
        );
        let exec = f
            .iter()
            .find(|f| f.endpoint_service.as_deref() == Some("com.amazonaws.us-east-1.ssmmessages"))
            .unwrap();
        assert_eq!(exec.severity, Severity::Warning);
        assert!(exec.message.contains("The task starts"));
    }

    #[test]
    fn subnets_with_a_way_out_need_no_endpoints() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.clear();
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::NatGateway(
                "nat-1".into(),
            )));
        assert!(check(&s).is_empty());
    }

    #[test]
    fn public_subnet_without_public_ip_is_explained() {
        let mut s = fixture::snapshot();
        s.vpc_endpoints.remove("vpce-ecr-dkr");
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(RouteTarget::InternetGateway(
                "igw-1".into(),
            )));
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("internet gateway `igw-1`, but the tasks get no public IP")
        );
    }
}
