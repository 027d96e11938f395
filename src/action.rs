//! Running as the GitHub Action: the inputs (`INPUT_<NAME>`) become the same
//! command line a user would type, so every option has one definition — the
//! clap declaration in [`crate::cli`] — and the action cannot drift from it.
//!
//! The runner passes each input of `action.yml` as `INPUT_` + the name
//! upper-cased, **hyphens kept** (`role-to-assume` → `INPUT_ROLE-TO-ASSUME`),
//! applies the defaults and does not enforce `required`. An input's name is
//! its CLI flag's long name, except the few in [`RENAMED`] (named like
//! configure-aws-credentials where the two overlap, or plural where the
//! value is a list); [`ACTION_ONLY`] are read here and have no flag.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, FromArgMatches};
use secrecy::SecretString;

use crate::cli::Cli;
use crate::error::UsageError;
use crate::github::comment::{CommentMode, discriminator};

/// Inputs whose name is not their flag's long name: `(input, flag)`.
pub const RENAMED: &[(&str, &str)] = &[
    ("aws-region", "region"),
    ("services", "service"),
    ("policy-files", "policy"),
    ("scp-files", "scp"),
    ("sarif-file", "sarif"),
    ("reports", "inputs"),
    ("build-args", "build-arg"),
];

/// Inputs the action itself reads; they have no command-line flag.
pub const ACTION_ONLY: &[&str] = &[
    "command",
    "mode",
    "report-file",
    "comment",
    "comment-key",
    "github-token",
];

/// The subcommands the `command` input may name.
pub const COMMANDS: &[&str] = &["check", "audit", "merge"];

/// Flags that only matter for the push check; dropped when `mode: network`.
const PUSH_ONLY: &[&str] = &[
    "repository",
    "platforms",
    "registry-endpoint",
    "mount-from",
    "attestations",
    "dockerfile",
    "workflow",
    "cache-to",
    "cache-from",
    "tags",
    "provenance",
    "sbom",
    "build-arg",
    "dry-run",
    "read-tag",
    "no-cleanup",
    "policy",
    "repository-policy",
    "boundary",
    "scp",
    "principal",
];

/// Flags that only matter for the network check; dropped when `mode: push`.
const NETWORK_ONLY: &[&str] = &[
    "cluster",
    "service",
    "task-definition",
    "subnets",
    "security-groups",
    "assign-public-ip",
    "save-snapshot",
    "snapshot",
];

/// The default of the `report-file` input.
pub const DEFAULT_REPORT_FILE: &str = "ecr-fargate-preflight-report.json";

/// What the action was asked to do.
#[derive(Debug)]
pub struct ActionRun {
    /// The command line the inputs amount to, parsed by the same clap
    /// declaration as a typed one.
    pub cli: Cli,
    /// The same command line as text, for the log (it never holds a secret:
    /// the token is not an option).
    pub argv: Vec<String>,
    /// Where the JSON report goes (`report-file`).
    pub report_file: PathBuf,
    /// The `comment` input.
    pub comment: CommentMode,
    /// A key that tells this step's comment apart from other steps' and
    /// matrix jobs': the `comment-key` input plus the target inputs.
    pub comment_key: String,
    /// The `github-token` input (already masked), when given.
    pub github_token: Option<SecretString>,
    /// The configuration file read (`config` input, or
    /// `.ecr-fargate-preflight.toml` in the workspace), with its suppressions.
    pub config: Option<crate::config::Loaded>,
}

/// The environment variable names an input may arrive in: the runner's
/// (`INPUT_ROLE-TO-ASSUME`), then the underscore form shells can set
/// (`INPUT_ROLE_TO_ASSUME`).
pub fn env_names(input: &str) -> [String; 2] {
    let upper = input.to_ascii_uppercase().replace(' ', "_");
    [
        format!("INPUT_{upper}"),
        format!("INPUT_{}", upper.replace('-', "_")),
    ]
}

/// The input name of a flag.
pub fn input_name(flag: &str) -> &str {
    RENAMED
        .iter()
        .find(|(_, f)| *f == flag)
        .map_or(flag, |(input, _)| input)
}

