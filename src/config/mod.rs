//! The configuration file, `.ecr-fargate-preflight.toml`: the options of
//! `check` and `audit` by their flag names, and the suppressions
//! (`[[ignore]]`), kept in the repository so local runs and CI agree.
//!
//! The file holds no option declaration of its own: its entries become
//! command-line arguments placed before the typed ones, parsed by the same
//! clap declaration ([`crate::cli`]), so a value is checked once, the same
//! way, wherever it comes from. An option given on the command line (or as
//! an action input) is left out of what the file adds: flags and inputs
//! override the file.
//!
//! ```toml
//! fail-on = "warning"          # any option of check and audit
//! [check]                      # options for one command only
//! repository = "team/app"
//! [[ignore]]
//! rule = "network/public-ip"
//! resource = "cluster:*:*:batch"
//! reason = "the batch cluster runs in public subnets on purpose"
//! expires = 2026-12-31
//! ```

pub mod rules;
pub mod suppress;

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::cli::Cli;
use crate::error::UsageError;
pub use suppress::Ignore;

/// The file's name, looked for in the working directory, then in
/// `GITHUB_WORKSPACE`.
pub const FILE_NAME: &str = ".ecr-fargate-preflight.toml";

/// The largest configuration file read.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The commands the file configures.
pub const COMMANDS: &[&str] = &["check", "audit"];

/// The file as read: where it was, and its suppressions.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The file read.
    pub path: PathBuf,
    /// Its `[[ignore]]` entries, in file order.
    pub ignores: Vec<Ignore>,
}

/// A command line with the file's options added.
#[derive(Debug)]
pub struct Applied {
    /// The arguments to parse: the program, the subcommand, the file's
    /// options, then the typed ones.
    pub argv: Vec<String>,
    /// The file, when one was read.
    pub config: Option<Loaded>,
}

/// Adds the configuration file's options to `argv` (`[program, command,
/// args…]`). `get` looks up an environment variable (`GITHUB_WORKSPACE`).
///
/// `from_inputs`: the arguments come from the action's inputs, which the
/// runner fills with their defaults; an input equal to its flag's default
/// then yields to the file (it cannot be told from an input not set).
///
/// A command line that is not `check` or `audit`, or that clap cannot read,
/// is returned as it is: the real parse reports its error.
pub fn apply(
    argv: Vec<String>,
    get: &dyn Fn(&str) -> Option<String>,
    from_inputs: bool,
) -> Result<Applied, UsageError> {
    let Some(command) = argv.get(1).filter(|c| COMMANDS.contains(&c.as_str())) else {
        return Ok(Applied { argv, config: None });
    };
    let command = command.clone();
    let root = Cli::command().ignore_errors(true);
    let Ok(matches) = root.try_get_matches_from(&argv) else {
        return Ok(Applied { argv, config: None });
    };
    let Some((_, given)) = matches.subcommand() else {
        return Ok(Applied { argv, config: None });
    };
    let explicit = given
        .try_get_one::<PathBuf>("config")
        .ok()
        .flatten()
        .cloned();
    let Some(path) = locate(explicit.as_deref(), get)? else {
        return Ok(Applied { argv, config: None });
    };
    let text = crate::files::read_text(&path, MAX_BYTES)
        .map_err(|e| UsageError(format!("configuration file: {}", e.reason())))?;
    let file = parse(&path, &text)?;

    let cli = Cli::command();
    let sub = cli
        .find_subcommand(&command)
        .expect("every name in COMMANDS is a subcommand");
    let mut added = Vec::new();
    let mut yielded = Vec::new();
    for (key, entry) in file.options_for(&command) {
        let arg = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .expect("options_for keeps only flags of the command");
        let id = arg.get_id().as_str();
        if given.value_source(id) == Some(ValueSource::CommandLine) {
            let raw: Vec<String> = given
                .get_raw(id)
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let default: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            if !(from_inputs && raw.join(",") == default.join(",")) {
                continue;
            }
            yielded.push(key.clone());
        }
        added.extend(arguments(&path, &key, &entry, arg.get_action())?);
    }
    let mut out = vec![argv[0].clone(), command];
    out.extend(added);
    out.extend(argv.into_iter().skip(2).filter(|a| {
        !yielded
            .iter()
            .any(|k| *a == format!("--{k}") || a.starts_with(&format!("--{k}=")))
    }));
    Ok(Applied {
        argv: out,
        config: Some(Loaded {
            path,
            ignores: file.ignores,
        }),
    })
}

