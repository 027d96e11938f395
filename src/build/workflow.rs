//! What a workflow job's build says: its `docker/build-push-action` step, or
//! a `docker buildx build` command in a `run:` block, and whether the job
//! deploys the image to AWS Lambda.
//!
//! The YAML is parsed with `serde_norway`; lines are found in the text by
//! the key they start with, from the step's own first line (the YAML crate
//! keeps no positions). A value holding a `${{ }}` expression is unknown:
//! it is known only when the job runs. Inputs of `docker/build-push-action`:
//! its README (github.com/docker/build-push-action#inputs); list inputs are
//! newline- or comma-separated, `cache-from`/`cache-to`/`build-args`
//! newline-separated.

use serde_norway::Value as Yaml;

use super::facts::{BuildFacts, CacheSpec, Located, Origin, Value};

/// What was read from one job.
#[derive(Debug, Clone, Default)]
pub struct JobBuild {
    /// The job whose build was read (its id); `None` when the job (or,
    /// with no job named, every job) builds nothing.
    pub job: Option<String>,
    /// The build facts the job's build step gives.
    pub facts: BuildFacts,
    /// `file:` of the build step (the Dockerfile it builds), when known.
    pub dockerfile: Option<Value<String>>,
    /// `context:` of the build step, when given.
    pub context: Option<Value<String>>,
}

/// Reads the build of `job` (or of the first job that builds, when `None`)
/// in the workflow `text`, which is `file` for the report's locations.
pub fn read(text: &str, file: &str, job: Option<&str>) -> Result<JobBuild, String> {
    let document: Yaml =
        serde_norway::from_str(text).map_err(|e| format!("{file} is not valid YAML: {e}"))?;
    let jobs = document
        .get("jobs")
        .and_then(Yaml::as_mapping)
        .ok_or_else(|| format!("{file} has no `jobs:`"))?;
    let lines: Vec<&str> = text.lines().collect();
    let chosen = match job {
        Some(id) => {
            let definition = jobs
                .get(id)
                .ok_or_else(|| format!("{file} has no job `{id}`"))?;
            Some((id.to_string(), definition))
        }
        None => jobs.iter().find_map(|(id, definition)| {
            let id = id.as_str()?;
            steps_of(definition)
                .iter()
                .any(is_build_step)
                .then(|| (id.to_string(), definition))
        }),
    };
    let Some((id, definition)) = chosen else {
        return Ok(JobBuild::default());
    };
    let mut out = JobBuild {
        job: Some(id.clone()),
        ..JobBuild::default()
    };
    let job_line = find_line(&lines, 0, &format!("{id}:")).unwrap_or(0);
    let mut cursor = job_line;
    let mut built = false;
    for step in steps_of(definition) {
        let step_line = step_start(&lines, cursor, step);
        cursor = step_line + 1;
        let at = |key: &str| Origin {
            file: Some(file.to_string()),
            line: find_line(&lines, step_line, &format!("{key}:")).map(|l| l + 1),
        };
        let uses = step.get("uses").and_then(Yaml::as_str).unwrap_or("");
        if uses.starts_with("docker/build-push-action@") && !built {
            built = true;
            read_action_step(step, &at, &mut out);
        } else if let Some(run) = step.get("run").and_then(Yaml::as_str) {
            if !built && let Some(args) = buildx_command(run) {
                built = true;
                read_command(&args, &at("run"), &mut out);
            }
            if run.contains("aws lambda") && run.contains("--image-uri") {
                out.facts.lambda_deploy.get_or_insert(at("run"));
            }
        }
        if uses.starts_with("aws-actions/aws-lambda-deploy@") {
            out.facts.lambda_deploy.get_or_insert(at("uses"));
        }
    }
    if built {
        out.facts.sources.push(format!("{file} (job `{id}`)"));
    } else {
        // The job builds nothing: it describes no build.
        out.job = None;
    }
    Ok(out)
}