/// Reads an input through `get` (an environment lookup); empty means unset,
/// as the runner sets inputs without a default to the empty string.
fn read(get: &dyn Fn(&str) -> Option<String>, input: &str) -> Option<String> {
    env_names(input)
        .iter()
        .find_map(|name| get(name))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads an input that holds one value: a line break or any other control
/// character in it is refused before the value is used or echoed (inputs
/// are often filled from text others control, such as branch names).
fn read_one(
    get: &dyn Fn(&str) -> Option<String>,
    input: &str,
) -> Result<Option<String>, UsageError> {
    let value = read(get, input);
    if let Some(v) = &value {
        crate::validate::plain_text(v).map_err(|e| UsageError(format!("input `{input}`: {e}")))?;
    }
    Ok(value)
}

/// Checks each value of a list input (one per line or comma-separated)
/// for control characters.
fn check_list(input: &str, value: &str) -> Result<(), UsageError> {
    for v in values(input, value) {
        crate::validate::plain_text(v).map_err(|e| UsageError(format!("input `{input}`: {e}")))?;
    }
    Ok(())
}

/// Parses a boolean input as the toolkit's `getBooleanInput` does (YAML 1.2
/// core schema).
fn boolean(input: &str, value: &str) -> Result<bool, UsageError> {
    match value {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        _ => Err(UsageError(format!(
            "input `{input}`: `{value}` is not a boolean (use true or false)"
        ))),
    }
}

/// Splits a list input: one value per line or comma-separated.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(['\n', ','])
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Inputs whose values hold commas themselves (buildx's `key=value,…`
/// cache syntax, build arguments): one value per line only.
const LINE_LISTS: &[&str] = &["cache-to", "cache-from", "build-args"];

/// Splits a list input as [`list`], or by lines only for [`LINE_LISTS`].
fn values<'a>(input: &str, value: &'a str) -> Vec<&'a str> {
    if LINE_LISTS.contains(&input) {
        value
            .split('\n')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        list(value).collect()
    }
}

/// The build the action describes by default, when the inputs name none:
/// the running workflow and job (the workspace's `Dockerfile` is the
/// default of `check` itself under GitHub Actions, after the workflow's
/// build step: see `build::gather`).
fn build_defaults(get: &dyn Fn(&str) -> Option<String>, given: &[String]) -> Vec<String> {
    let var = |name: &str| get(name).filter(|v| !v.is_empty());
    let mut argv = Vec::new();
    let Some(workspace) = var("GITHUB_WORKSPACE").map(PathBuf::from) else {
        return argv;
    };
    if !given.iter().any(|g| g == "workflow")
        && let (Some(repository), Some(workflow_ref), Some(job)) = (
            var("GITHUB_REPOSITORY"),
            var("GITHUB_WORKFLOW_REF"),
            var("GITHUB_JOB"),
        )
        && let Some(path) =
            crate::trust::gather::workflow_path(&workspace, &repository, &workflow_ref)
        && path.is_file()
    {
        // The job's own id when the file has it (a called reusable
        // workflow's job is not in the caller's file): else the file's
        // building job is found by reading it.
        let has_job = crate::files::read_text(&path, crate::build::gather::BUILD_FILE_LIMIT)
            .ok()
            .and_then(|text| serde_norway::from_str::<serde_norway::Value>(&text).ok())
            .is_some_and(|doc| doc.get("jobs").and_then(|j| j.get(job.as_str())).is_some());
        match has_job {
            true => argv.push(format!("--workflow={}:{job}", path.display())),
            false => argv.push(format!("--workflow={}", path.display())),
        }
    }
    argv
}

