//! The fake runner: the real binary run end to end the way GitHub's runner
//! runs a container action — no arguments, `GITHUB_ACTIONS=true`, every input
//! of `action.yml` as `INPUT_<NAME>` with hyphens kept and its default
//! applied, temporary `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` files, a real
//! `pull_request` payload at `GITHUB_EVENT_PATH`, the workspace as the
//! working directory — and [`emulate`], which reads a step's output the way
//! the runner does: which lines are workflow commands, what is masked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Gate;
use super::binary::Binary;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// action.yml's inputs and their defaults, as the runner reads them.
pub fn action_defaults() -> BTreeMap<String, Option<String>> {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    doc["inputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let default = v.get("default").map(|d| match d {
                serde_norway::Value::String(s) => s.clone(),
                other => serde_norway::to_string(other).unwrap().trim().to_string(),
            });
            (k.as_str().unwrap().to_string(), default)
        })
        .collect()
}

/// One step run by the fake runner.
pub struct Step {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub workspace: tempfile::TempDir,
}

impl Step {
    pub fn lines(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    pub fn report(&self) -> serde_json::Value {
        let path = self.workspace.path().join(&self.outputs["report"]);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        super::schema::assert_valid(&report);
        report
    }

    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains("panicked"), "panic: {text}");
        }
    }
}

/// Reads a `GITHUB_OUTPUT` file: `name=value` and `name<<DELIM … DELIM`.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// Runs the binary as the runner would, with these inputs (hyphenated
/// names, as in `with:`) over action.yml's defaults, and `env` on top.
pub fn run_step(
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
    event: &str,
    setup: impl FnOnce(&Path),
) -> Step {
    let workspace = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    setup(workspace.path());
    let output = files.path().join("output");
    let summary = files.path().join("summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();

    let mut cmd = Binary::new().runner(
        workspace.path(),
        files.path(),
        &root().join("tests/fixtures/github").join(event),
    );
    let given: BTreeMap<&str, &str> = inputs.iter().copied().collect();
    for (name, default) in action_defaults() {
        let value = match given.get(name.as_str()) {
            Some(v) => v.to_string(),
            None => match default {
                // `${{ github.token }}`: the runner fills in the job's token.
                Some(d) if d.contains("${{") => "ghs_fakeRunnerToken0000000000000000000".into(),
                Some(d) => d,
                None => String::new(),
            },
        };
        cmd = cmd.env(format!("INPUT_{}", name.to_ascii_uppercase()), value);
    }
    for name in given.keys() {
        assert!(
            action_defaults().contains_key(*name),
            "`{name}` is not an input of action.yml"
        );
    }
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    Step {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_outputs(&std::fs::read_to_string(&output).unwrap()),
        summary: std::fs::read_to_string(&summary).unwrap(),
        workspace,
    }
}

pub fn aws_env(gate: &Gate) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", gate.url.clone()),
    ]
}

pub fn with_aws<'a>(gate_env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    gate_env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// One workflow command, as the runner parsed it from a line of output.
#[derive(Debug, Clone)]
pub struct ParsedCommand {
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    /// The command's name (`error`, `add-mask`, …; for a resume, the token).
    pub name: String,
    /// Its properties, unescaped.
    pub properties: BTreeMap<String, String>,
    /// Its data, unescaped.
    pub data: String,
    /// The line it came from.
    pub line: String,
}

/// What the runner made of a step's output.
#[derive(Debug, Default)]
pub struct Emulation {
    /// Every line the runner took for a command, in order.
    pub commands: Vec<ParsedCommand>,
    /// The log as a reader sees it: every other line, with the values
    /// masked so far replaced by `***`.
    pub log: Vec<String>,
    /// The values masked, in order.
    pub masks: Vec<String>,
}

/// The runner's unescaping of command data (`%0D`, `%0A`, `%25`) and, for
/// properties, also `%3A` and `%2C`.
fn unescape(text: &str, property: bool) -> String {
    let mut t = text.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        t = t.replace("%3A", ":").replace("%2C", ",");
    }
    t.replace("%25", "%")
}