/// The file to read: `--config`'s (which must exist), else [`FILE_NAME`] in
/// the working directory, else in `GITHUB_WORKSPACE`.
fn locate(
    explicit: Option<&Path>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, UsageError> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(UsageError(format!(
                "--config: {} is not a file",
                path.display()
            )));
        }
        return Ok(Some(path.to_path_buf()));
    }
    let candidates = [
        Some(PathBuf::from(FILE_NAME)),
        get("GITHUB_WORKSPACE")
            .filter(|w| !w.is_empty())
            .map(|w| Path::new(&w).join(FILE_NAME)),
    ];
    Ok(candidates.into_iter().flatten().find(|p| p.is_file()))
}

/// One option of the file: its value and the line it is on.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value, as TOML.
    pub value: Value,
    /// 1-based line of the key.
    pub line: usize,
}

/// The values an option may have in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, integer, float or date, as its text.
    Scalar(String),
    /// A boolean.
    Bool(bool),
    /// An array of scalars.
    List(Vec<String>),
}

/// The file's content, checked against the commands' flags.
#[derive(Debug, Default)]
pub struct File {
    /// Top-level options: for every command that has the flag.
    pub shared: Vec<(String, Entry)>,
    /// `[check]` / `[audit]` options: `(command, key, entry)`.
    pub scoped: Vec<(String, String, Entry)>,
    /// The suppressions.
    pub ignores: Vec<Ignore>,
}

impl File {
    /// The options for `command`: the shared ones it has, then its own
    /// (which win over a shared one of the same name).
    pub fn options_for(&self, command: &str) -> Vec<(String, Entry)> {
        let flags = flags_of(command);
        let mut out: Vec<(String, Entry)> = self
            .shared
            .iter()
            .filter(|(k, _)| flags.contains(k))
            .cloned()
            .collect();
        for (c, k, e) in &self.scoped {
            if c == command {
                out.retain(|(key, _)| key != k);
                out.push((k.clone(), e.clone()));
            }
        }
        out
    }
}

