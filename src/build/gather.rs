//! The build area's only I/O: reading the Dockerfile and the workflow the
//! options name (size-bounded, regular files only), and combining them with
//! the command line's build flags into [`BuildFacts`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dockerfile;
use super::facts::{BuildFacts, CacheSpec, Located, Origin, Value};
use super::workflow;
use crate::error::UsageError;
use crate::files;

/// The most of a Dockerfile or workflow file that is read (real ones are a
/// few KiB), checked before reading.
pub const BUILD_FILE_LIMIT: u64 = files::POLICY_LIMIT;

/// What the command line says about the build.
#[derive(Debug, Clone, Default)]
pub struct BuildInputs {
    /// `--dockerfile`.
    pub dockerfile: Option<PathBuf>,
    /// `--workflow FILE[:JOB]`.
    pub workflow: Option<String>,
    /// `--cache-to` (replaces the workflow's when given).
    pub cache_to: Vec<String>,
    /// `--cache-from` (replaces the workflow's when given).
    pub cache_from: Vec<String>,
    /// `--tags` (replace the workflow's when given).
    pub tags: Vec<String>,
    /// `--provenance`.
    pub provenance: Option<String>,
    /// `--sbom`.
    pub sbom: Option<String>,
    /// `--build-arg NAME=VALUE` (override the workflow's).
    pub build_args: Vec<String>,
}

impl BuildInputs {
    /// True when any build input was given.
    pub fn any(&self) -> bool {
        self.dockerfile.is_some()
            || self.workflow.is_some()
            || !self.cache_to.is_empty()
            || !self.cache_from.is_empty()
            || !self.tags.is_empty()
            || self.provenance.is_some()
            || self.sbom.is_some()
            || !self.build_args.is_empty()
    }

    /// Checks the values that need no file: exit 2 before anything is read.
    pub fn validate(&self) -> Result<(), UsageError> {
        for arg in &self.build_args {
            let valid = arg.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !valid {
                return Err(UsageError(format!(
                    "--build-arg: expected NAME=VALUE, got `{}`",
                    arg
                )));
            }
        }
        if let Some(w) = &self.workflow
            && split_workflow(w).0.as_os_str().is_empty()
        {
            return Err(UsageError("--workflow: expected FILE[:JOB]".into()));
        }
        Ok(())
    }
}

/// `FILE[:JOB]`: the job is what follows the last `:` when the rest names
/// a file path (a job id has no `/` or `.`).
fn split_workflow(value: &str) -> (PathBuf, Option<String>) {
    match value.rsplit_once(':') {
        Some((file, job))
            if !job.is_empty() && !job.contains(['/', '\\', '.']) && !file.is_empty() =>
        {
            (PathBuf::from(file), Some(job.to_string()))
        }
        _ => (PathBuf::from(value), None),
    }
}

