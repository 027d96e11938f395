//! What the network rules share: how findings put things into words, and the
//! pieces of Terraform and AWS CLI the fixes reuse. What the snapshot says
//! (which workloads and subnets a rule looks at, how they are named) is in
//! [`crate::network::facts`].

use std::collections::BTreeSet;

use crate::network::snapshot::Subnet;

/// "`a`, `b` and `c`".
pub(crate) fn code_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = items
        .into_iter()
        .map(|i| format!("`{}`", i.as_ref()))
        .collect();
    and_list(&items)
}

/// "a, b and c".
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The text with its first letter in upper case, to start a sentence with a label.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The items without repeats, in their first order.
pub(crate) fn unique(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

/// "a, b and c" over workload labels.
pub(crate) fn labels(set: &BTreeSet<String>) -> String {
    and_list(&set.iter().cloned().collect::<Vec<_>>())
}

/// `"a", "b"` for a Terraform list.
pub(crate) fn tf_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|i| format!("\"{}\"", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Terraform resource name from an id or a service name (`ecr.api` → `ecr_api`).
pub(crate) fn tf_name(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// One subnet per Availability Zone (an Interface endpoint takes at most one per zone).
pub(crate) fn one_subnet_per_zone<'a, I>(subnets: I) -> Vec<&'a Subnet>
where
    I: IntoIterator<Item = &'a Subnet>,
{
    let mut seen = BTreeSet::new();
    subnets
        .into_iter()
        .filter(|s| seen.insert(s.availability_zone.clone()))
        .collect()
}

/// What a task prints when it cannot reach the endpoint service, as users see it.
pub(crate) fn symptom(service: &str) -> Option<&'static str> {
    Some(match service {
        "ecr.api" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: The task cannot pull registry auth from Amazon ECR: There is a connection issue between the task and Amazon ECR. … dial tcp …:443: i/o timeout`"
        }
        "ecr.dkr" => {
            "`CannotPullContainerError: The task cannot pull … from the registry … There is a connection issue between the task and the registry. … i/o timeout`"
        }
        "s3" => {
            "`CannotPullContainerError: … failed to copy: httpReadSeeker: failed open: … dial tcp 52.219.x.x:443: i/o timeout` (the layer download from S3)"
        }
        "logs" => {
            "`ResourceInitializationError: failed to validate logger args: … There is a connection issue between the task and Amazon CloudWatch. … signal: killed`"
        }
        "secretsmanager" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secret from asm: There is a connection issue between the task and AWS Secrets Manager. … context deadline exceeded`"
        }
        "ssm" => {
            "`ResourceInitializationError: unable to pull secrets or registry auth: … unable to retrieve secrets from ssm: … There is a connection issue between the task and AWS Systems Manager Parameter Store …`"
        }
        "ssmmessages" => {
            "`aws ecs execute-command` failing to open a session (the task itself starts)"
        }
        _ => return None,
    })
}

/// The name a service is called by, which the endpoint's private DNS answers.
pub(crate) fn service_host(service: &str, region: &str) -> String {
    match service {
        "ecr.api" => format!("api.ecr.{region}.amazonaws.com"),
        "ecr.dkr" => format!("<account>.dkr.ecr.{region}.amazonaws.com"),
        other => format!("{other}.{region}.amazonaws.com"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_like_prose() {
        assert_eq!(code_list(["a"]), "`a`");
        assert_eq!(code_list(["a", "b", "c"]), "`a`, `b` and `c`");
        assert_eq!(tf_list(["a", "b"]), "\"a\", \"b\"");
    }

    #[test]
    fn sentences_and_unique_items() {
        assert_eq!(sentence("service `web`"), "Service `web`");
        assert_eq!(unique(vec!["b".into(), "a".into(), "b".into()]), ["b", "a"]);
    }

    #[test]
    fn terraform_names_are_identifiers() {
        assert_eq!(tf_name("ecr.api"), "ecr_api");
        assert_eq!(tf_name("sg-0A1"), "sg_0a1");
        assert_eq!(tf_name("10.0.0.0/16"), "_10_0_0_0_16");
    }
}
