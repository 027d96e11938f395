//! The command line: one declaration per option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::push::image::Attestations;

/// Will `docker buildx build --push` to this ECR repository succeed with this role?
#[derive(Debug, Parser)]
#[command(name = "ecr-fargate-preflight", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Replay buildx's multi-platform push against ECR, and check Fargate task
    /// networking, and report what would fail.
    Check(Box<CheckArgs>),
    /// Print the rules, one rule's page (`rules <ID>`), or the README's
    /// tables.
    Rules(RulesArgs),
    /// Audit many repositories and every service of clusters in one report,
    /// read-only unless `--push-probe` is given.
    Audit(Box<AuditArgs>),
    /// Combine JSON reports (of matrix jobs: one per account or region) into one.
    Merge(MergeArgs),
    /// Run as the GitHub Action: the options come from the `INPUT_*`
    /// variables of `action.yml` (also what runs with no arguments when
    /// `GITHUB_ACTIONS=true`).
    Action,
    /// Print shell completions or the man page (for packagers and the
    /// release workflow).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// What `generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// Completions for bash.
    Bash,
    /// Completions for zsh.
    Zsh,
    /// Completions for fish.
    Fish,
    /// Completions for PowerShell.
    Powershell,
    /// Completions for elvish.
    Elvish,
    /// The man page (roff), `ecr-fargate-preflight.1`.
    Man,
}

/// `generate` options.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// A shell's completions, or `man`.
    #[arg(value_enum)]
    pub what: Generated,
}

impl Generated {
    /// The file name the release workflow gives the output.
    pub fn file_name(self) -> &'static str {
        match self {
            Generated::Bash => "ecr-fargate-preflight.bash",
            Generated::Zsh => "_ecr-fargate-preflight",
            Generated::Fish => "ecr-fargate-preflight.fish",
            Generated::Powershell => "_ecr-fargate-preflight.ps1",
            Generated::Elvish => "ecr-fargate-preflight.elv",
            Generated::Man => "ecr-fargate-preflight.1",
        }
    }

    /// The completions or man page, generated from the one declaration of
    /// the command line.
    pub fn render(self) -> Result<Vec<u8>, std::io::Error> {
        use clap::CommandFactory;
        use clap_complete::Shell;
        let mut cmd = Cli::command();
        let mut out = Vec::new();
        let shell = match self {
            Generated::Bash => Shell::Bash,
            Generated::Zsh => Shell::Zsh,
            Generated::Fish => Shell::Fish,
            Generated::Powershell => Shell::PowerShell,
            Generated::Elvish => Shell::Elvish,
            Generated::Man => {
                clap_mangen::Man::new(cmd).render(&mut out)?;
                return Ok(out);
            }
        };
        clap_complete::generate(shell, &mut cmd, "ecr-fargate-preflight", &mut out);
        Ok(out)
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Compact, coloured on a terminal.
    Text,
    /// The stable JSON report (see README).
    Json,
    /// GitHub-flavoured markdown.
    Markdown,
}

/// The lowest severity that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
    /// Never: exit 0 whatever is found (2 and 3 still apply).
    Never,
}