/// Parses a line the way the runner does: after leading whitespace
/// `::name k=v,k=v::data` (the closing `::` required), or the legacy
/// `##[name k=v;k=v]data` anywhere in the line. Stricter than the runner:
/// every name counts, registered or not.
fn parse_command(line: &str, stream: &'static str) -> Option<ParsedCommand> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("::")
        && let Some(end) = rest.find("::")
    {
        let info = &rest[..end];
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        let properties = props
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), unescape(v, true)))
            .collect();
        return Some(ParsedCommand {
            stream,
            name: name.to_string(),
            properties,
            data: unescape(&rest[end + 2..], false),
            line: line.to_string(),
        });
    }
    let at = line.find("##[")?;
    let rest = &line[at + 3..];
    let end = rest.find(']')?;
    let info = &rest[..end];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    Some(ParsedCommand {
        stream,
        name: name.to_string(),
        properties: props
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .collect(),
        data: rest[end + 1..].to_string(),
        line: line.to_string(),
    })
}

/// Reads a step's stdout and stderr as the runner does: lines split on CR,
/// LF and CRLF; a command stops being one inside a `::stop-commands::`
/// block until its token; `::add-mask::` masks later lines. stderr is read
/// on its own, with no block open (its order against stdout is unknown).
pub fn emulate(stdout: &str, stderr: &str) -> Emulation {
    let mut e = Emulation::default();
    for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
        let mut stopped: Option<String> = None;
        for line in text.split("\r\n").flat_map(|l| l.split(['\r', '\n'])) {
            let command = parse_command(line, stream);
            if let Some(token) = &stopped {
                if command
                    .as_ref()
                    .is_some_and(|c| c.name.eq_ignore_ascii_case(token))
                {
                    e.commands.push(command.expect("checked"));
                    stopped = None;
                } else {
                    e.log.push(mask(line, &e.masks));
                }
                continue;
            }
            match command {
                Some(c) => {
                    if c.name == "add-mask" {
                        e.masks.push(c.data.clone());
                    } else if c.name == "stop-commands" {
                        stopped = Some(c.data.clone());
                    } else {
                        e.log.push(mask(line, &e.masks));
                    }
                    e.commands.push(c);
                }
                None => e.log.push(mask(line, &e.masks)),
            }
        }
    }
    e
}

fn mask(line: &str, masks: &[String]) -> String {
    let mut line = line.to_string();
    for m in masks.iter().filter(|m| !m.is_empty()) {
        line = line.replace(m.as_str(), "***");
    }
    line
}

impl Emulation {
    /// Asserts that every command is one the tool issues itself, on stdout:
    /// masks, groups, titled annotations, and stop-commands blocks with a
    /// random 32-hex-digit token that is resumed.
    pub fn assert_only_own_commands(&self, context: &str) {
        let mut tokens = Vec::new();
        for c in &self.commands {
            assert_eq!(c.stream, "stdout", "a command on stderr: {c:?}\n{context}");
            match c.name.as_str() {
                "add-mask" | "group" | "endgroup" => {}
                "error" | "warning" | "notice" => assert!(
                    c.properties.contains_key("title"),
                    "an annotation without the tool's title: {c:?}\n{context}"
                ),
                "stop-commands" => {
                    assert!(
                        c.data.len() == 32 && c.data.chars().all(|ch| ch.is_ascii_hexdigit()),
                        "a stop token not of ours: {c:?}\n{context}"
                    );
                    tokens.push(c.data.clone());
                }
                other if tokens.iter().any(|t| t == other) => {}
                _ => panic!("a command the tool does not issue: {c:?}\n{context}"),
            }
        }
    }

    /// Asserts that no secret is shown in the log (after masking).
    pub fn assert_no_secret_shown(&self, secrets: &[&str], context: &str) {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            for line in &self.log {
                assert!(
                    !line.contains(secret),
                    "a secret is shown: {line:?}\n{context}"
                );
            }
        }
    }
}
