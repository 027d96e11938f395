//! Judging the read-only audit of a repository (`audit` without
//! `--push-probe`): pure functions from what ECR and IAM answered to
//! findings. The calls are in [`super::ecr`] and `policy::live`; the
//! sequence in [`super::run::evaluate_read_only`].

use std::collections::BTreeMap;

use super::denial::DenialReason;
use super::diagnose::fix_for;
use crate::aws::repository::Repository;
use crate::report::Finding;
use crate::rules::{
    AUDIT_PREFIX_EMPTY, AUDIT_PUSH_NOT_EVALUATED, AUDIT_TARGET_FAILED, PUSH_ACCESS_DENIED,
    PUSH_REPOSITORY_NOT_FOUND,
};

/// `ecr:GetRepositoryPolicy` answered `RepositoryNotFoundException`.
pub fn repository_not_found(repository: &Repository) -> Finding {
    PUSH_REPOSITORY_NOT_FOUND
        .finding(
            format!("Repository {} does not exist", repository.name),
            format!(
                "`ecr:GetRepositoryPolicy` answered RepositoryNotFoundException: there is no repository `{}` in registry {} ({}). A push never creates it.",
                repository.name, repository.registry_id, repository.region
            ),
        )
        .with_resources([repository.arn()])
}

/// `--repository-prefix` matched no repository of the caller's registry.
pub fn prefix_empty(prefix: &str, account: &str, region: &str) -> Finding {
    AUDIT_PREFIX_EMPTY
        .finding(
            format!("No repository starts with `{prefix}`"),
            format!(
                "`ecr:DescribeRepositories` in registry {account} ({region}) lists no repository whose name starts with `{prefix}`."
            ),
        )
        .with_resources([prefix.to_string()])
}

/// The repository listing was cut short (its next token repeated, or it
/// went past [`crate::limits::MAX_PAGES`]): the repositories it did not
/// reach were not audited.
pub fn listing_cut(prefix: &str, cut: &crate::limits::Cut) -> Finding {
    AUDIT_TARGET_FAILED
        .finding(
            format!("Repositories starting with `{prefix}` were listed only in part"),
            format!("`ecr:DescribeRepositories`: {cut}. The repositories listed before that were audited; any after it were not."),
        )
        .with_iam_action("ecr:DescribeRepositories")
        .with_resources([prefix.to_string()])
}

/// The repositories matching `--repository-prefix` could not be listed.
pub fn prefix_not_listed(prefix: &str, error: &str) -> Finding {
    AUDIT_TARGET_FAILED
        .finding(
            format!("Repositories starting with `{prefix}` could not be listed"),
            format!("`ecr:DescribeRepositories` failed, so the repositories matching the prefix were not audited: {error}"),
        )
        .with_iam_action("ecr:DescribeRepositories")
        .with_resources([prefix.to_string()])
}

/// Actions IAM's simulation does not allow and the evaluation did not flag.
pub fn simulated_denials(
    decisions: &BTreeMap<String, String>,
    flagged: &[Finding],
    repository: &Repository,
    principal: &str,
) -> Vec<Finding> {
    decisions
        .iter()
        .filter(|(_, decision)| decision.as_str() != "allowed")
        .filter(|(action, _)| {
            !flagged
                .iter()
                .any(|f| f.iam_action.as_deref() == Some(action.as_str()))
        })
        .map(|(action, decision)| {
            let resource = if action == "ecr:GetAuthorizationToken" {
                "*".to_string()
            } else {
                repository.arn()
            };
            let reason = if decision == "explicitDeny" {
                DenialReason::ExplicitDeny
            } else {
                DenialReason::NoIdentityPolicy
            };
            PUSH_ACCESS_DENIED
                .finding(
                    format!("{action} is not allowed on {}", repository.name),
                    format!(
                        "`iam:SimulatePrincipalPolicy` for `{principal}` answers `{decision}` for `{action}` on `{resource}`: buildx's push needs it."
                    ),
                )
                .with_iam_action(action.clone())
                .with_resources([resource.clone()])
                .with_fix(fix_for(action, &resource, reason, Some(principal)))
        })
        .collect()
}

/// The audit could not judge everything a push needs: `gaps` says what not.
pub fn not_evaluated(repository: &Repository, gaps: &[String]) -> Finding {
    AUDIT_PUSH_NOT_EVALUATED
        .finding(
            format!("Push permissions of {} only partly evaluated", repository.name),
            format!(
                "The read-only audit could not judge everything a push to `{}` needs: {}. Run with `--push-probe` for the live answer.",
                repository.name,
                gaps.join("; ")
            ),
        )
        .with_resources([repository.arn()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_denials_add_only_what_the_evaluation_missed() {
        let repository = Repository {
            name: "team/app".into(),
            registry_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let decisions = BTreeMap::from([
            ("ecr:PutImage".to_string(), "implicitDeny".to_string()),
            (
                "ecr:UploadLayerPart".to_string(),
                "explicitDeny".to_string(),
            ),
            (
                "ecr:GetAuthorizationToken".to_string(),
                "implicitDeny".to_string(),
            ),
            ("ecr:InitiateLayerUpload".to_string(), "allowed".to_string()),
        ]);
        let flagged = vec![
            PUSH_ACCESS_DENIED
                .finding("x", "y")
                .with_iam_action("ecr:PutImage"),
        ];
        let role = "arn:aws:iam::123456789012:role/audit";
        let found = simulated_denials(&decisions, &flagged, &repository, role);
        let actions: Vec<_> = found
            .iter()
            .map(|f| f.iam_action.clone().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["ecr:GetAuthorizationToken", "ecr:UploadLayerPart"]
        );
        assert_eq!(found[0].resources, ["*"]);
        assert_eq!(found[1].resources, [repository.arn()]);
        assert!(found[1].message.contains("explicitDeny"));
        assert!(found[1].fix.is_some());
    }
}