/// Builds the run from the inputs. `get` looks up an environment variable
/// (`std::env::var(..).ok()` in the binary; a map in tests).
pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<ActionRun, UsageError> {
    // The token first: masked before anything else can be printed.
    let github_token = read(get, "github-token").map(|t| {
        crate::github::mask(&t);
        SecretString::from(t)
    });
    for input in ACTION_ONLY.iter().filter(|i| **i != "github-token") {
        read_one(get, input)?;
    }
    let command = read(get, "command").unwrap_or_else(|| "check".into());
    if !COMMANDS.contains(&command.as_str()) {
        return Err(UsageError(format!(
            "input `command`: `{command}` is not one of {}",
            COMMANDS.join(", ")
        )));
    }
    let mode = read(get, "mode").unwrap_or_else(|| "all".into());
    let dropped: &[&str] = match mode.as_str() {
        "all" => &[],
        "push" => NETWORK_ONLY,
        "network" => PUSH_ONLY,
        other => {
            return Err(UsageError(format!(
                "input `mode`: `{other}` is not one of push, network, all"
            )));
        }
    };
    let comment: CommentMode = read(get, "comment")
        .unwrap_or_default()
        .parse()
        .map_err(|e| UsageError(format!("input `comment`: {e}")))?;

    let root = Cli::command();
    let sub = root
        .find_subcommand(&command)
        .expect("every name in COMMANDS is a subcommand");
    let mut argv = vec!["ecr-fargate-preflight".to_string(), command.clone()];
    let mut positionals = Vec::new();
    let mut given = Vec::new();
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        let flag = arg.get_long();
        let input = input_name(flag.unwrap_or(id));
        let Some(value) = read(get, input) else {
            continue;
        };
        match arg.get_action() {
            ArgAction::Append => check_list(input, &value)?,
            _ if flag.is_none() => check_list(input, &value)?,
            _ => {
                read_one(get, input)?;
            }
        }
        if command == "check" && flag.is_some_and(|f| dropped.contains(&f)) {
            continue;
        }
        given.push(input.to_string());
        match (flag, arg.get_action()) {
            (None, _) => positionals.extend(list(&value).map(str::to_string)),
            (Some(flag), ArgAction::SetTrue) => {
                if boolean(input, &value)? {
                    argv.push(format!("--{flag}"));
                }
            }
            (Some(flag), ArgAction::Count) => {
                if boolean(input, &value)? {
                    argv.push(format!("--{flag}"));
                }
            }
            (Some(flag), ArgAction::Append) => {
                for v in values(input, &value) {
                    argv.push(format!("--{flag}={v}"));
                }
            }
            (Some(flag), _) => argv.push(format!("--{flag}={value}")),
        }
    }
    // The configuration file's options, where no input (or only an
    // input's default) sets them; what it sets counts as given.
    let applied = crate::config::apply(argv, get, true)
        .map_err(|e| UsageError(in_input_terms(&e.0, &command)))?;
    let mut argv = applied.argv;
    for arg in &argv[2..] {
        if let Some(flag) = arg.strip_prefix("--") {
            let flag = flag.split_once('=').map_or(flag, |(f, _)| f);
            given.push(input_name(flag).to_string());
        }
    }
    if command == "check" {
        let targets = [
            "repository",
            "cluster",
            "task-definition",
            "snapshot",
            "terraform-plan",
        ];
        if !targets.iter().any(|t| given.iter().any(|g| g == t)) {
            let needs = match mode.as_str() {
                "push" => "`mode: push` needs the `repository` input (or `terraform-plan`)".to_string(),
                "network" => "`mode: network` needs the `cluster` input (or `task-definition` with `subnets` and `security-groups`, `snapshot`, `terraform-plan`)".to_string(),
                _ => format!(
                    "nothing to check: set at least one of the inputs {}",
                    targets.map(|t| format!("`{t}`")).join(", ")
                ),
            };
            return Err(UsageError(needs));
        }
    }
    if command == "check" && mode != "network" {
        argv.extend(build_defaults(get, &given));
    }
    if !positionals.is_empty() {
        argv.push("--".into());
        argv.extend(positionals);
    }
    let matches = root
        .clone()
        .try_get_matches_from(argv.iter().map(OsString::from))
        .map_err(|e| UsageError(in_input_terms(&e.to_string(), &command)))?;
    let cli = Cli::from_arg_matches(&matches)
        .map_err(|e| UsageError(in_input_terms(&e.to_string(), &command)))?;

    // The comment's key: what this step checks, so matrix legs (another
    // account, region or cluster) keep comments of their own.
    let targets: Vec<(&str, String)> = [
        "repository",
        "repositories",
        "repository-prefix",
        "cluster",
        "task-definition",
        "aws-region",
        "role-to-assume",
        "terraform-plan",
        "snapshot",
        "reports",
    ]
    .into_iter()
    .filter_map(|input| read(get, input).map(|v| (input, v)))
    .chain([("command", command.clone()), ("mode", mode.clone())])
    .collect();
    let pairs: Vec<(&str, &str)> = targets.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let comment_key = discriminator(&pairs, read(get, "comment-key").as_deref());
    Ok(ActionRun {
        cli,
        argv,
        report_file: PathBuf::from(
            read(get, "report-file").unwrap_or_else(|| DEFAULT_REPORT_FILE.into()),
        ),
        comment,
        comment_key,
        github_token,
        config: applied.config,
    })
}

