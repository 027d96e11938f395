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

/// The most items a message lists; the rest are counted ("and 990 more"),
/// so a message stays the same size however many resources share a problem
/// (the finding's `resources` name up to [`crate::report::MAX_RESOURCES`]).
pub(crate) const MAX_LISTED: usize = 10;

/// "a, b and c"; past [`MAX_LISTED`] items, "a, b, … j and 990 more".
pub(crate) fn and_list(items: &[String]) -> String {
    if items.len() > MAX_LISTED {
        return format!(
            "{} and {} more",
            items[..MAX_LISTED].join(", "),
            items.len() - MAX_LISTED
        );
    }
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

/// A set of names that keeps the first [`crate::report::MAX_RESOURCES`] in
/// order and only counts the rest (deduplicated by hash), so a rule
/// grouping 100,000 services holds 100 names, not 100,000.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    listed: BTreeSet<String>,
    more: std::collections::HashSet<u64>,
}

impl Names {
    fn hash(name: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(name)
    }

    /// Adds `name`, keeping the smallest names listed.
    pub(crate) fn insert(&mut self, name: String) {
        if self.listed.contains(&name) {
            return;
        }
        if self.listed.len() < crate::report::MAX_RESOURCES {
            self.listed.insert(name);
            return;
        }
        match self.listed.last() {
            Some(last) if name < *last => {
                if let Some(evicted) = self.listed.pop_last() {
                    self.more.insert(Self::hash(&evicted));
                }
                self.listed.insert(name);
            }
            _ => {
                self.more.insert(Self::hash(&name));
            }
        }
    }

    /// How many names, listed or counted.
    pub(crate) fn len(&self) -> usize {
        self.listed.len() + self.more.len()
    }

    /// The listed names, in order.
    pub(crate) fn listed(&self) -> impl Iterator<Item = &String> {
        self.listed.iter()
    }

    /// "a, b and c", "a, …, j and 990 more" counting the unlisted too.
    pub(crate) fn sentence_list(&self) -> String {
        let listed: Vec<String> = self.listed.iter().take(MAX_LISTED).cloned().collect();
        match self.len() - listed.len() {
            0 => and_list(&listed),
            more => format!("{} and {more} more", listed.join(", ")),
        }
    }
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
        "kinesis-firehose" => format!("firehose.{region}.amazonaws.com"),
        "kinesis-streams" => format!("kinesis.{region}.amazonaws.com"),
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
    fn sentences() {
        assert_eq!(sentence("service `web`"), "Service `web`");
    }

    #[test]
    fn long_lists_name_ten_and_count_the_rest() {
        let items: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        assert_eq!(and_list(&items[..3]), "0, 1 and 2");
        assert_eq!(and_list(&items[..10]), "0, 1, 2, 3, 4, 5, 6, 7, 8 and 9");
        assert_eq!(and_list(&items), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 15 more");
    }

    #[test]
    fn terraform_names_are_identifiers() {
        assert_eq!(tf_name("ecr.api"), "ecr_api");
        assert_eq!(tf_name("sg-0A1"), "sg_0a1");
        assert_eq!(tf_name("10.0.0.0/16"), "_10_0_0_0_16");
    }
}
