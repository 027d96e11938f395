//! ECR: the registry's pull-through cache rules.

use super::Ctx;

/// The repository prefixes of the registry's pull-through cache rules, read only when a task pulls from this region's ECR.
pub(super) async fn pull_through_cache_prefixes(ctx: &Ctx, uses_ecr: bool) -> Vec<String> {
    if !uses_ecr {
        return Vec::new();
    }
    paginate!(
        ctx,
        ctx.c
            .ecr
            .describe_pull_through_cache_rules()
            .into_paginator()
            .send(),
        "pull-through cache rules of the registry",
        "ecr:DescribePullThroughCacheRules",
        |p| p
            .pull_through_cache_rules()
            .iter()
            .filter_map(|r| r.ecr_repository_prefix().map(str::to_string)),
    )
}
