//! The build as understood: what its Dockerfile, its workflow step and the
//! command line say it will read and push. Plain data; the judges in
//! [`super::rules`] and the push and offline flows read it.

use std::collections::BTreeMap;

use serde::Serialize;

/// A value read from the user's files: known, or unknown with the reason
/// (a `${{ }}` expression, a build argument without a value). Unknown
/// values are reported, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "value")]
pub enum Value<T> {
    /// The value, as the build will use it.
    Known(T),
    /// Why it is not known before the job runs.
    Unknown(String),
}

impl<T> Value<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Value::Known(v) => Some(v),
            Value::Unknown(_) => None,
        }
    }
}

/// How the Dockerfile reads an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageVia {
    /// A `FROM` line: a base image.
    From,
    /// `COPY --from=<image>` (or `ADD`): files from another image.
    CopyFrom,
}

/// One image the Dockerfile reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageUse {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The image reference, after substitution.
    pub reference: Value<String>,
    /// `--platform=`, after substitution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Value<String>>,
    /// `FROM` or `COPY --from`.
    pub via: ImageVia,
    /// The stage it starts (`AS name`), lower-cased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// Where a value of the build came from: a file and line, or the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file (as given or relative to the workspace); `None`: the command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Origin {
    /// A value given on the command line.
    pub fn command_line() -> Origin {
        Origin {
            file: None,
            line: None,
        }
    }

    /// As the report's location of a finding.
    pub fn location(&self) -> Option<crate::report::Location> {
        self.file.as_ref().map(|file| crate::report::Location {
            file: Some(file.clone()),
            line: self.line,
            address: None,
        })
    }
}

/// One `cache-to` or `cache-from` entry, in buildx's `key=value,…` syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheSpec {
    /// The entry as written.
    pub raw: String,
    /// `type=` (`registry`, `gha`, `local`, `inline`, `s3`, …); a bare
    /// reference means `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ref=` for the registry type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Every other attribute (`mode`, `image-manifest`, `oci-mediatypes`, …).
    pub attributes: BTreeMap<String, String>,
    /// Where it was written.
    pub origin: Origin,
}

impl CacheSpec {
    /// Parses one buildx cache entry (`type=registry,ref=…,mode=max` or a
    /// bare reference).
    pub fn parse(raw: &str, origin: Origin) -> CacheSpec {
        let raw = raw.trim().to_string();
        let mut attributes = BTreeMap::new();
        let mut kind = None;
        let mut reference = None;
        if !raw.contains('=') {
            return CacheSpec {
                kind: "registry".into(),
                reference: Some(raw.clone()),
                raw,
                attributes,
                origin,
            };
        }
        for part in raw.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_string());
            match key.as_str() {
                "type" => kind = Some(value),
                "ref" => reference = Some(value),
                _ => {
                    attributes.insert(key, value);
                }
            }
        }
        CacheSpec {
            kind: kind.unwrap_or_else(|| "registry".into()),
            reference,
            raw,
            attributes,
            origin,
        }
    }

    /// An attribute set to `true` (buildx accepts `true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        self.attributes
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }
}

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub origin: Origin,
}

/// The build as understood, from every source combined: command-line
/// values override the workflow's, which add to the Dockerfile's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildFacts {
    /// The files read (Dockerfile, workflow with its job).
    pub sources: Vec<String>,
    /// The Dockerfile, as read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// The images the Dockerfile reads.
    pub images: Vec<ImageUse>,
    /// Platforms the build step names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Located<Value<Vec<String>>>>,
    /// Tags (full references) the build pushes.
    pub tags: Vec<Located<Value<String>>>,
    /// `push:` of the build step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<Value<bool>>,
    /// `cache-to` entries.
    pub cache_to: Vec<Value<CacheSpec>>,
    /// `cache-from` entries.
    pub cache_from: Vec<Value<CacheSpec>>,
    /// `provenance` (`false`, `true`, `mode=max`, …), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Located<Value<String>>>,
    /// `sbom`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<Located<Value<String>>>,
    /// Build arguments (`NAME=VALUE`) given to the build.
    pub build_args: BTreeMap<String, Value<String>>,
    /// The job deploys the image to AWS Lambda (a Lambda deploy step or an
    /// `aws lambda … --image-uri` command), with where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_deploy: Option<Origin>,
    /// What could not be read, and why (a value with an expression, a file
    /// that could not be read).
    pub unknowns: Vec<String>,
}

impl BuildFacts {
    /// True when anything describes the build: then reads it does not make
    /// are judged as such.
    pub fn described(&self) -> bool {
        !self.sources.is_empty()
            || !self.tags.is_empty()
            || !self.cache_to.is_empty()
            || !self.cache_from.is_empty()
            || self.provenance.is_some()
            || self.sbom.is_some()
    }

    /// Provenance or SBOM attestations are pushed: buildx's default
    /// (`provenance` unset means `mode=min`), unless both are off.
    pub fn attestations_pushed(&self) -> Option<bool> {
        let on = |v: &Option<Located<Value<String>>>, default: bool| match v {
            None => Some(default),
            Some(Located {
                value: Value::Known(s),
                ..
            }) => Some(!matches!(s.trim(), "false" | "0" | "")),
            Some(Located {
                value: Value::Unknown(_),
                ..
            }) => None,
        };
        match (on(&self.provenance, true), on(&self.sbom, false)) {
            (Some(p), Some(s)) => Some(p || s),
            (Some(true), None) | (None, Some(true)) => Some(true),
            _ => None,
        }
    }
}

/// A repository's tag mutability, as `DescribeRepositories` (or a plan)
/// gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMutability {
    /// `MUTABLE`, `IMMUTABLE`, `IMMUTABLE_WITH_EXCLUSION` or `MUTABLE_WITH_EXCLUSION`.
    pub mode: String,
    /// The `WILDCARD` exclusion filters.
    pub filters: Vec<String>,
}

impl TagMutability {
    /// Whether a tag, once pushed, can be pushed again.
    pub fn is_immutable(&self, tag: &str) -> bool {
        let excluded = self.filters.iter().any(|f| wildcard_match(f, tag));
        match self.mode.as_str() {
            "IMMUTABLE" => true,
            "IMMUTABLE_WITH_EXCLUSION" => !excluded,
            "MUTABLE_WITH_EXCLUSION" => excluded,
            _ => false,
        }
    }
}

/// ECR's `WILDCARD` filter: `*` matches any run of characters.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}
