//! Judging the build as understood: pure functions from [`BuildFacts`] (and
//! the target repository's settings) to what the build reads and pushes in
//! ECR, and to findings. Sources for each rule: `field-research-2026.md`
//! §1.3 (immutable tags), §1.4 (cache export), §1.5 (attestations and
//! Lambda), §3.5 (blob mounting), and BuildKit's pusher (a layer whose
//! source is another repository of the same registry is mounted).

use oci_spec::distribution::Reference;

use super::facts::{BuildFacts, CacheSpec, Origin, TagMutability, Value};
use crate::aws::repository::{Repository, parse_host};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// Every rule of the build area, in the README's order.
pub const RULES: &[Rule] = &[
    CACHE_EXPORT_FORMAT,
    TAG_IMMUTABLE,
    ATTESTATIONS_LAMBDA,
    READ_NOT_NEEDED,
    VALUE_UNKNOWN,
    BLOB_MOUNTING_DISABLED,
    OTHER_REGISTRY,
];

/// `cache-to` to ECR without the image-manifest form.
pub const CACHE_EXPORT_FORMAT: Rule = Rule {
    id: "build/cache-export-format",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A registry cache exported to ECR (`cache-to: type=registry`) uses the image-manifest form",
    why: "ECR rejects BuildKit's default cache index (`400 Bad Request`, `Unsupported manifest type`, `Image index child manifest not supported`): the export fails after the whole build",
    fix: "Add `image-manifest=true,oci-mediatypes=true` to the `cache-to` entry (BuildKit 0.12 / buildx 0.11.2 or later)",
    docs: "https://docs.docker.com/build/cache/backends/registry/",
};

/// A fixed tag the repository will refuse the second time.
pub const TAG_IMMUTABLE: Rule = Rule {
    id: "build/tag-immutable",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "The build's fixed tags can be pushed again to the repository (its tag mutability and exclusion filters)",
    why: "An immutable tag such as `latest` is pushed once; the next run fails with `ImageTagAlreadyExistsException` (even for an identical image)",
    fix: "Push a unique tag per run (the commit SHA), or add an exclusion filter for the moving tag (`IMMUTABLE_WITH_EXCLUSION`)",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
};

/// An image index with attestations deployed to Lambda.
pub const ATTESTATIONS_LAMBDA: Rule = Rule {
    id: "build/attestations-lambda",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "An image the job deploys to AWS Lambda is pushed without provenance/SBOM attestations",
    why: "With attestations buildx pushes an image index with `unknown/unknown` children, which Lambda rejects (`image manifest, config or layer media type … is not supported`)",
    fix: "Set `provenance: false` and `sbom: false` on the build step that pushes the Lambda image",
    docs: "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
};

/// A denied read that this build does not make.
pub const READ_NOT_NEEDED: Rule = Rule {
    id: "build/read-not-needed",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "A read action denied on the target repository is one the described build does not make",
    why: "The push itself succeeds; pulls by this role (a cache import from the repository, a build `FROM` it, a deploy with the same role) would fail",
    fix: "Grant the read only if this role also pulls; otherwise nothing to do",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html",
};

/// A build value known only when the job runs.
pub const VALUE_UNKNOWN: Rule = Rule {
    id: "build/value-unknown",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "Values of the build that hold an expression or a variable without a value are reported, never guessed",
    why: "What a `${{ }}` expression or an unset build argument becomes is known only when the job runs; the checks that depend on it were not made for it",
    fix: "Give the value literally (or with `--tags`, `--cache-to`, `--build-arg`) to have it checked",
    docs: "https://docs.github.com/en/actions/learn-github-actions/expressions",
};

/// Blob mounting is off in the registry.
pub const BLOB_MOUNTING_DISABLED: Rule = Rule {
    id: "build/blob-mounting-disabled",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "The registry's `BLOB_MOUNTING` setting, when the build has base images in the same registry",
    why: "With mounting off (the default) ECR answers a mount with an upload, and BuildKit uploads the base layers again: slower, but not a failure",
    fix: "`aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED` (same registry and identical encryption only)",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/blob-mounting.html",
};

/// An ECR repository of another registry (account or region) the build uses.
pub const OTHER_REGISTRY: Rule = Rule {
    id: "build/other-registry",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "Base images and caches in another ECR registry (another account or region) are listed with what the build needs there",
    why: "The build logs in to that registry separately (its own `GetAuthorizationToken`; `amazon-ecr-login` needs it in `registries:`), and another account's repository must grant this role in its repository policy: the probe does not replay them",
    fix: "Add the registry to the login step, and a repository policy statement in that account allowing `ecr:BatchGetImage` and `ecr:GetDownloadUrlForLayer` to this role",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html",
};