/// Rewrites clap's wording (`--region <REGION>`) into the action's
/// (`input `aws-region``), so the message names what the user wrote.
pub fn in_input_terms(message: &str, command: &str) -> String {
    let root = Cli::command();
    let mut text = message
        .lines()
        .filter(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    if let Some(sub) = root.find_subcommand(command) {
        // Positionals: clap shows them by value name (`<FILE|DIR>...`).
        for arg in sub.get_positionals() {
            let input = input_name(arg.get_id().as_str());
            for name in arg.get_value_names().unwrap_or_default() {
                for shown in [format!("<{name}>..."), format!("<{name}>")] {
                    text = text.replace(&shown, &format!("input `{input}`"));
                }
            }
        }
        let mut longs: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
        // Longest first, so `--policy` does not rewrite part of `--policy-files`.
        longs.sort_by_key(|l| std::cmp::Reverse(l.len()));
        for long in longs {
            let input = input_name(long);
            let pattern = format!("--{long}");
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&pattern) {
                out.push_str(&rest[..at]);
                let after = &rest[at + pattern.len()..];
                // `--region <REGION>` or `--region=x`: drop the value part.
                let skip = after
                    .strip_prefix(" <")
                    .and_then(|s| s.find('>').map(|i| i + 3))
                    .unwrap_or(0);
                let boundary = after[skip..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-');
                if boundary {
                    out.push_str(&format!("input `{input}`"));
                    rest = &after[skip..];
                } else {
                    out.push_str(&pattern);
                    rest = after;
                }
            }
            out.push_str(rest);
            text = out;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, FailOn};
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)]) -> Result<ActionRun, UsageError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_env(&move |k| map.get(k).cloned())
    }

    fn check_args(run: &ActionRun) -> &crate::cli::CheckArgs {
        match &run.cli.command {
            Command::Check(a) => a,
            other => panic!("not a check: {other:?}"),
        }
    }

    #[test]
    fn hyphenated_inputs_become_the_cli_flags() {
        let r = run(&[
            ("INPUT_REPOSITORY", "team/app"),
            ("INPUT_ROLE-TO-ASSUME", "arn:aws:iam::123456789012:role/ci"),
            ("INPUT_AWS-REGION", "eu-west-1"),
            ("INPUT_PLATFORMS", "linux/amd64,linux/arm64"),
            ("INPUT_DRY-RUN", "true"),
            ("INPUT_NO-CLEANUP", "false"),
            ("INPUT_FAIL-ON", "warning"),
            ("INPUT_POLICY-FILES", "a.json\nb.json, c.json\n"),
            ("INPUT_GITHUB-TOKEN", "ghs_secret"),
        ])
        .unwrap();
        let a = check_args(&r);
        assert_eq!(a.repository.as_deref(), Some("team/app"));
        assert_eq!(
            a.credentials.role_to_assume.as_deref(),
            Some("arn:aws:iam::123456789012:role/ci")
        );
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(a.platforms, ["linux/amd64", "linux/arm64"]);
        assert!(a.dry_run);
        assert!(!a.no_cleanup);
        assert_eq!(a.report.fail_on, FailOn::Warning);
        assert_eq!(
            a.policies,
            [PathBuf::from("a.json"), "b.json".into(), "c.json".into()]
        );
        assert!(r.github_token.is_some());
        assert!(
            !r.argv.iter().any(|a| a.contains("ghs_secret")),
            "{:?}",
            r.argv
        );
        assert_eq!(r.report_file, PathBuf::from(DEFAULT_REPORT_FILE));
        assert_eq!(r.comment, CommentMode::OnFailure);
    }

    #[test]
    fn underscore_names_work_too_and_empty_means_unset() {
        let r = run(&[
            ("INPUT_REPOSITORY", "team/app"),
            ("INPUT_ROLE_SESSION_NAME", "local"),
            ("INPUT_CLUSTER", ""),
            ("INPUT_SERVICES", "  "),
        ])
        .unwrap();
        let a = check_args(&r);
        assert_eq!(a.credentials.role_session_name, "local");
        assert!(a.cluster.is_none());
        assert!(a.services.is_empty());
    }

    #[test]
    fn clap_defaults_apply_when_inputs_are_absent() {
        let r = run(&[("INPUT_REPOSITORY", "team/app")]).unwrap();
        let a = check_args(&r);
        assert_eq!(a.platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(a.credentials.audience, "sts.amazonaws.com");
        assert_eq!(a.report.fail_on, FailOn::Error);
    }

    #[test]
    fn mode_narrows_the_checks() {
        let vars = [
            ("INPUT_REPOSITORY", "team/app"),
            ("INPUT_CLUSTER", "prod"),
            ("INPUT_SERVICES", "web\napi"),
        ];
        let all = run(&vars).unwrap();
        assert_eq!(check_args(&all).services, ["web", "api"]);
        let mut push = vars.to_vec();
        push.push(("INPUT_MODE", "push"));
        let push = run(&push).unwrap();
        assert!(check_args(&push).cluster.is_none());
        assert!(check_args(&push).services.is_empty());
        assert!(check_args(&push).repository.is_some());
        let mut network = vars.to_vec();
        network.push(("INPUT_MODE", "network"));
        let network = run(&network).unwrap();
        assert!(check_args(&network).repository.is_none());
        assert_eq!(check_args(&network).cluster.as_deref(), Some("prod"));
        let e = run(&[("INPUT_CLUSTER", "prod"), ("INPUT_MODE", "push")]).unwrap_err();
        assert!(
            e.0.contains("`mode: push` needs the `repository` input"),
            "{e}"
        );
        let e = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_MODE", "both")]).unwrap_err();
        assert!(e.0.contains("input `mode`"), "{e}");
    }

    #[test]
    fn missing_and_bad_inputs_are_named_as_inputs() {
        let e = run(&[]).unwrap_err();
        assert!(
            e.0.contains("set at least one of the inputs `repository`"),
            "{e}"
        );
        let e = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_DRY-RUN", "yes")]).unwrap_err();
        assert_eq!(
            e.0,
            "input `dry-run`: `yes` is not a boolean (use true or false)"
        );
        let e = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_FAIL-ON", "sometimes")]).unwrap_err();
        assert!(e.0.contains("input `fail-on`"), "{e}");
        assert!(!e.0.contains("--"), "{e}");
        let e = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_READ-TAG", "v1")]).unwrap_err();
        assert!(e.0.contains("input `dry-run`"), "{e}");
        assert!(!e.0.contains("--"), "{e}");
        let e = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_COMMENT", "sometimes")]).unwrap_err();
        assert!(e.0.contains("input `comment`"), "{e}");
        let e = run(&[("INPUT_COMMAND", "deploy")]).unwrap_err();
        assert!(e.0.contains("input `command`"), "{e}");
    }

    #[test]
    fn the_comment_key_tells_targets_apart() {
        let a = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_AWS-REGION", "us-east-1")]).unwrap();
        let b = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_AWS-REGION", "eu-west-1")]).unwrap();
        let c = run(&[("INPUT_REPOSITORY", "a"), ("INPUT_AWS-REGION", "us-east-1")]).unwrap();
        assert_ne!(a.comment_key, b.comment_key);
        assert_eq!(a.comment_key, c.comment_key);
    }

    #[test]
    fn audit_and_merge_read_their_own_inputs() {
        let r = run(&[
            ("INPUT_COMMAND", "audit"),
            ("INPUT_CLUSTER", "production\nbatch\n"),
            ("INPUT_REPOSITORY-PREFIX", "team/"),
            ("INPUT_PUSH-PROBE", "false"),
            ("INPUT_CONCURRENCY", "8"),
            ("INPUT_SARIF-FILE", "audit.sarif"),
            // A check-only input is not passed to audit.
            ("INPUT_DRY-RUN", "true"),
        ])
        .unwrap();
        let Command::Audit(a) = &r.cli.command else {
            panic!("{:?}", r.cli.command)
        };
        assert_eq!(a.cluster, ["production", "batch"]);
        assert_eq!(a.repository_prefix.as_deref(), Some("team/"));
        assert!(!a.push_probe);
        assert_eq!(a.concurrency, 8);
        assert_eq!(a.report.sarif, Some(PathBuf::from("audit.sarif")));
        let r = run(&[
            ("INPUT_COMMAND", "merge"),
            ("INPUT_REPORTS", "reports/\nextra.json"),
        ])
        .unwrap();
        let Command::Merge(m) = &r.cli.command else {
            panic!("{:?}", r.cli.command)
        };
        assert_eq!(m.inputs, [PathBuf::from("reports/"), "extra.json".into()]);
        let e = run(&[("INPUT_COMMAND", "merge")]).unwrap_err();
        assert!(e.0.contains("input `reports`"), "{e}");
        let e = run(&[("INPUT_COMMAND", "audit"), ("INPUT_CONCURRENCY", "0")]).unwrap_err();
        assert!(e.0.contains("input `concurrency`"), "{e}");
    }

    #[test]
    fn the_build_is_read_from_the_workspace_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(
            workflows.join("ci.yml"),
            "jobs:\n  preflight:\n    runs-on: x\n",
        )
        .unwrap();
        let workspace = dir.path().to_str().unwrap();
        let env = [
            ("INPUT_REPOSITORY", "team/app"),
            ("GITHUB_WORKSPACE", workspace),
            ("GITHUB_REPOSITORY", "acme/shop"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/shop/.github/workflows/ci.yml@refs/heads/main",
            ),
            ("GITHUB_JOB", "preflight"),
        ];
        let defaults = run(&env).unwrap();
        let args = check_args(&defaults);
        assert_eq!(
            args.workflow.as_deref(),
            Some(format!("{}:preflight", workflows.join("ci.yml").display()).as_str())
        );
        // An input names another workflow; `mode: network` reads no build.
        let mut named = env.to_vec();
        named.push(("INPUT_WORKFLOW", "ci.yml:build"));
        let run_named = run(&named).unwrap();
        assert_eq!(
            check_args(&run_named).workflow.as_deref(),
            Some("ci.yml:build")
        );
        let mut network = env.to_vec();
        network.extend([("INPUT_MODE", "network"), ("INPUT_CLUSTER", "prod")]);
        let run_network = run(&network).unwrap();
        assert_eq!(check_args(&run_network).workflow, None);
    }

    #[test]
    fn cache_inputs_split_by_line_only() {
        let run = run(&[
            ("INPUT_REPOSITORY", "team/app"),
            (
                "INPUT_CACHE-TO",
                "type=registry,ref=x/y:c,mode=max\ntype=gha",
            ),
        ])
        .unwrap();
        assert_eq!(
            check_args(&run).cache_to,
            ["type=registry,ref=x/y:c,mode=max", "type=gha"]
        );
    }

    #[test]
    fn input_names_map_to_flags() {
        assert_eq!(input_name("region"), "aws-region");
        assert_eq!(input_name("service"), "services");
        assert_eq!(input_name("repository"), "repository");
        assert_eq!(
            env_names("role-to-assume"),
            ["INPUT_ROLE-TO-ASSUME", "INPUT_ROLE_TO_ASSUME"]
        );
    }
}
