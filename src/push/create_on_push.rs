//! A push to a repository that does not exist: ECR creates it when a
//! repository creation template with `CREATE_ON_PUSH` covers its name
//! (since December 2025; `field-research-2026.md` §1.10). Pure: the
//! templates in, the finding out.

use super::facts::CreationTemplate;
use crate::aws::repository::Repository;
use crate::report::{Finding, Fix};
use crate::rules;

/// The template that would create `name` on push: the longest prefix `P`
/// with `name` = `P` or under `P/`, else `ROOT` ("a prefix of prod applies
/// to all repositories beginning with prod/", the API reference).
pub fn template_for<'a>(
    name: &str,
    templates: &'a [CreationTemplate],
) -> Option<&'a CreationTemplate> {
    let on_push = || {
        templates
            .iter()
            .filter(|t| t.applied_for.iter().any(|a| a == "CREATE_ON_PUSH"))
    };
    on_push()
        .filter(|t| {
            t.prefix != "ROOT" && (name == t.prefix || name.starts_with(&format!("{}/", t.prefix)))
        })
        .max_by_key(|t| t.prefix.len())
        .or_else(|| on_push().find(|t| t.prefix == "ROOT"))
}

/// The finding for a missing repository a template would create; `None`
/// when no template covers it.
pub fn judge(repository: &Repository, templates: &[CreationTemplate]) -> Option<Finding> {
    let template = template_for(&repository.name, templates)?;
    let settings = [
        template
            .image_tag_mutability
            .as_ref()
            .map(|m| format!("tag mutability `{m}`")),
        template
            .encryption
            .as_ref()
            .map(|e| format!("encryption `{e}`")),
        template
            .has_repository_policy
            .then(|| "a repository policy (the push must be allowed by it too)".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    Some(
        rules::PUSH_CREATE_ON_PUSH
            .finding(
                format!("{} does not exist yet: the first push creates it", repository.name),
                format!(
                    "`{}` does not exist in registry {} ({}), and the creation template with prefix `{}` (`CREATE_ON_PUSH`) covers it: the first push creates it{}, which needs `ecr:CreateRepository` for the pusher. The probe wrote nothing, so the push actions on it are not verified.",
                    repository.name,
                    repository.registry_id,
                    repository.region,
                    template.prefix,
                    if settings.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", settings.join(", "))
                    }
                ),
            )
            .with_iam_action("ecr:CreateRepository")
            .with_resources([repository.arn()])
            .with_fix(Fix {
                description: format!(
                    "Create `{}` before the first push (the preflight then verifies the push), or allow `ecr:CreateRepository` on it for the pusher.",
                    repository.name
                ),
                aws_cli: Some(format!(
                    "aws ecr create-repository --repository-name {} --region {}",
                    repository.name, repository.region
                )),
                ..Fix::default()
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(prefix: &str, applied_for: &[&str]) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            applied_for: applied_for.iter().map(|a| a.to_string()).collect(),
            image_tag_mutability: Some("IMMUTABLE".into()),
            has_repository_policy: true,
            encryption: None,
        }
    }

    #[test]
    fn the_longest_prefix_wins_and_root_is_the_fallback() {
        let templates = [
            template("ROOT", &["CREATE_ON_PUSH"]),
            template("team", &["CREATE_ON_PUSH"]),
            template("team/app", &["PULL_THROUGH_CACHE"]),
            template("te", &["CREATE_ON_PUSH"]),
        ];
        assert_eq!(template_for("team/app", &templates).unwrap().prefix, "team");
        assert_eq!(template_for("tea/x", &templates).unwrap().prefix, "ROOT");
        assert_eq!(template_for("team", &templates).unwrap().prefix, "team");
        assert!(template_for("x", &templates[1..]).is_none());
    }

    #[test]
    fn the_finding_names_create_repository_and_the_template() {
        let repo = Repository {
            name: "team/new".into(),
            registry_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let f = judge(&repo, &[template("team", &["CREATE_ON_PUSH"])]).unwrap();
        assert_eq!(f.iam_action.as_deref(), Some("ecr:CreateRepository"));
        assert!(
            f.message.contains("prefix `team`") && f.message.contains("`IMMUTABLE`"),
            "{}",
            f.message
        );
        assert!(!f.meaning.is_defect());
        assert!(judge(&repo, &[template("ROOT", &["REPLICATION"])]).is_none());
    }
}