/// Why the build reads or writes an ECR repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A base image (`FROM`) or `COPY --from` image.
    Base {
        /// The reference as written after substitution.
        reference: String,
        /// Where.
        origin: Origin,
    },
    /// A registry cache export (`cache-to`).
    CacheExport {
        /// The cache reference.
        reference: String,
        /// Where.
        origin: Origin,
    },
    /// A registry cache import (`cache-from`).
    CacheImport {
        /// The cache reference.
        reference: String,
        /// Where.
        origin: Origin,
    },
}

impl Part {
    /// How a finding names this part of the build.
    pub fn describe(&self) -> String {
        let at = |o: &Origin| match (&o.file, o.line) {
            (Some(f), Some(l)) => format!(" ({f}:{l})"),
            (Some(f), None) => format!(" ({f})"),
            _ => " (command line)".to_string(),
        };
        match self {
            Part::Base { reference, origin } => format!("base image `{reference}`{}", at(origin)),
            Part::CacheExport { reference, origin } => {
                format!("cache export to `{reference}`{}", at(origin))
            }
            Part::CacheImport { reference, origin } => {
                format!("cache import from `{reference}`{}", at(origin))
            }
        }
    }
}

/// An ECR repository the build reads or writes besides pushing the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrUse {
    /// The repository.
    pub repository: Repository,
    /// The tag or digest used, when named.
    pub reference: Option<String>,
    /// Why the build uses it.
    pub part: Part,
}

impl EcrUse {
    /// Same registry (account and region) as `target`: base layers are
    /// then mounted, not uploaded.
    pub fn same_registry(&self, target: &Repository) -> bool {
        self.repository.registry_id == target.registry_id && self.repository.region == target.region
    }
}

/// The ECR repository an image reference names, when it is in ECR.
pub fn ecr_repository(reference: &str) -> Option<(Repository, Option<String>)> {
    let parsed = Reference::try_from(reference).ok()?;
    let (registry_id, region) = parse_host(parsed.registry())?;
    let tag = parsed.digest().or(parsed.tag()).map(str::to_string);
    Some((
        Repository {
            name: parsed.repository().to_string(),
            registry_id,
            region,
        },
        tag,
    ))
}

/// Every ECR repository the build reads or writes, besides the pushed tags.
pub fn ecr_uses(facts: &BuildFacts) -> Vec<EcrUse> {
    let mut uses = Vec::new();
    for image in &facts.images {
        let Value::Known(reference) = &image.reference else {
            continue;
        };
        if let Some((repository, tag)) = ecr_repository(reference) {
            uses.push(EcrUse {
                repository,
                reference: tag,
                part: Part::Base {
                    reference: reference.clone(),
                    origin: Origin {
                        file: facts.dockerfile.clone(),
                        line: Some(image.line),
                    },
                },
            });
        }
    }
    let caches = |entries: &[Value<CacheSpec>], export: bool, uses: &mut Vec<EcrUse>| {
        for spec in entries.iter().filter_map(Value::known) {
            let Some(reference) = spec
                .reference
                .as_deref()
                .filter(|_| spec.kind == "registry")
            else {
                continue;
            };
            if let Some((repository, tag)) = ecr_repository(reference) {
                let (reference, origin) = (reference.to_string(), spec.origin.clone());
                uses.push(EcrUse {
                    repository,
                    reference: tag,
                    part: if export {
                        Part::CacheExport { reference, origin }
                    } else {
                        Part::CacheImport { reference, origin }
                    },
                });
            }
        }
    };
    caches(&facts.cache_to, true, &mut uses);
    caches(&facts.cache_from, false, &mut uses);
    uses
}

/// Whether the build itself reads layers of `target`: a base image or a
/// cache import from it (a cache export to it reads nothing).
pub fn reads_target(facts: &BuildFacts, target: &Repository) -> Vec<Part> {
    ecr_uses(facts)
        .into_iter()
        .filter(|u| {
            u.repository.name == target.name
                && u.same_registry(target)
                && !matches!(u.part, Part::CacheExport { .. })
        })
        .map(|u| u.part)
        .collect()
}