/// A file name for the report: relative to the workspace when inside it.
fn display(path: &Path, workspace: Option<&Path>) -> String {
    workspace
        .and_then(|w| path.strip_prefix(w).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Reads what `inputs` name and combines it. A file that was named and
/// cannot be read or parsed is a usage error (exit 2, naming the file).
pub fn gather(inputs: &BuildInputs, workspace: Option<&Path>) -> Result<BuildFacts, UsageError> {
    inputs.validate()?;
    let mut facts = BuildFacts::default();
    let mut step_dockerfile = None;
    if let Some(value) = &inputs.workflow {
        let (path, job) = split_workflow(value);
        let name = display(&path, workspace);
        let text = files::read_text(&path, BUILD_FILE_LIMIT)
            .map_err(|e| UsageError(format!("--workflow: {e}")))?;
        let mut build = workflow::read(&text, &name, job.as_deref())
            .map_err(|e| UsageError(format!("--workflow: {e}")))?;
        if job.is_some() && build.job.is_none() {
            // The preflight often runs in its own job, before the job that
            // builds: the workflow's building job describes the build.
            let other = workflow::read(&text, &name, None)
                .map_err(|e| UsageError(format!("--workflow: {e}")))?;
            if other.job.is_some() {
                build = other;
            }
        }
        // A workflow without a build step (an audit, a deploy) describes
        // no build: it is not a source, and nothing is reported of it.
        if build.job.is_some() {
            step_dockerfile = build.dockerfile.clone().map(|d| (d, build.context.clone()));
            facts = build.facts;
        }
    }
    // Command-line build args override the workflow's.
    for arg in &inputs.build_args {
        if let Some((name, value)) = arg.split_once('=') {
            facts
                .build_args
                .insert(name.to_string(), Value::Known(value.to_string()));
        }
    }
    let dockerfile = match (&inputs.dockerfile, step_dockerfile) {
        (Some(path), _) => Some(path.clone()),
        (None, Some((Value::Known(file), context))) => {
            // `file:` is relative to the workspace (build-push-action reads it
            // from the working directory), not to the context.
            let _ = context;
            Some(workspace.map_or_else(|| PathBuf::from(&file), |w| w.join(&file)))
        }
        (None, Some((Value::Unknown(why), _))) => {
            facts
                .unknowns
                .push(format!("the build step's `file`: {why}"));
            None
        }
        (None, None) => None,
    };
    if let Some(path) = dockerfile {
        let name = display(&path, workspace);
        let text = files::read_text(&path, BUILD_FILE_LIMIT)
            .map_err(|e| UsageError(format!("--dockerfile: {e}")))?;
        let args: BTreeMap<String, String> = facts
            .build_args
            .iter()
            .filter_map(|(k, v)| v.known().map(|v| (k.clone(), v.clone())))
            .collect();
        facts.images = dockerfile::images(&text, &args);
        facts.sources.insert(0, name.clone());
        facts.dockerfile = Some(name);
    }
    override_from_command_line(inputs, &mut facts);
    for image in &facts.images {
        if let Value::Unknown(why) = &image.reference {
            facts.unknowns.push(format!("line {}: {why}", image.line));
        }
    }
    let unknown_values = facts
        .tags
        .iter()
        .filter_map(|t| match &t.value {
            Value::Unknown(why) => Some(format!("a tag: {why}")),
            Value::Known(_) => None,
        })
        .chain(
            facts
                .cache_to
                .iter()
                .chain(&facts.cache_from)
                .filter_map(|c| match c {
                    Value::Unknown(why) => Some(format!("a cache entry: {why}")),
                    Value::Known(_) => None,
                }),
        )
        .collect::<Vec<_>>();
    facts.unknowns.extend(unknown_values);
    Ok(facts)
}

fn override_from_command_line(inputs: &BuildInputs, facts: &mut BuildFacts) {
    let cli = Origin::command_line;
    if !inputs.tags.is_empty() {
        facts.tags = inputs
            .tags
            .iter()
            .map(|t| Located {
                value: Value::Known(t.clone()),
                origin: cli(),
            })
            .collect();
    }
    if !inputs.cache_to.is_empty() {
        facts.cache_to = inputs
            .cache_to
            .iter()
            .map(|c| Value::Known(CacheSpec::parse(c, cli())))
            .collect();
    }
    if !inputs.cache_from.is_empty() {
        facts.cache_from = inputs
            .cache_from
            .iter()
            .map(|c| Value::Known(CacheSpec::parse(c, cli())))
            .collect();
    }
    if let Some(p) = &inputs.provenance {
        facts.provenance = Some(Located {
            value: Value::Known(p.clone()),
            origin: cli(),
        });
    }
    if let Some(s) = &inputs.sbom {
        facts.sbom = Some(Located {
            value: Value::Known(s.clone()),
            origin: cli(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_job_is_split_from_the_file() {
        assert_eq!(
            split_workflow(".github/workflows/ci.yml:build"),
            (
                PathBuf::from(".github/workflows/ci.yml"),
                Some("build".into())
            )
        );
        assert_eq!(split_workflow("ci.yml"), (PathBuf::from("ci.yml"), None));
        assert_eq!(
            split_workflow("C:/w/ci.yml"),
            (PathBuf::from("C:/w/ci.yml"), None)
        );
    }

    #[test]
    fn bad_build_args_are_usage_errors() {
        let inputs = BuildInputs {
            build_args: vec!["=x".into()],
            ..BuildInputs::default()
        };
        assert!(inputs.validate().unwrap_err().0.contains("NAME=VALUE"));
    }

    #[test]
    fn the_command_line_overrides_the_workflow_and_reads_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "ARG BASE=123456789012.dkr.ecr.us-east-1.amazonaws.com/base/python\nFROM $BASE:3.12\n",
        )
        .unwrap();
        let wf = dir.path().join("ci.yml");
        std::fs::write(
            &wf,
            "jobs:\n  build:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          file: Dockerfile\n          tags: a:1\n          build-args: BASE=other/base\n",
        )
        .unwrap();
        let inputs = BuildInputs {
            workflow: Some(format!("{}:build", wf.display())),
            tags: vec!["b:2".into()],
            build_args: vec!["BASE=123456789012.dkr.ecr.us-east-1.amazonaws.com/base/py".into()],
            ..BuildInputs::default()
        };
        let facts = gather(&inputs, Some(dir.path())).unwrap();
        assert_eq!(facts.sources, ["Dockerfile", "ci.yml (job `build`)"]);
        assert_eq!(facts.tags.len(), 1);
        assert_eq!(facts.tags[0].value, Value::Known("b:2".into()));
        assert_eq!(
            facts.images[0].reference,
            Value::Known("123456789012.dkr.ecr.us-east-1.amazonaws.com/base/py:3.12".into())
        );
        assert!(facts.described());
    }

    #[test]
    fn a_missing_named_file_is_a_usage_error() {
        let inputs = BuildInputs {
            dockerfile: Some(PathBuf::from("/nonexistent/Dockerfile")),
            ..BuildInputs::default()
        };
        assert!(
            gather(&inputs, None)
                .unwrap_err()
                .0
                .contains("--dockerfile")
        );
    }
}