/// `check` options.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Repository to check: a name (`team/app`, in the caller's account) or a
    /// URI (`123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app`).
    #[arg(long, value_name = "NAME|URI", required_unless_present_any = ["cluster", "snapshot", "task_definition", "terraform_plan", "trust_policy"])]
    pub repository: Option<String>,

    /// ECS cluster whose Fargate services to check for network readiness.
    #[arg(long, value_name = "NAME|ARN")]
    pub cluster: Option<String>,

    /// Services of `--cluster` to check (default: every service).
    #[arg(long = "service", value_name = "NAME", num_args = 1.., value_delimiter = ',', requires = "cluster")]
    pub services: Vec<String>,

    /// A task definition to check for a service that does not exist yet;
    /// needs `--subnets` and `--security-groups`.
    #[arg(long, value_name = "FAMILY[:REV]", requires_all = ["subnets", "security_groups"])]
    pub task_definition: Option<String>,

    /// Subnets of the planned task, comma-separated.
    #[arg(long, value_name = "IDS", num_args = 1.., value_delimiter = ',', requires = "task_definition")]
    pub subnets: Vec<String>,

    /// Security groups of the planned task, comma-separated.
    #[arg(long, value_name = "IDS", num_args = 1.., value_delimiter = ',', requires = "task_definition")]
    pub security_groups: Vec<String>,

    /// The planned task gets a public IP.
    #[arg(long, requires = "task_definition")]
    pub assign_public_ip: bool,

    /// Write the discovered network snapshot to this file (JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub save_snapshot: Option<PathBuf>,

    /// Check a saved network snapshot offline instead of discovering (no AWS calls for it).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "task_definition"])]
    pub snapshot: Option<PathBuf>,

    /// Platforms to push, comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "linux/amd64,linux/arm64"
    )]
    pub platforms: Vec<String>,

    /// How to obtain AWS credentials.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// AWS region; default: the repository URI's region, else the SDK's usual sources.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Registry base URL to send registry requests to instead of the
    /// repository's registry (proxies, tests).
    #[arg(long, value_name = "URL")]
    pub registry_endpoint: Option<String>,

    /// Also attempt a cross-repository blob mount from this repository of the
    /// same registry, as buildx does when a base image or cache lives there.
    #[arg(long, value_name = "REPO")]
    pub mount_from: Option<String>,

    /// How attestations are pushed: `manifest` (buildx's default provenance),
    /// `oci-artifact` (BuildKit 0.32+ with OCI media types) or `none`.
    #[arg(long, value_enum, default_value = "manifest")]
    pub attestations: Attestations,

    /// Keep the probe's image instead of deleting it.
    #[arg(long)]
    pub no_cleanup: bool,

    /// The Dockerfile of the build: its `FROM` images (and `COPY --from`)
    /// are what the build reads (action: `Dockerfile` in the workspace,
    /// when it exists).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,

    /// The workflow whose build step (`docker/build-push-action`, or
    /// `docker buildx build` in a `run:` block) describes the build, and
    /// its job (default: the first job that builds). Action: the running
    /// workflow and job.
    #[arg(long, value_name = "FILE[:JOB]")]
    pub workflow: Option<String>,

    /// The build's `cache-to`, in buildx syntax (repeatable; replaces the
    /// workflow's).
    #[arg(long = "cache-to", value_name = "SPEC")]
    pub cache_to: Vec<String>,

    /// The build's `cache-from`, in buildx syntax (repeatable; replaces
    /// the workflow's).
    #[arg(long = "cache-from", value_name = "SPEC")]
    pub cache_from: Vec<String>,

    /// The tags the build pushes, as full references (repeatable; replace
    /// the workflow's).
    #[arg(long = "tags", value_name = "REF")]
    pub tags: Vec<String>,

    /// The build's `provenance` setting (`false`, `true`, `mode=max`).
    #[arg(long, value_name = "VALUE")]
    pub provenance: Option<String>,

    /// The build's `sbom` setting (`false`, `true`).
    #[arg(long, value_name = "VALUE")]
    pub sbom: Option<String>,

    /// A build argument of the build, `NAME=VALUE` (repeatable; overrides
    /// the workflow's): substituted in the Dockerfile's `FROM` lines.
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,

    /// An identity policy of the pushing principal to evaluate offline: a
    /// policy document or a JSON list of them (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,

    /// The repository policy to evaluate offline.
    #[arg(long, value_name = "FILE")]
    pub repository_policy: Option<PathBuf>,

    /// The pushing principal's permissions boundary.
    #[arg(long, value_name = "FILE")]
    pub boundary: Option<PathBuf>,

    /// A service control policy that applies to the account (repeatable).
    #[arg(long = "scp", value_name = "FILE")]
    pub scps: Vec<PathBuf>,

    /// A Terraform plan (`terraform show -json plan.out > plan.json`): its
    /// policies and network resources are checked offline.
    #[arg(long, value_name = "FILE")]
    pub terraform_plan: Option<PathBuf>,

    /// The principal the offline policies belong to (default: `--role-to-assume`,
    /// else a role of the repository's account).
    #[arg(long, value_name = "ARN")]
    pub principal: Option<String>,

    /// Make no AWS call at all: only the offline inputs are checked.
    #[arg(long)]
    pub offline: bool,

    /// Push nothing: check the token, and read `--read-tag` if given.
    #[arg(long)]
    pub dry_run: bool,

    /// With `--dry-run`: an existing tag to read back (manifests and a layer).
    #[arg(long, value_name = "TAG", requires = "dry_run")]
    pub read_tag: Option<String>,

    /// The role's trust policy (JSON): check offline whether it admits this
    /// job's GitHub OIDC token (its subject and audience), and whether it
    /// admits more than it should.
    #[arg(long, value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,

    /// The customised OIDC subject template of the repository or
    /// organisation (GitHub's `include_claim_keys`), comma-separated, such
    /// as `repo,context,job_workflow_ref`.
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub oidc_sub_claim_keys: Vec<String>,

    /// Where the report goes and what fails the run.
    #[command(flatten)]
    pub report: OutputArgs,

    /// The run's budget and logging.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `rules` options.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    /// Print this rule's page (what, why, an example, the fix), such as
    /// `network/endpoint-missing`.
    #[arg(value_name = "ID", conflicts_with_all = ["markdown", "requests", "endpoints"])]
    pub id: Option<String>,
    /// Print the README's rule table.
    #[arg(long)]
    pub markdown: bool,
    /// Print the README's request → IAM action table.
    #[arg(long)]
    pub requests: bool,
    /// Print the README's endpoint matrix.
    #[arg(long)]
    pub endpoints: bool,
}

