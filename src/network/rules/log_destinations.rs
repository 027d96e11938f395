//! Where the tasks' logs go: `awslogs-region`, or a FireLens output's
//! `region`, naming another region than the task's. (FireLens destinations in
//! the task's own region are in the endpoint matrix: `endpoints::required`.)

use std::collections::BTreeMap;

use super::util::Names;
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{Container, NetworkSnapshot};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An isolated task sends its logs to another region.
///
/// ## What it does
/// Flags containers of Fargate tasks in isolated subnets whose `awslogs`
/// log configuration sets `awslogs-region`, or whose FireLens
/// (`awsfirelens`) output sets `region`, to a region other than the task's.
///
/// ## Why is this bad?
/// Without a NAT gateway or public IP, only this region's VPC endpoints are
/// reachable, and they do not serve another region's CloudWatch Logs,
/// Firehose or Kinesis. With `awslogs` the task does not start
/// (`ResourceInitializationError: failed to validate logger args: … dial tcp …:443: i/o timeout`);
/// a FireLens router keeps running but its logs never arrive.
///
/// ## How to fix
/// Send the logs to the task's region (set `awslogs-region`, or the output's
/// `region`, to it and create the log group or stream there), or route the
/// subnets through a NAT gateway.
pub const LOG_DESTINATION_OTHER_REGION: Rule = Rule {
    id: "network/log-destination-other-region",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A task in an isolated subnet sends its logs (`awslogs-region`, or a FireLens output's `region`) to another region.",
    why: "This region's VPC endpoints do not serve another region: `awslogs` stops the task from starting (`failed to validate logger args … i/o timeout`), a FireLens output loses the logs.",
    fix: "Set `awslogs-region` (or the FireLens output's `region`) to the task's region, or route the subnets through a NAT gateway.",
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html",
};

/// The region a container's logs go to, when its log configuration names
/// one: the driver (`awslogs` or `awsfirelens`) and the region.
fn log_region(c: &Container) -> Option<(&'static str, &str)> {
    match c.log_driver.as_deref() {
        Some("awslogs") => c
            .log_options
            .get("awslogs-region")
            .map(|r| ("awslogs", r.as_str())),
        Some("awsfirelens") => c
            .log_options
            .get("region")
            .map(|r| ("awsfirelens", r.as_str())),
        _ => None,
    }
}

/// The findings of `network/log-destination-other-region`: one per task
/// definition container and region, naming the workloads that run it.
pub fn check(s: &NetworkSnapshot) -> Vec<Finding> {
    // (task definition, container, driver, region) → workloads.
    let mut groups: BTreeMap<(String, String, &str, String), (Names, Names)> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for c in &iw.task.containers {
            let Some((driver, region)) = log_region(c) else {
                continue;
            };
            if region == s.region {
                continue;
            }
            let (labels, resources) = groups
                .entry((
                    iw.task.arn.clone(),
                    c.name.clone(),
                    driver,
                    region.to_string(),
                ))
                .or_default();
            labels.insert(iw.label());
            resources.insert(facts::workload_resource(s, iw.workload));
        }
    }
    groups
        .into_iter()
        .map(|((task, container, driver, region), (labels, resources))| {
            let (option, consequence, severity) = if driver == "awslogs" {
                (
                    "awslogs-region",
                    "The task does not start: `ResourceInitializationError: failed to validate logger args: … dial tcp …:443: i/o timeout`.",
                    Severity::Error,
                )
            } else {
                (
                    "region",
                    "The FireLens router starts, but its output cannot reach the destination and the logs are lost.",
                    Severity::Warning,
                )
            };
            let message = format!(
                "Container `{container}` of `{task}` logs with `{driver}` to `{region}` (`{option}`), but {} run{} in isolated subnets of `{}`, whose VPC endpoints serve only `{}`. {consequence}",
                labels.sentence_list(),
                if labels.len() == 1 { "s" } else { "" },
                s.region,
                s.region
            );
            let mut all: Vec<String> = vec![task.clone()];
            all.extend(resources.listed().cloned());
            let mut f = LOG_DESTINATION_OTHER_REGION
                .finding(
                    format!("{container} sends logs to {region} from isolated subnets"),
                    message,
                )
                .with_severity(severity)
                .with_resources(all)
                .with_fix(Fix {
                    description: format!(
                        "Set `{option}` of container `{container}` to `{}` (and create the log group or stream there), then register the task definition and update the services; or route the subnets through a NAT gateway.",
                        s.region
                    ),
                    policy_statement: None,
                    terraform: Some(format!(
                        "# in the aws_ecs_task_definition's container_definitions, container \"{container}\":\nlogConfiguration = {{\n  logDriver = \"{driver}\"\n  options = {{\n    \"{option}\" = \"{}\"\n    # … the other options unchanged\n  }}\n}}",
                        s.region
                    )),
                    aws_cli: Some(format!(
                        "aws ecs describe-task-definition --task-definition {task} --query taskDefinition > td.json\n# set containerDefinitions[name={container}].logConfiguration.options.\"{option}\" to \"{}\" in td.json, then:\naws ecs register-task-definition --cli-input-json file://td.json --region {}",
                        s.region, s.region
                    )),
                });
            f.omitted_resources += resources.len() - resources.listed().count();
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn awslogs_in_another_region_from_isolated_subnets_is_an_error() {
        let mut s = fixture::snapshot();
        assert!(check(&s).is_empty());
        let c = &mut fixture::task(&mut s).containers[0];
        c.log_driver = Some("awslogs".into());
        c.log_options
            .insert("awslogs-region".into(), "us-east-1".into());
        assert!(check(&s).is_empty(), "the task's own region is fine");
        fixture::task(&mut s).containers[0]
            .log_options
            .insert("awslogs-region".into(), "eu-west-1".into());
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.rule, LOG_DESTINATION_OTHER_REGION.id);
        assert_eq!(f.severity, Severity::Error);
        assert!(f.message.contains("`eu-west-1`"), "{}", f.message);
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("\"awslogs-region\" = \"us-east-1\"")
        );
        fixture::assert_well_formed(&findings);
    }

    #[test]
    fn firelens_outputs_elsewhere_are_a_warning_and_nat_subnets_are_fine() {
        let mut s = fixture::snapshot();
        let c = &mut fixture::task(&mut s).containers[0];
        c.log_driver = Some("awsfirelens".into());
        c.log_options.insert("Name".into(), "firehose".into());
        c.log_options.insert("region".into(), "us-west-2".into());
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        // Through a NAT gateway the other region is reachable.
        fixture::route_table(&mut s, "rtb-private")
            .routes
            .push(fixture::default_route(
                crate::network::snapshot::RouteTarget::NatGateway("nat-1".into()),
            ));
        assert!(check(&s).is_empty());
    }
}