fn steps_of(job: &Yaml) -> &[Yaml] {
    job.get("steps")
        .and_then(Yaml::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn is_build_step(step: &Yaml) -> bool {
    step.get("uses")
        .and_then(Yaml::as_str)
        .is_some_and(|u| u.starts_with("docker/build-push-action@"))
        || step
            .get("run")
            .and_then(Yaml::as_str)
            .is_some_and(|r| buildx_command(r).is_some())
}

/// The 0-based line where `step` starts, searching from `from`: the line of
/// its first key, written `- key:`.
fn step_start(lines: &[&str], from: usize, step: &Yaml) -> usize {
    let first_key = step
        .as_mapping()
        .and_then(|m| m.keys().next())
        .and_then(Yaml::as_str)
        .unwrap_or("uses");
    (from..lines.len())
        .find(|&i| {
            let t = lines[i].trim_start();
            t.strip_prefix('-')
                .is_some_and(|rest| rest.trim_start().starts_with(&format!("{first_key}:")))
        })
        .unwrap_or(from)
}

/// The first line at or after `from` whose content starts with `prefix`.
fn find_line(lines: &[&str], from: usize, prefix: &str) -> Option<usize> {
    (from..lines.len()).find(|&i| {
        let t = lines[i].trim_start();
        let t = t.strip_prefix("- ").unwrap_or(t);
        t.starts_with(prefix)
    })
}

/// A `with:` value as text (YAML booleans and numbers too).
fn text(with: &Yaml, key: &str) -> Option<String> {
    match with.get(key)? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn expression(s: &str) -> Option<String> {
    s.contains("${{").then(|| {
        format!(
            "`{}` is an expression, known only when the job runs",
            s.trim()
        )
    })
}

fn value(s: &str) -> Value<String> {
    match expression(s) {
        Some(why) => Value::Unknown(why),
        None => Value::Known(s.trim().to_string()),
    }
}

/// A list input: newline- or comma-separated (`comma` false: newline only,
/// as `cache-to` entries contain commas).
fn list(s: &str, comma: bool) -> Vec<String> {
    s.split(|c| c == '\n' || (comma && c == ','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn read_action_step(step: &Yaml, at: &dyn Fn(&str) -> Origin, out: &mut JobBuild) {
    let Some(with) = step.get("with") else { return };
    let facts = &mut out.facts;
    if let Some(p) = text(with, "platforms") {
        facts.platforms = Some(Located {
            value: match expression(&p) {
                Some(why) => Value::Unknown(why),
                None => Value::Known(list(&p, true)),
            },
            origin: at("platforms"),
        });
    }
    if let Some(tags) = text(with, "tags") {
        for tag in list(&tags, true) {
            facts.tags.push(Located {
                value: value(&tag),
                origin: at("tags"),
            });
        }
    }
    if let Some(push) = text(with, "push") {
        facts.push = Some(match expression(&push) {
            Some(why) => Value::Unknown(why),
            None => Value::Known(push.trim() == "true"),
        });
    }
    for (key, target) in [
        ("cache-to", &mut facts.cache_to),
        ("cache-from", &mut facts.cache_from),
    ] {
        if let Some(entries) = text(with, key) {
            for entry in list(&entries, false) {
                target.push(match expression(&entry) {
                    Some(why) => Value::Unknown(why),
                    None => Value::Known(CacheSpec::parse(&entry, at(key))),
                });
            }
        }
    }
    if let Some(p) = text(with, "provenance") {
        facts.provenance = Some(Located {
            value: value(&p),
            origin: at("provenance"),
        });
    }
    if let Some(s) = text(with, "sbom") {
        facts.sbom = Some(Located {
            value: value(&s),
            origin: at("sbom"),
        });
    }
    if let Some(args) = text(with, "build-args") {
        for arg in list(&args, false) {
            if let Some((name, v)) = arg.split_once('=') {
                facts.build_args.insert(name.trim().to_string(), value(v));
            }
        }
    }
    out.dockerfile = text(with, "file").map(|f| value(&f));
    out.context = text(with, "context").map(|c| value(&c));
}

/// The words of the first `docker buildx build` (or `docker build` with
/// `--push`) command of a `run:` block, continuation lines joined.
pub fn buildx_command(run: &str) -> Option<Vec<String>> {
    let joined = run.replace("\\\n", " ");
    joined.lines().find_map(|line| {
        let words = shell_words(line);
        let start = words
            .windows(3)
            .position(|w| w[0] == "docker" && w[1] == "buildx" && (w[2] == "build" || w[2] == "b"));
        match start {
            Some(s) => Some(words[s + 3..].to_vec()),
            None => {
                let s = words
                    .windows(2)
                    .position(|w| w[0] == "docker" && w[1] == "build")?;
                let rest = words[s + 2..].to_vec();
                rest.iter().any(|w| w == "--push").then_some(rest)
            }
        }
    })
}

/// Whitespace-separated words with simple single and double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            (None, c) => current.push(c),
        }
    }
    if any || !current.is_empty() {
        words.push(current);
    }
    words
}

fn located<T>(origin: &Origin, value: T) -> Located<T> {
    Located {
        value,
        origin: origin.clone(),
    }
}

fn read_command(args: &[String], origin: &Origin, out: &mut JobBuild) {
    let shell_value = |v: &str| -> Value<String> {
        match expression(v) {
            Some(why) => Value::Unknown(why),
            None if v.contains('$') => Value::Unknown(format!(
                "`{v}` holds a shell variable, known only when the job runs"
            )),
            None => Value::Known(v.to_string()),
        }
    };
    let facts = &mut out.facts;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--platform"
                | "-t"
                | "--tag"
                | "--cache-to"
                | "--cache-from"
                | "--provenance"
                | "--sbom"
                | "-f"
                | "--file"
                | "--build-arg"
        );
        let v = if takes_value && inline.is_none() {
            i += 1;
            args.get(i).cloned()
        } else {
            inline
        };
        match (flag.as_str(), v) {
            ("--platform", Some(v)) => {
                facts.platforms = Some(located(
                    origin,
                    match shell_value(&v) {
                        Value::Known(v) => Value::Known(list(&v, true)),
                        Value::Unknown(why) => Value::Unknown(why),
                    },
                ));
            }
            ("-t" | "--tag", Some(v)) => facts.tags.push(located(origin, shell_value(&v))),
            ("--push", _) => facts.push = Some(Value::Known(true)),
            ("--cache-to" | "--cache-from", Some(v)) => {
                let entry = match shell_value(&v) {
                    Value::Known(v) => Value::Known(CacheSpec::parse(&v, origin.clone())),
                    Value::Unknown(why) => Value::Unknown(why),
                };
                if flag == "--cache-to" {
                    facts.cache_to.push(entry);
                } else {
                    facts.cache_from.push(entry);
                }
            }
            ("--provenance", Some(v)) => facts.provenance = Some(located(origin, shell_value(&v))),
            ("--sbom", Some(v)) => facts.sbom = Some(located(origin, shell_value(&v))),
            ("-f" | "--file", Some(v)) => out.dockerfile = Some(shell_value(&v)),
            ("--build-arg", Some(v)) => {
                if let Some((name, value)) = v.split_once('=') {
                    facts
                        .build_args
                        .insert(name.to_string(), shell_value(value));
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = r#"
name: release
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: cargo test
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build and push
        uses: docker/build-push-action@v6
        with:
          platforms: linux/amd64,linux/arm64
          push: true
          tags: |
            123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:latest
            ${{ steps.meta.outputs.tags }}
          cache-from: type=registry,ref=123456789012.dkr.ecr.us-east-1.amazonaws.com/team/cache:app
          cache-to: type=registry,ref=123456789012.dkr.ecr.us-east-1.amazonaws.com/team/cache:app,mode=max
          build-args: |
            BASE_TAG=3.20
      - run: aws lambda update-function-code --function-name f --image-uri x
"#;

    #[test]
    fn the_build_push_action_step_is_read_with_lines() {
        let build = read(WORKFLOW, "release.yml", None).unwrap();
        assert_eq!(build.job.as_deref(), Some("build"));
        let f = &build.facts;
        assert_eq!(
            f.platforms.as_ref().unwrap().value,
            Value::Known(vec!["linux/amd64".into(), "linux/arm64".into()])
        );
        assert_eq!(f.tags.len(), 2);
        assert!(matches!(&f.tags[1].value, Value::Unknown(why) if why.contains("steps.meta")));
        assert_eq!(f.push, Some(Value::Known(true)));
        let cache_to = f.cache_to[0].known().unwrap();
        assert_eq!(cache_to.kind, "registry");
        assert_eq!(
            cache_to.attributes.get("mode").map(String::as_str),
            Some("max")
        );
        assert_eq!(cache_to.origin.line, Some(22));
        assert_eq!(f.cache_from[0].known().unwrap().origin.line, Some(21));
        assert_eq!(
            f.build_args.get("BASE_TAG"),
            Some(&Value::Known("3.20".into()))
        );
        assert_eq!(f.lambda_deploy.as_ref().unwrap().line, Some(25));
    }

    #[test]
    fn a_named_job_must_exist() {
        assert!(
            read(WORKFLOW, "release.yml", Some("deploy"))
                .unwrap_err()
                .contains("no job `deploy`")
        );
        assert!(
            read("jobs: [", "x.yml", None)
                .unwrap_err()
                .contains("not valid YAML")
        );
    }

    #[test]
    fn a_buildx_command_in_a_run_block_is_read() {
        let wf = "jobs:\n  b:\n    steps:\n      - run: |\n          docker buildx build --platform linux/amd64,linux/arm64 \\\n            -t 1.dkr.ecr.eu-west-1.amazonaws.com/app:$GITHUB_SHA --tag 1.dkr.ecr.eu-west-1.amazonaws.com/app:latest \\\n            --cache-to type=registry,ref=1.dkr.ecr.eu-west-1.amazonaws.com/app:cache,image-manifest=true,oci-mediatypes=true \\\n            --provenance=false --push .\n";
        let build = read(wf, "b.yml", None).unwrap();
        let f = &build.facts;
        assert_eq!(f.tags.len(), 2);
        assert!(matches!(&f.tags[0].value, Value::Unknown(why) if why.contains("shell variable")));
        assert_eq!(
            f.tags[1].value,
            Value::Known("1.dkr.ecr.eu-west-1.amazonaws.com/app:latest".into())
        );
        assert!(f.cache_to[0].known().unwrap().flag("image-manifest"));
        assert_eq!(
            f.provenance.as_ref().unwrap().value,
            Value::Known("false".into())
        );
        assert_eq!(f.push, Some(Value::Known(true)));
        assert_eq!(f.tags[1].origin.line, Some(4));
    }

    #[test]
    fn a_plain_docker_build_without_push_is_not_the_build() {
        assert!(buildx_command("docker build -t x .").is_none());
        assert!(buildx_command("docker build --push -t x .").is_some());
    }
}
