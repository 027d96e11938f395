//! The trust area's only I/O: the GitHub context from the runner's
//! environment, the job's `environment:` from its workflow file, the
//! repository's visibility from the event file.

use std::path::{Path, PathBuf};

use super::claims::{GithubContext, JobEnvironment};
use super::facts::{Provider, TokenAvailability};
use crate::files;

/// The most of a workflow file that is read, checked before reading (as
/// for a policy file: real workflow files are a few KiB).
pub const WORKFLOW_LIMIT: u64 = files::POLICY_LIMIT;

/// The GitHub context of this run, from the runner's variables. `None`
/// outside GitHub Actions (no `GITHUB_REPOSITORY`).
pub fn context_from_env(
    audience: &str,
    claim_keys: Option<Vec<String>>,
    workflow: Option<&JobWorkflow>,
) -> Option<GithubContext> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let repository = var("GITHUB_REPOSITORY")?;
    let workflow_ref = var("GITHUB_WORKFLOW_REF");
    let environment = match workflow {
        Some(JobWorkflow { job, text: Ok(text) }) => environment_in(text, job),
        Some(JobWorkflow { text: Err(why), .. }) => JobEnvironment::Unknown(why.clone()),
        // Outside GitHub Actions the context is what the user set: no
        // workflow named, no environment.
        _ if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") => JobEnvironment::None,
        _ => JobEnvironment::Unknown(
            "GITHUB_WORKFLOW_REF, GITHUB_JOB or GITHUB_WORKSPACE is not set, so the workflow file cannot be read".to_string(),
        ),
    };
    let ids = var("GITHUB_REPOSITORY_OWNER_ID").zip(var("GITHUB_REPOSITORY_ID"));
    let repository_visibility = var("GITHUB_EVENT_PATH").and_then(|path| {
        let text = files::read_text(Path::new(&path), files::EVENT_LIMIT).ok()?;
        let event: serde_json::Value = serde_json::from_str(&text).ok()?;
        event
            .pointer("/repository/visibility")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    });
    Some(GithubContext {
        repository,
        ids,
        event_name: var("GITHUB_EVENT_NAME"),
        git_ref: var("GITHUB_REF"),
        environment,
        workflow_ref,
        repository_visibility,
        audience: audience.to_string(),
        claim_keys,
    })
}

/// The role's trust policy and `MaxSessionDuration`, read live with
/// `iam:GetRole` (with whatever credentials `config` carries); why not, when
/// they could not be read.
pub async fn read_role(
    config: &aws_config::SdkConfig,
    role_arn: &str,
) -> Result<(crate::policy::document::PolicyDocument, Option<u32>), String> {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let iam = aws_sdk_iam::Client::new(config);
    let out = iam.get_role().role_name(name).send().await.map_err(|e| {
        format!(
            "iam:GetRole on {name} failed ({}: {})",
            e.code().unwrap_or("no error code"),
            e.message()
                .map(str::to_string)
                .unwrap_or_else(|| crate::aws::describe_error(&e))
        )
    })?;
    let role = out
        .role()
        .ok_or_else(|| format!("iam:GetRole on {name} answered without the role"))?;
    // IAM returns policy documents URL-encoded.
    let document = role
        .assume_role_policy_document()
        .map(|d| {
            percent_encoding::percent_decode_str(d)
                .decode_utf8_lossy()
                .into_owned()
        })
        .ok_or_else(|| format!("iam:GetRole on {name} answered without a trust policy"))?;
    let source =
        crate::policy::document::Source::label(format!("{name}'s trust policy (iam:GetRole)"));
    let mut documents = crate::policy::document::parse_documents(&document, source)
        .map_err(|e| format!("the trust policy iam:GetRole returned is not readable: {e}"))?;
    if documents.is_empty() {
        return Err("iam:GetRole returned an empty trust policy".to_string());
    }
    let max = role
        .max_session_duration()
        .and_then(|m| u32::try_from(m).ok());
    Ok((documents.remove(0), max))
}