/// The static findings: the cache export's form, Lambda and attestations,
/// values not known before the job runs.
pub fn static_findings(facts: &BuildFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for spec in facts.cache_to.iter().filter_map(Value::known) {
        let to_ecr = spec.kind == "registry"
            && spec
                .reference
                .as_deref()
                .is_some_and(|r| ecr_repository(r).is_some());
        if !to_ecr || (spec.flag("image-manifest") && spec.flag("oci-mediatypes")) {
            continue;
        }
        let missing: Vec<&str> = ["image-manifest", "oci-mediatypes"]
            .into_iter()
            .filter(|a| !spec.flag(a))
            .collect();
        let mut fixed = spec.raw.clone();
        for attribute in &missing {
            fixed = fixed
                .split(',')
                .filter(|p| {
                    !p.trim()
                        .to_ascii_lowercase()
                        .starts_with(&format!("{attribute}="))
                })
                .collect::<Vec<_>>()
                .join(",");
            fixed.push_str(&format!(",{attribute}=true"));
        }
        findings.push(
            CACHE_EXPORT_FORMAT
                .finding(
                    "Cache export to ECR without image-manifest=true",
                    format!(
                        "`cache-to: {}` exports BuildKit's cache to ECR as an image index, which ECR rejects after the whole build has run. It needs {}.",
                        spec.raw,
                        missing.iter().map(|a| format!("`{a}=true`")).collect::<Vec<_>>().join(" and ")
                    ),
                )
                .with_resources(spec.reference.iter().filter_map(|r| ecr_repository(r)).map(|(r, _)| r.arn()))
                .with_location(spec.origin.location())
                .with_fix(Fix {
                    description: format!("cache-to: {fixed}"),
                    ..Fix::default()
                }),
        );
    }
    if let Some(origin) = &facts.lambda_deploy
        && facts.attestations_pushed() == Some(true)
    {
        findings.push(
            ATTESTATIONS_LAMBDA
                .finding(
                    "The Lambda image is pushed as an index with attestations",
                    "The job deploys the image to AWS Lambda, and its build pushes provenance attestations (buildx's default: `provenance` is not `false`). Lambda rejects the resulting image index.".to_string(),
                )
                .with_location(origin.location())
                .with_fix(Fix {
                    description: "provenance: false\nsbom: false".into(),
                    ..Fix::default()
                }),
        );
    }
    if !facts.unknowns.is_empty() {
        findings.push(VALUE_UNKNOWN.finding(
            "Parts of the build are known only when the job runs",
            format!(
                "Not checked, because not known before the job runs: {}.",
                facts.unknowns.join("; ")
            ),
        ));
    }
    findings
}

