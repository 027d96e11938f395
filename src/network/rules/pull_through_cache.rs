//! Images behind an ECR pull-through cache, pulled from isolated subnets (reference rule R14).

use std::collections::BTreeMap;

use super::util::code_list;
use crate::network::endpoints::ecr_region;
use crate::network::facts::{isolated_workloads, workload_label, workload_resource};
use crate::network::snapshot::NetworkSnapshot;
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// An isolated task pulls through an ECR pull-through cache.
///
/// ## What it does
/// Flags containers of Fargate tasks in isolated subnets whose image lives in
/// an ECR repository under a pull-through cache prefix of the registry
/// (`ecr:DescribePullThroughCacheRules`).
///
/// ## Why is this bad?
/// The first pull of a tag that is not cached yet makes ECR fetch it from the
/// upstream registry; from an isolated subnet that first pull is the one that
/// fails or hangs, typically on the first deploy after a base-image update.
///
/// ## How to fix
/// Pre-warm the cache (pull every tag once from a network with internet
/// access, or in CI), or give the subnets a NAT gateway.
pub const RULE: Rule = Rule {
    id: "network/pull-through-cache",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A task in an isolated subnet pulls an image through an ECR pull-through cache rule.",
    why: "The first pull of an uncached tag fetches from the upstream registry and fails or hangs from an isolated subnet.",
    fix: "Pre-warm the cache for every tag the task uses (pull once from CI), or route the subnets through a NAT gateway.",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html",
};

/// Findings of [`RULE`], one per cached image.
pub fn check(s: &NetworkSnapshot) -> Vec<Finding> {
    if s.pull_through_cache_prefixes.is_empty() {
        return Vec::new();
    }
    let mut by_image: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
    for iw in isolated_workloads(s) {
        for c in &iw.task.containers {
            if ecr_region(&c.image).as_deref() != Some(s.region.as_str()) {
                continue;
            }
            let repository = c.image.split_once('/').map_or("", |(_, r)| r);
            let Some(prefix) = s
                .pull_through_cache_prefixes
                .iter()
                .find(|p| repository.starts_with(&format!("{p}/")))
            else {
                continue;
            };
            let entry = by_image
                .entry(c.image.clone())
                .or_insert_with(|| (prefix.clone(), Vec::new(), Vec::new()));
            entry.1.push(format!(
                "container `{}` of {}",
                c.name,
                workload_label(iw.workload)
            ));
            entry.2.push(workload_resource(s, iw.workload));
        }
    }
    by_image
        .into_iter()
        .map(|(image, (prefix, who, resources))| {
            RULE.finding(
                format!("{image} comes through the pull-through cache `{prefix}`"),
                format!(
                    "{} pulls `{image}` from an isolated subnet, and its repository is under the pull-through cache prefix `{prefix}`: the first pull of a tag that is not cached yet needs ECR to fetch it upstream, and fails or hangs from here.",
                    who.join(", ")
                ),
            )
            .with_resources(std::iter::once(image.clone()).chain(resources))
            .with_fix(Fix {
                description: format!(
                    "Pull every tag the tasks use once from a network with internet access (CI) so it is cached, or give the subnets a NAT gateway. Cache prefixes: {}.",
                    code_list(&s.pull_through_cache_prefixes)
                ),
                policy_statement: None,
                terraform: Some(format!(
                    "# Pre-warm in CI after each base-image update:\n# docker pull {image}"
                )),
                aws_cli: Some(format!(
                    "aws ecr batch-get-image --repository-name {} --image-ids imageTag={} --region {}",
                    image.split_once('/').map_or("", |(_, r)| r).split(':').next().unwrap_or(""),
                    image.rsplit_once(':').map_or("latest", |(_, t)| t),
                    s.region
                )),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture;

    #[test]
    fn cached_image_from_isolated_subnet_is_flagged() {
        let mut s = fixture::snapshot();
        assert!(check(&s).is_empty(), "no cache rules, nothing to say");
        s.pull_through_cache_prefixes = vec!["docker-hub".into()];
        assert!(
            check(&s).is_empty(),
            "the fixture's image is not under the prefix"
        );
        for t in s.task_definitions.values_mut() {
            t.containers[0].image = format!(
                "{}.dkr.ecr.{}.amazonaws.com/docker-hub/library/nginx:1.27",
                "123456789012", "us-east-1"
            );
        }
        let f = check(&s);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "network/pull-through-cache");
        assert!(f[0].message.contains("docker-hub"));
        fixture::assert_well_formed(&f);
    }
}