/// The account's GitHub OIDC provider, read live with
/// `iam:GetOpenIDConnectProvider`: present with its client ids, missing
/// (`NoSuchEntity`), or unknown (any other failure: not a finding).
pub async fn read_provider(config: &aws_config::SdkConfig, provider_arn: &str) -> Provider {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    let iam = aws_sdk_iam::Client::new(config);
    match iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(provider_arn)
        .send()
        .await
    {
        Ok(out) => Provider::Present {
            arn: provider_arn.to_string(),
            client_ids: out.client_id_list().to_vec(),
            source: "iam:GetOpenIDConnectProvider".to_string(),
        },
        Err(e) if e.code() == Some("NoSuchEntity") => Provider::Missing {
            looked_in: "The account".to_string(),
            certain: true,
        },
        Err(_) => Provider::Unknown,
    }
}

/// Whether the runner offers an OIDC token: the variables it sets only
/// for a job with `permissions: id-token: write`.
pub fn token_availability() -> TokenAvailability {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        TokenAvailability::NotInActions
    } else if set("ACTIONS_ID_TOKEN_REQUEST_URL") && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
        TokenAvailability::Available
    } else {
        TokenAvailability::Missing
    }
}

/// Whether this run is a pull request from a fork, which never gets a
/// token whatever its permissions say (an unreadable event: not known to be one).
pub fn is_fork_pull_request() -> bool {
    let name = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let path = std::env::var_os("GITHUB_EVENT_PATH").map(PathBuf::from);
    crate::github::event::read_event(&name, path.as_deref())
        .ok()
        .flatten()
        .is_some_and(|pr| pr.is_fork())
}

/// The workflow file in the workspace that `GITHUB_WORKFLOW_REF`
/// (`OWNER/REPO/.github/workflows/F.yml@REF`) names.
pub fn workflow_path(workspace: &Path, repository: &str, workflow_ref: &str) -> Option<PathBuf> {
    let (path, _ref) = workflow_ref.rsplit_once('@')?;
    let relative = path.strip_prefix(repository)?.strip_prefix('/')?;
    // Only files under .github/workflows/, and no way out of the workspace.
    if !relative.starts_with(".github/workflows/")
        || relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    Some(workspace.join(relative))
}

/// The running job's workflow file: its job id and text, read once for
/// everything the trust check takes from it.
#[derive(Debug, Clone)]
pub struct JobWorkflow {
    /// `GITHUB_JOB`.
    pub job: String,
    /// The text of the file `GITHUB_WORKFLOW_REF` names, or why it could not be read.
    pub text: Result<String, String>,
}

/// The workflow `GITHUB_WORKFLOW_REF` names, in `GITHUB_WORKSPACE`, for job
/// `GITHUB_JOB`; `None` when those variables (or `GITHUB_REPOSITORY`) are
/// not all set.
pub fn job_workflow() -> Option<JobWorkflow> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let repository = var("GITHUB_REPOSITORY")?;
    let workflow_ref = var("GITHUB_WORKFLOW_REF")?;
    let job = var("GITHUB_JOB")?;
    let workspace = var("GITHUB_WORKSPACE")?;
    let text = match workflow_path(Path::new(&workspace), &repository, &workflow_ref) {
        None => Err(format!(
            "GITHUB_WORKFLOW_REF {workflow_ref:?} names no workflow file of {repository}"
        )),
        Some(path) => files::read_text(&path, WORKFLOW_LIMIT).map_err(|e| e.to_string()),
    };
    Some(JobWorkflow { job, text })
}

/// The session the job's own `aws-actions/configure-aws-credentials` step
/// asks for, as its workflow file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionRequest {
    /// `role-duration-seconds`, when a literal number.
    pub duration: Option<u32>,
    /// `role-chaining: true`: the role is assumed with `AssumeRole` from
    /// another role's session, which AWS caps at one hour.
    pub chaining: bool,
}

