//! The one way the integration tests start the binary: [`Binary`].
//!
//! It starts from a clean environment, so nothing of the machine running the
//! tests (its AWS profile or credentials, the GitHub runner's own variables
//! when the tests run in CI, a proxy) reaches the binary: only `PATH`, an
//! AWS configuration that points at nothing (no config or credentials file,
//! no instance metadata) and `NO_COLOR`. A test adds what its scenario needs:
//! test credentials, a stand-in endpoint, the GitHub runner's variables.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A command line for the binary under test, in a clean environment.
pub struct Binary {
    cmd: Command,
}

impl Default for Binary {
    fn default() -> Binary {
        Binary::new()
    }
}

impl Binary {
    /// The binary with nothing of the test's environment but `PATH`: no AWS
    /// credentials, region or endpoint, no GitHub runner variables.
    pub fn new() -> Binary {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-fargate-preflight"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1");
        Binary { cmd }
    }

    /// The stand-ins' test credentials (moto accepts any) in `us-east-1`.
    pub fn test_credentials(self) -> Binary {
        self.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
    }

    /// A short first retry delay, so throttling scenarios stay quick.
    pub fn quick_retries(self) -> Binary {
        self.env("ECR_FARGATE_PREFLIGHT_RETRY_BASE_MS", "5")
    }

    /// AWS API calls go to `url`: a gate, a fake ECR API, or nothing.
    pub fn aws_endpoint(self, url: impl AsRef<OsStr>) -> Binary {
        self.env("AWS_ENDPOINT_URL", url)
    }

    /// No credentials and no way to reach AWS: a region, and an endpoint
    /// where nothing listens, so a call that should not happen fails fast.
    pub fn unreachable_aws(self) -> Binary {
        self.env("AWS_REGION", "us-east-1")
            .aws_endpoint("http://127.0.0.1:9")
    }

    /// A `run:` step under GitHub Actions, without the runner's files.
    pub fn under_actions(self) -> Binary {
        self.env("GITHUB_ACTIONS", "true")
    }

    /// The GitHub runner's variables and files, as a pull-request job has
    /// them: `workspace` is the job's workspace (and the working directory),
    /// `files` holds `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and `HOME`,
    /// `event` is the event payload. The GitHub API is a port where nothing
    /// listens, so a comment attempt fails fast and never reaches GitHub.
    pub fn runner(self, workspace: &Path, files: &Path, event: &Path) -> Binary {
        self.current_dir(workspace)
            .env("HOME", files)
            .under_actions()
            .env("CI", "true")
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_OUTPUT", files.join("output"))
            .env("GITHUB_STEP_SUMMARY", files.join("summary"))
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", event)
            .env("GITHUB_REPOSITORY", "octo-org/app")
            .env("GITHUB_SHA", "e5bd3914e2e596debea16f433f57875b5b90bcd6")
            .env("GITHUB_RUN_ID", "1658821493")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_WORKFLOW", "build-push")
            .env(
                "GITHUB_WORKFLOW_REF",
                "octo-org/app/.github/workflows/build-push.yml@refs/pull/42/merge",
            )
            .env("GITHUB_JOB", "preflight")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .quick_retries()
    }

    /// One argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Binary {
        self.cmd.arg(arg);
        self
    }

    /// Arguments.
    pub fn args<I, S>(mut self, args: I) -> Binary
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// One environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Binary {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable the builder set.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Binary {
        self.cmd.env_remove(key);
        self
    }

    /// The working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Binary {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs to the end and captures stdout and stderr.
    pub fn output(mut self) -> Output {
        self.cmd.output().expect("the binary runs")
    }

    /// Starts it with stdout and stderr piped, for a test that signals it.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }
}