/// `audit` options.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["repositories", "repository_prefix", "cluster"])))]
pub struct AuditArgs {
    /// Repositories to audit, comma-separated: names (in the caller's
    /// registry) or URIs.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub repositories: Vec<String>,

    /// Also audit every repository of the caller's registry (in `--region`)
    /// whose name starts with this prefix (`ecr:DescribeRepositories`).
    #[arg(long, value_name = "PREFIX")]
    pub repository_prefix: Option<String>,

    /// ECS cluster whose every service to check for network readiness (repeatable).
    #[arg(long, value_name = "NAME|ARN")]
    pub cluster: Vec<String>,

    /// Run the real push probe against each repository: pushes a throwaway
    /// tag and deletes it again. Without it the audit only reads.
    #[arg(long)]
    pub push_probe: bool,

    /// Platforms the push probe replays, comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "linux/amd64,linux/arm64"
    )]
    pub platforms: Vec<String>,

    /// Targets checked at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// How to obtain AWS credentials.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// AWS region; default: the SDK's usual sources. Repository URIs keep their own region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Registry base URL to send registry requests to instead of each
    /// repository's registry (proxies, tests).
    #[arg(long, value_name = "URL")]
    pub registry_endpoint: Option<String>,

    /// Where the report goes and what fails the run.
    #[command(flatten)]
    pub report: OutputArgs,

    /// The run's budget and logging.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `merge` options.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON reports written by `check` or `audit` (`--format json`), or
    /// directories searched recursively for `*.json` reports (downloaded artifacts).
    #[arg(value_name = "FILE|DIR", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Where the report goes and what fails the run.
    #[command(flatten)]
    pub report: OutputArgs,
}

/// How to obtain AWS credentials: one declaration for `check` and `audit`.
#[derive(Debug, Clone, Args)]
pub struct CredentialArgs {
    /// Role to assume: with a GitHub OIDC token via AssumeRoleWithWebIdentity,
    /// otherwise with the existing credentials via AssumeRole.
    #[arg(long, value_name = "ARN")]
    pub role_to_assume: Option<String>,

    /// Session name for the assumed role.
    #[arg(long, value_name = "NAME", default_value = "GitHubActions")]
    pub role_session_name: String,

    /// Audience of the GitHub OIDC token.
    #[arg(long, value_name = "AUD", default_value = "sts.amazonaws.com")]
    pub audience: String,
}

/// Where the report goes and the severity that fails the run: one
/// declaration for `check`, `audit` and `merge`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Write the report in `--format` to this file (the text report still goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the findings as SARIF 2.1.0 to this file (for github/codeql-action/upload-sarif).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,

    /// Exit 1 when a finding of this severity or worse exists.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
}

/// The run's budget, its logging and its configuration file: one
/// declaration for `check` and `audit`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The whole run's budget (`90s`, `5m`): every remote call ends by then,
    /// what was gathered is still reported, and a check cut short is exit 3.
    #[arg(long, value_name = "DURATION", default_value = crate::deadline::DEFAULT_TIMEOUT, value_parser = crate::deadline::parse)]
    pub timeout: std::time::Duration,

    /// Log progress to stderr (never secrets, at any level).
    #[arg(short, long)]
    pub verbose: bool,

    /// The configuration file: options by their flag names and
    /// suppressions (default: `.ecr-fargate-preflight.toml` in the working
    /// directory, else in the workspace). Flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