/// The build's literal tags on `target` that its tag mutability lets be
/// pushed only once.
pub fn immutable_tags(
    facts: &BuildFacts,
    target: &Repository,
    mutability: &TagMutability,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for tag in &facts.tags {
        let Value::Known(reference) = &tag.value else {
            continue;
        };
        let Some((repository, Some(name))) = ecr_repository(reference) else {
            continue;
        };
        if repository.name != target.name
            || name.starts_with("sha256:")
            || !mutability.is_immutable(&name)
        {
            continue;
        }
        let filters = if mutability.filters.is_empty() {
            String::new()
        } else {
            format!(
                " (exclusion filters: {})",
                mutability
                    .filters
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        findings.push(
            TAG_IMMUTABLE
                .finding(
                    format!("Tag {name} can be pushed only once"),
                    format!(
                        "The build pushes the fixed tag `{name}` to {}, whose tag mutability is `{}`{filters}: the first run pushes it, every later run fails with `ImageTagAlreadyExistsException`.",
                        target.name, mutability.mode
                    ),
                )
                .with_resources([target.arn()])
                .with_location(tag.origin.location())
                .with_fix(Fix {
                    description: format!(
                        "Tag each run uniquely (`{}:${{{{ github.sha }}}}`), or exclude the moving tag: aws ecr put-image-tag-mutability --repository-name {} --image-tag-mutability IMMUTABLE_WITH_EXCLUSION --image-tag-mutability-exclusion-filters filterType=WILDCARD,filter={name}",
                        reference.rsplit_once(':').map_or(reference.as_str(), |(r, _)| r),
                        target.name
                    ),
                    ..Fix::default()
                }),
        );
    }
    findings
}

/// Re-judges the push findings for the described build: a denied layer
/// read on the target that the build does not make becomes
/// [`READ_NOT_NEEDED`] (a warning naming who would need it), and every
/// denial on a repository the build uses says which part of the build
/// needs it.
pub fn attribute(findings: &mut [Finding], facts: &BuildFacts, target: &Repository) {
    let uses = ecr_uses(facts);
    let target_reads = reads_target(facts, target);
    for finding in findings.iter_mut() {
        let Some(action) = finding.iam_action.clone() else {
            continue;
        };
        if finding.severity < Severity::Warning || !finding.meaning.is_defect() {
            continue;
        }
        let on = |r: &Repository| finding.resources.iter().any(|res| *res == r.arn());
        let parts: Vec<String> = uses
            .iter()
            .filter(|u| on(&u.repository) && u.repository.name != target.name)
            .map(|u| u.part.describe())
            .collect();
        if !parts.is_empty() && parts.iter().all(|p| finding.message.contains(p.as_str())) {
            continue; // the offline flow already named the part
        }
        if !parts.is_empty() {
            finding.message.push_str(&format!(
                " This build needs it for its {}.",
                parts.join(", ")
            ));
            continue;
        }
        let is_layer_read = action == "ecr:GetDownloadUrlForLayer";
        if is_layer_read && on(target) && facts.described() {
            if target_reads.is_empty() {
                let rule = READ_NOT_NEEDED;
                finding.rule = rule.id.to_string();
                finding.severity = rule.severity;
                finding.docs = rule.docs.to_string();
                finding.title = format!(
                    "{action} denied on {}: not needed by this build",
                    target.name
                );
                finding.message.push_str(&format!(
                    " This build does not read layers of {}: no base image and no cache import comes from it, so the push succeeds. Who would need it: pulls with this role (a cache import from {0}, a build `FROM` it, a deploy that pulls with the same role).",
                    target.name
                ));
            } else {
                let parts: Vec<String> = target_reads.iter().map(Part::describe).collect();
                finding.message.push_str(&format!(
                    " This build needs it for its {}.",
                    parts.join(", ")
                ));
            }
        }
    }
}

/// One notice per other ECR registry the build uses (another account or
/// region than the target's): not replayed, and what the build needs there.
pub fn other_registries(facts: &BuildFacts, target: &Repository) -> Vec<Finding> {
    let mut by_registry: std::collections::BTreeMap<(String, String), Vec<EcrUse>> =
        std::collections::BTreeMap::new();
    for u in ecr_uses(facts)
        .into_iter()
        .filter(|u| !u.same_registry(target))
    {
        by_registry
            .entry((
                u.repository.registry_id.clone(),
                u.repository.region.clone(),
            ))
            .or_default()
            .push(u);
    }
    by_registry
        .into_iter()
        .map(|((account, region), uses)| {
            let cross_account = account != target.registry_id;
            let parts: Vec<String> = uses.iter().map(|u| u.part.describe()).collect();
            OTHER_REGISTRY
                .finding(
                    format!("The build uses the ECR registry {account} ({region})"),
                    format!(
                        "The build's {} {} in registry {account} ({region}), not the target's: it logs in there separately (`GetAuthorizationToken` for that registry; `amazon-ecr-login` with `registries: {account}`){}. The probe does not replay requests to another registry.",
                        parts.join(", "),
                        if uses.len() == 1 { "is" } else { "are" },
                        if cross_account {
                            ", and the repositories there must allow this role in their repository policies (cross-account access needs both the identity policy and the repository policy)"
                        } else {
                            ""
                        }
                    ),
                )
                .with_resources(uses.iter().map(|u| u.repository.arn()))
        })
        .collect()
}

/// A notice when the build has base images in the target's registry and
/// the registry's `BLOB_MOUNTING` setting is off.
pub fn blob_mounting(
    facts: &BuildFacts,
    target: &Repository,
    enabled: Option<bool>,
) -> Option<Finding> {
    let bases: Vec<String> = ecr_uses(facts)
        .into_iter()
        .filter(|u| {
            matches!(u.part, Part::Base { .. })
                && u.same_registry(target)
                && u.repository.name != target.name
        })
        .map(|u| u.repository.name)
        .collect();
    if bases.is_empty() || enabled != Some(false) {
        return None;
    }
    Some(
        BLOB_MOUNTING_DISABLED
            .finding(
                "Blob mounting is off: base layers are uploaded again",
                format!(
                    "The base images in {} are in the same registry as {}, but the registry's `BLOB_MOUNTING` setting is `DISABLED` (the default): ECR answers BuildKit's mount with an upload, and every base layer is uploaded again.",
                    bases.join(", "),
                    target.name
                ),
            )
            .with_fix(Fix {
                description: "aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED".into(),
                ..Fix::default()
            }),
    )
}

#[cfg(test)]
mod tests;
