//! Workloads the Fargate network checks do not apply to.

use super::util;
use crate::network::facts::{self, workload_label};
use crate::network::snapshot::NetworkSnapshot;
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// The workload does not run on Fargate, so the network checks skipped it.
///
/// ## What it does
/// Notes every selected service whose launch type is not `FARGATE` (and that
/// has no `FARGATE`/`FARGATE_SPOT` capacity provider).
///
/// ## Why is this bad?
/// It is not bad in itself. Tasks on EC2 or external instances pull images
/// with the container instance's role and network (and need the `ecs`,
/// `ecs-agent` and `ecs-telemetry` endpoints in isolated subnets), which these
/// checks do not model; the notice says so instead of passing silently.
///
/// ## How to fix
/// Nothing to fix; check EC2 container instances with
/// `AWSSupport-TroubleshootECSContainerInstance`, or leave the service out of the selection.
pub const RULE: Rule = Rule {
    id: "network/not-fargate",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "A selected service does not run on Fargate, so the Fargate network checks skipped it.",
    why: "Tasks on EC2 or external instances use the instance's network and role, which these checks do not model; the notice says so instead of passing silently.",
    fix: "Nothing to fix; check EC2 container instances separately, or leave the service out of the selection.",
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/launch_types.html",
};

/// The findings of `network/not-fargate`, one per workload not on Fargate.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    s.workloads
        .iter()
        .filter(|w| !w.is_fargate())
        .map(|w| {
            let how = match (&w.launch_type, w.capacity_providers.as_slice()) {
                (Some(t), _) => format!("launch type `{t}`"),
                (None, []) => "no launch type or capacity provider (the cluster's default strategy)".to_string(),
                (None, providers) => format!("capacity provider{} {}", if providers.len() == 1 { "" } else { "s" }, util::code_list(providers)),
            };
            RULE.finding(
                format!("{} does not run on Fargate", w.name),
                format!(
                    "{} uses {how}, so the Fargate network checks do not apply to it: its tasks use the container instance's network and role.",
                    util::sentence(&workload_label(w))
                ),
            )
            .with_resources([facts::workload_resource(s, w)])
            .with_fix(Fix {
                description: RULE.fix.into(),
                ..Fix::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn fargate_and_fargate_spot_are_checked() {
        let mut s = fixture::snapshot();
        assert!(check(&s).is_empty());
        s.workloads[0].launch_type = None;
        s.workloads[0].capacity_providers = vec!["FARGATE_SPOT".into()];
        assert!(check(&s).is_empty());
    }

    #[test]
    fn ec2_services_get_a_notice() {
        let mut s = fixture::snapshot();
        s.workloads[0].launch_type = Some("EC2".into());
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Notice);
        assert!(
            findings[0]
                .message
                .contains("Service `web` (cluster `prod`) uses launch type `EC2`")
        );
        assert_eq!(
            findings[0].resources,
            ["arn:aws:ecs:us-east-1:123456789012:service/prod/web"]
        );
    }
}
