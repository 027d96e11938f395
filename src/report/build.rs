//! What the report shows of the build as understood: the files read, the
//! images the build reads, its tags, cache and attestations, and what is
//! known only when the job runs.

use serde::{Deserialize, Serialize};

use crate::build::facts::{BuildFacts, Located, Value};

/// The build as the checks understood it (the `build` section of the JSON
/// report; present when anything describes the build).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildSummary {
    /// The files read: the Dockerfile, the workflow and its job.
    pub sources: Vec<String>,
    /// The images the Dockerfile reads (`FROM`, `COPY --from`), as
    /// `reference (line N)`; an unknown one as `? (line N)`.
    pub images: Vec<String>,
    /// The tags pushed; `?` for one known only when the job runs.
    pub tags: Vec<String>,
    /// The platforms the build step names, when it names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<String>,
    /// `cache-to` entries.
    pub cache_to: Vec<String>,
    /// `cache-from` entries.
    pub cache_from: Vec<String>,
    /// Whether attestations are pushed (`true`, `false`, or absent: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestations: Option<bool>,
    /// What is known only when the job runs, and why.
    pub unknowns: Vec<String>,
}

fn shown<T: ToString>(v: &Value<T>) -> String {
    match v {
        Value::Known(v) => v.to_string(),
        Value::Unknown(_) => "?".into(),
    }
}

impl BuildSummary {
    /// The summary of `facts`; `None` when nothing describes the build.
    pub fn of(facts: &BuildFacts) -> Option<BuildSummary> {
        facts.described().then(|| BuildSummary {
            sources: facts.sources.clone(),
            images: facts
                .images
                .iter()
                .map(|i| format!("{} (line {})", shown(&i.reference), i.line))
                .collect(),
            tags: facts.tags.iter().map(|t| shown(&t.value)).collect(),
            platforms: facts
                .platforms
                .as_ref()
                .map(|Located { value, .. }| match value {
                    Value::Known(p) => p.join(","),
                    Value::Unknown(_) => "?".into(),
                }),
            cache_to: facts
                .cache_to
                .iter()
                .map(|c| match c {
                    Value::Known(c) => c.raw.clone(),
                    Value::Unknown(_) => "?".into(),
                })
                .collect(),
            cache_from: facts
                .cache_from
                .iter()
                .map(|c| match c {
                    Value::Known(c) => c.raw.clone(),
                    Value::Unknown(_) => "?".into(),
                })
                .collect(),
            attestations: facts.attestations_pushed(),
            unknowns: facts.unknowns.clone(),
        })
    }

    /// The build in one line, for the text report, the summary and the comment.
    pub fn line(&self) -> String {
        let mut parts = vec![if self.sources.is_empty() {
            "from the command line".to_string()
        } else {
            format!("read from {}", self.sources.join(", "))
        }];
        if !self.images.is_empty() {
            parts.push(format!("reads {}", self.images.join(", ")));
        }
        if !self.tags.is_empty() {
            parts.push(format!("tags {}", self.tags.join(", ")));
        }
        if !self.cache_to.is_empty() {
            parts.push(format!("cache-to {}", self.cache_to.join("; ")));
        }
        if !self.cache_from.is_empty() {
            parts.push(format!("cache-from {}", self.cache_from.join("; ")));
        }
        parts.push(
            match self.attestations {
                Some(true) => "attestations pushed",
                Some(false) => "no attestations",
                None => "attestations unknown",
            }
            .to_string(),
        );
        parts.join(" · ")
    }
}