/// The long flags of a command that the file may set.
fn flags_of(command: &str) -> Vec<String> {
    let cli = Cli::command();
    cli.find_subcommand(command)
        .map(|sub| {
            sub.get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|l| !matches!(*l, "help" | "config"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The 1-based line of byte offset `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(1, |t| t.matches('\n').count() + 1)
}

/// Parses the file's text: every key must be an option of `check` or
/// `audit` (top level), of its command (`[check]`, `[audit]`), or `ignore`.
pub fn parse(path: &Path, text: &str) -> Result<File, UsageError> {
    let at = |line: usize| format!("{}:{line}", path.display());
    let table = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        UsageError(format!(
            "{}: not valid TOML: {}",
            at(line),
            e.message().trim()
        ))
    })?;
    let all: Vec<String> = COMMANDS.iter().flat_map(|c| flags_of(c)).collect();
    let mut file = File::default();
    for (key, value) in table.get_ref() {
        let line = line_of(text, key.span().start);
        let name = key.get_ref().as_ref();
        match (name, value.get_ref()) {
            ("ignore", DeValue::Array(entries)) => {
                for entry in entries.iter() {
                    let line = line_of(text, entry.span().start);
                    let DeValue::Table(t) = entry.get_ref() else {
                        return Err(UsageError(format!(
                            "{}: `ignore` entries are tables (`[[ignore]]`)",
                            at(line)
                        )));
                    };
                    file.ignores
                        .push(suppress::Ignore::parse(t, line, text, &at)?);
                }
            }
            ("ignore", _) => {
                return Err(UsageError(format!(
                    "{}: `ignore` is a list of tables: write `[[ignore]]`",
                    at(line)
                )));
            }
            (command, DeValue::Table(t)) if COMMANDS.contains(&command) => {
                let flags = flags_of(command);
                for (k, v) in t.iter() {
                    let key_line = line_of(text, k.span().start);
                    let k = k.get_ref().as_ref();
                    if !flags.iter().any(|f| f == k) {
                        return Err(unknown(&at(key_line), &format!("{command}.{k}")));
                    }
                    let entry = entry(v, key_line, &at, k)?;
                    file.scoped
                        .push((command.to_string(), k.to_string(), entry));
                }
            }
            (name, _) if all.iter().any(|f| f == name) => {
                file.shared
                    .push((name.to_string(), entry(value, line, &at, name)?));
            }
            (name, _) => return Err(unknown(&at(line), name)),
        }
    }
    Ok(file)
}

fn unknown(at: &str, key: &str) -> UsageError {
    UsageError(format!(
        "{at}: unknown key `{key}` (the file takes the long flag names of `check` and `audit`, `[check]`, `[audit]` and `[[ignore]]`)"
    ))
}

/// One option's value.
fn entry(
    value: &Spanned<DeValue<'_>>,
    line: usize,
    at: &dyn Fn(usize) -> String,
    key: &str,
) -> Result<Entry, UsageError> {
    let value = match value.get_ref() {
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Array(items) => Value::List(
            items
                .iter()
                .map(|v| {
                    scalar(v.get_ref()).ok_or_else(|| {
                        UsageError(format!(
                            "{}: `{key}`: a list holds strings or numbers",
                            at(line)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        other => Value::Scalar(scalar(other).ok_or_else(|| {
            UsageError(format!("{}: `{key}`: a table is no option value", at(line)))
        })?),
    };
    Ok(Entry { value, line })
}

/// A string, number or date as text.
fn scalar(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.to_string()),
        DeValue::Float(f) => Some(f.to_string()),
        DeValue::Datetime(d) => Some(d.to_string()),
        DeValue::Boolean(_) | DeValue::Array(_) | DeValue::Table(_) => None,
    }
}

/// The command-line arguments one option of the file amounts to.
fn arguments(
    path: &Path,
    key: &str,
    entry: &Entry,
    action: &ArgAction,
) -> Result<Vec<String>, UsageError> {
    let wrong = |want: &str| {
        UsageError(format!(
            "{}:{}: `{key}` takes {want}",
            path.display(),
            entry.line
        ))
    };
    let one = |v: &str| -> Result<String, UsageError> {
        crate::validate::plain_text(v)
            .map_err(|e| UsageError(format!("{}:{}: `{key}`: {e}", path.display(), entry.line)))?;
        Ok(format!("--{key}={v}"))
    };
    match (action, &entry.value) {
        (ArgAction::SetTrue | ArgAction::Count, Value::Bool(true)) => Ok(vec![format!("--{key}")]),
        (ArgAction::SetTrue | ArgAction::Count, Value::Bool(false)) => Ok(Vec::new()),
        (ArgAction::SetTrue | ArgAction::Count, _) => Err(wrong("true or false")),
        (ArgAction::Append, Value::List(items)) => items.iter().map(|v| one(v)).collect(),
        (ArgAction::Append, Value::Scalar(v)) => Ok(vec![one(v)?]),
        (_, Value::Scalar(v)) => Ok(vec![one(v)?]),
        (ArgAction::Append, Value::Bool(_)) => Err(wrong("a string or a list of strings")),
        (_, _) => Err(wrong("one value")),
    }
}

#[cfg(test)]
mod tests;