/// What the job's `aws-actions/configure-aws-credentials` step asks for
/// (the first such step of the job; none: the default).
pub fn session_in(workflow: &str, job: &str) -> SessionRequest {
    let Ok(document) = serde_norway::from_str::<serde_norway::Value>(workflow) else {
        return SessionRequest::default();
    };
    let steps = document
        .get("jobs")
        .and_then(|jobs| jobs.get(job))
        .and_then(|definition| definition.get("steps"))
        .and_then(|steps| steps.as_sequence());
    let Some(with) = steps.into_iter().flatten().find_map(|step| {
        step.get("uses")
            .and_then(|uses| uses.as_str())
            .filter(|uses| uses.starts_with("aws-actions/configure-aws-credentials@"))
            .and(step.get("with"))
    }) else {
        return SessionRequest::default();
    };
    let text = |key: &str| -> Option<String> {
        match with.get(key)? {
            serde_norway::Value::String(s) => Some(s.clone()),
            serde_norway::Value::Number(n) => Some(n.to_string()),
            serde_norway::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    SessionRequest {
        // An expression is known only when the job runs: not judged.
        duration: text("role-duration-seconds").and_then(|d| d.trim().parse().ok()),
        chaining: text("role-chaining").is_some_and(|c| c.trim() == "true"),
    }
}

/// The `environment:` of `job` in a workflow's text.
pub fn environment_in(workflow: &str, job: &str) -> JobEnvironment {
    let document: serde_norway::Value = match serde_norway::from_str(workflow) {
        Ok(document) => document,
        Err(e) => return JobEnvironment::Unknown(format!("the workflow file is not YAML: {e}")),
    };
    let Some(definition) = document.get("jobs").and_then(|jobs| jobs.get(job)) else {
        // A job of a called (reusable) workflow is not in the caller's file.
        return JobEnvironment::Unknown(format!(
            "the workflow file has no job {job:?} (a job of a reusable workflow?)"
        ));
    };
    let name = match definition.get("environment") {
        None | Some(serde_norway::Value::Null) => return JobEnvironment::None,
        Some(serde_norway::Value::String(name)) => Some(name.clone()),
        Some(mapping) => mapping
            .get("name")
            .and_then(|name| name.as_str())
            .map(str::to_string),
    };
    match name {
        Some(name) if name.contains("${{") => JobEnvironment::Unknown(format!(
            "`{name}` is an expression, known only when the job runs"
        )),
        Some(name) => JobEnvironment::Named(name),
        None => JobEnvironment::Unknown("the job's `environment:` has no `name`".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_read_as_a_name_or_a_mapping() {
        let workflow = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: production\n  staging:\n    environment:\n      name: staging\n      url: https://x\n  build:\n    runs-on: ubuntu-latest\n";
        assert_eq!(
            environment_in(workflow, "deploy"),
            JobEnvironment::Named("production".into())
        );
        assert_eq!(
            environment_in(workflow, "staging"),
            JobEnvironment::Named("staging".into())
        );
        assert_eq!(environment_in(workflow, "build"), JobEnvironment::None);
        assert!(matches!(
            environment_in(workflow, "other"),
            JobEnvironment::Unknown(_)
        ));
    }

    #[test]
    fn the_jobs_credentials_step_says_the_session_it_asks_for() {
        let workflow = "jobs:\n  push:\n    steps:\n      - uses: actions/checkout@v5\n      - uses: aws-actions/configure-aws-credentials@v5\n        with:\n          role-to-assume: arn:aws:iam::1:role/x\n          role-duration-seconds: 7200\n          role-chaining: true\n  other:\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v5\n        with:\n          role-duration-seconds: ${{ inputs.d }}\n";
        assert_eq!(
            session_in(workflow, "push"),
            SessionRequest {
                duration: Some(7200),
                chaining: true
            }
        );
        assert_eq!(session_in(workflow, "other"), SessionRequest::default());
        assert_eq!(session_in(workflow, "missing"), SessionRequest::default());
    }

    #[test]
    fn an_expression_is_unknown() {
        let workflow = "jobs:\n  deploy:\n    environment: ${{ inputs.target }}\n";
        assert!(matches!(
            environment_in(workflow, "deploy"),
            JobEnvironment::Unknown(why) if why.contains("expression")
        ));
    }

    #[test]
    fn the_workflow_path_stays_in_the_workspace() {
        let ws = Path::new("/w");
        assert_eq!(
            workflow_path(
                ws,
                "acme/shop",
                "acme/shop/.github/workflows/ci.yml@refs/heads/main"
            ),
            Some(PathBuf::from("/w/.github/workflows/ci.yml"))
        );
        assert_eq!(
            workflow_path(
                ws,
                "acme/shop",
                "acme/shop/.github/workflows/../../../etc/passwd@x"
            ),
            None
        );
        assert_eq!(
            workflow_path(ws, "acme/shop", "other/repo/.github/workflows/ci.yml@x"),
            None
        );
    }
}
