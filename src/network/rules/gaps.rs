//! What discovery could not read, so what was not checked.

use serde_json::json;

use super::util;
use crate::network::snapshot::NetworkSnapshot;
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// Part of the network could not be read, so the rules that need it were skipped.
///
/// ## What it does
/// Reports every read that failed during discovery (usually `AccessDenied`):
/// what could not be read, the API call, the error, and the IAM permission
/// that would allow it.
///
/// ## Why is this bad?
/// The rules skip what they cannot see rather than guess, so a clean report
/// with this warning is not a clean bill of health: the unread part may hold
/// the problem.
///
/// ## How to fix
/// Grant the checking role the read permission named in the finding (all are
/// read-only `Describe*`/`Get*` actions), and run the check again.
pub const RULE: Rule = Rule {
    id: "network/not-checked",
    severity: Severity::Warning,
    meaning: Meaning::NotVerified,
    what: "Part of the network could not be read during discovery (usually access denied, or a listing cut short because its pages looped or went past the page limit), so the rules that need it were skipped.",
    why: "A report without errors is incomplete while something was not checked; the unread part may hold the problem.",
    fix: "Grant the checking role the read-only permission named in the finding, and run the check again.",
    docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html",
};

/// The findings of `network/not-checked`, one per gap.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    s.gaps
        .iter()
        .map(|gap| {
            if gap.truncated {
                return RULE
                    .finding(
                        format!("Not checked: all of {}", gap.what),
                        format!(
                            "Read only part of {}: `{}` {}. Checks that need the rest were skipped, so a problem there would go unreported.",
                            gap.what, gap.call, gap.error
                        ),
                    )
                    .with_resources([gap.what.clone()])
                    .with_fix(Fix {
                        description: "A listing that loops or never ends comes from an endpoint that is not AWS's (a proxy, an emulator) or a fault on AWS's side: check `AWS_ENDPOINT_URL*` and run again.".into(),
                        ..Fix::default()
                    });
            }
            let message = format!(
                "Could not read {}: `{}` failed ({}). Checks that need it were skipped, so a problem there would go unreported. `{}` would allow it.",
                gap.what, gap.call, gap.error, gap.permission
            );
            let statement = json!({
                "Sid": format!("Allow{}", gap.permission.split(':').nth(1).unwrap_or("Read").replace('*', "")),
                "Effect": "Allow",
                "Action": [gap.permission],
                "Resource": "*",
            });
            let document = json!({"Version": "2012-10-17", "Statement": [statement]});
            RULE.finding(format!("Not checked: {}", gap.what), message)
                .with_resources([gap.what.clone()])
                .with_iam_action(&gap.permission)
                .with_fix(Fix {
                    description: format!(
                        "Allow `{}` (read-only) for the role that runs the check, then run it again.",
                        gap.permission
                    ),
                    terraform: Some(format!(
                        "data \"aws_iam_policy_document\" \"preflight_read\" {{\n  statement {{\n    actions   = [\"{}\"]\n    resources = [\"*\"]\n  }}\n}}\n\nresource \"aws_iam_role_policy\" \"preflight_read\" {{\n  role   = \"<checking-role-name>\"\n  policy = data.aws_iam_policy_document.preflight_read.json\n}}",
                        gap.permission
                    )),
                    aws_cli: Some(format!(
                        "aws iam put-role-policy --role-name <checking-role-name> --policy-name ecr-fargate-preflight-{} --policy-document '{}'",
                        util::tf_name(&gap.permission).replace('_', "-"),
                        document
                    )),
                    policy_statement: Some(statement),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn a_truncated_listing_is_not_checked_and_asks_for_no_permission() {
        let mut s = fixture::snapshot();
        let mut gap = fixture::gap(
            "subnets of vpc-1",
            "ec2:DescribeSubnets",
            "ec2:DescribeSubnets",
        );
        gap.truncated = true;
        gap.error = crate::limits::Cut::Loop.to_string();
        s.gaps.push(gap);
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.rule, "network/not-checked");
        assert!(
            f.message.contains("Read only part of subnets of vpc-1"),
            "{}",
            f.message
        );
        assert!(f.message.contains("repeated"), "{}", f.message);
        assert_eq!(f.iam_action, None);
    }

    #[test]
    fn no_gaps_no_findings() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn each_gap_names_the_permission() {
        let mut s = fixture::snapshot();
        s.gaps.push(fixture::gap(
            "security group rules of sg-task",
            "ec2:DescribeSecurityGroupRules",
            "ec2:DescribeSecurityGroupRules",
        ));
        s.gaps.push(fixture::gap(
            "network ACLs of vpc-1",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeNetworkAcls",
        ));
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 2);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.iam_action.as_deref(),
            Some("ec2:DescribeSecurityGroupRules")
        );
        assert!(
            f.message
                .contains("Could not read security group rules of sg-task")
        );
        assert!(
            f.message
                .contains("`ec2:DescribeSecurityGroupRules` would allow it")
        );
        let fix = f.fix.as_ref().unwrap();
        assert_eq!(
            fix.policy_statement.as_ref().unwrap()["Sid"],
            "AllowDescribeSecurityGroupRules"
        );
        assert!(
            fix.aws_cli
                .as_ref()
                .unwrap()
                .contains("--policy-name ecr-fargate-preflight-ec2-describesecuritygrouprules")
        );
    }
}
