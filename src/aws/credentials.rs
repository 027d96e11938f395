//! Credentials, in configure-aws-credentials' order: GitHub OIDC →
//! `AssumeRoleWithWebIdentity`; existing credentials → `AssumeRole`;
//! otherwise the SDK's default chain. Every secret is masked the moment it
//! is obtained.

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::error::ProvideErrorMetadata;
use secrecy::ExposeSecret;

use crate::github::{self, oidc};
use crate::report::{Fix, Identity};
use crate::trust::claims::Claims;

/// Session length asked for: the probe needs seconds, and 900 s is the
/// shortest STS allows, so leaked credentials expire soonest.
const SESSION_SECONDS: i32 = 900;

/// How to obtain credentials.
#[derive(Debug, Clone)]
pub struct CredentialOptions {
    /// `--role-to-assume`.
    pub role_to_assume: Option<String>,
    /// `--role-session-name`.
    pub role_session_name: String,
    /// `--audience`.
    pub audience: String,
    /// The region for STS (and the default for everything else).
    pub region: Option<String>,
}

/// Credentials in hand, and who they belong to.
#[derive(Debug, Clone)]
pub struct Session {
    /// SDK configuration carrying the credentials; every client is built from it.
    pub config: SdkConfig,
    /// The caller identity.
    pub identity: Identity,
    /// The claims of the GitHub OIDC token the role was assumed with, when it was.
    pub claims: Option<Claims>,
}

/// Why no credentials could be had; becomes a `credentials/unavailable` finding and exit code 3.
#[derive(Debug, Clone)]
pub struct CredentialFailure {
    /// What failed and why.
    pub message: String,
    /// What to do.
    pub fix: Fix,
    /// The claims of the GitHub OIDC token that was presented, when one was
    /// fetched: the trust check explains a refusal with them.
    pub claims: Option<Claims>,
    /// STS refused the token (`AccessDenied` from `AssumeRoleWithWebIdentity`):
    /// the role's trust policy does not admit this job.
    pub trust_refused: bool,
    /// A role was to be assumed and the job had neither a GitHub OIDC token
    /// nor other credentials: the token was what it needed.
    pub token_needed: bool,
}

/// Loads the SDK's shared configuration: region, endpoints (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`), profiles and the default credential chain,
/// with adaptive retry for throttling.
pub async fn load_base(region: Option<String>) -> SdkConfig {
    use crate::deadline::{ATTEMPT, CONNECT, OPERATION, bounded};
    // Every call ends by the run's deadline: a black-holed endpoint is a
    // timeout error, never a hang.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(bounded(CONNECT))
        .read_timeout(bounded(ATTEMPT))
        .operation_attempt_timeout(bounded(ATTEMPT))
        .operation_timeout(bounded(OPERATION))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(5))
        .timeout_config(timeouts);
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    loader.load().await
}

/// Obtains credentials as `options` say and identifies the caller.
pub async fn establish(
    options: &CredentialOptions,
    base: SdkConfig,
) -> Result<Session, CredentialFailure> {
    let (config, source, claims) = match &options.role_to_assume {
        Some(role) => match oidc::TokenRequest::from_env() {
            Some(request) => {
                let (config, claims) = web_identity(options, role, &request, &base).await?;
                (config, "web-identity", claims)
            }
            None => (
                assume_role(options, role, &base).await?,
                "assume-role",
                None,
            ),
        },
        None => {
            mask_provider(&base).await;
            (base, "default-chain", None)
        }
    };
    let sts = aws_sdk_sts::Client::new(&config);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CredentialFailure {
            message: format!(
                "sts:GetCallerIdentity failed, so no usable AWS credentials are configured: {}",
                super::describe_error(&e)
            ),
            fix: no_credentials_fix(options.role_to_assume.is_some()),
            claims: None,
            trust_refused: false,
            token_needed: false,
        })?;
    Ok(Session {
        identity: Identity {
            arn: me.arn().unwrap_or_default().to_string(),
            account: me.account().unwrap_or_default().to_string(),
            source: source.to_string(),
        },
        config,
        claims,
    })
}

async fn web_identity(
    options: &CredentialOptions,
    role: &str,
    request: &oidc::TokenRequest,
    base: &SdkConfig,
) -> Result<(SdkConfig, Option<Claims>), CredentialFailure> {
    let token = oidc::fetch(request, &options.audience).await.map_err(|e| CredentialFailure {
        message: format!("{e}; without it the role {role} cannot be assumed"),
        fix: Fix {
            description: "Give the job `permissions: id-token: write` (fork pull requests never get an OIDC token).".into(),
            ..Fix::default()
        },
        claims: None,
        trust_refused: false,
        token_needed: false,
    })?;
    // Read, not verified (STS verifies): what this job presents, for the trust check.
    let claims = crate::trust::claims::from_token(token.expose_secret()).ok();
    // AssumeRoleWithWebIdentity is unsigned: it must work with no credentials at all,
    // and must not be signed with unrelated ones from the environment.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .no_credentials()
        .retry_config(RetryConfig::adaptive().with_max_attempts(5));
    if let Some(region) = base.region() {
        loader = loader.region(region.clone());
    }
    let sts = aws_sdk_sts::Client::new(&loader.load().await);
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name(&options.role_session_name)
        .web_identity_token(token.expose_secret())
        .duration_seconds(SESSION_SECONDS)
        .send()
        .await
        .map_err(|e| CredentialFailure {
            message: format!(
                "sts:AssumeRoleWithWebIdentity for {role} failed ({}): {}",
                e.code().unwrap_or("no error code"),
                e.message()
                    .map(str::to_string)
                    .unwrap_or_else(|| super::describe_error(&e))
            ),
            fix: trust_policy_fix(role, &options.audience),
            claims: claims.clone(),
            trust_refused: e.code() == Some("AccessDenied"),
            token_needed: false,
        })?;
    Ok((with_credentials(base, out.credentials()), claims))
}

async fn assume_role(
    options: &CredentialOptions,
    role: &str,
    base: &SdkConfig,
) -> Result<SdkConfig, CredentialFailure> {
    let sts = aws_sdk_sts::Client::new(base);
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(&options.role_session_name)
        .duration_seconds(SESSION_SECONDS)
        .send()
        .await
        .map_err(|e| {
            let no_credentials = matches!(e, aws_sdk_sts::error::SdkError::ConstructionFailure(_) | aws_sdk_sts::error::SdkError::DispatchFailure(_))
                && super::describe_error(&e).contains("credentials");
            CredentialFailure {
                message: if no_credentials {
                    format!(
                        "--role-to-assume {role} was given, but there is no GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN) and no credentials to call sts:AssumeRole with: {}",
                        super::describe_error(&e)
                    )
                } else {
                    format!(
                        "sts:AssumeRole for {role} failed ({}): {}",
                        e.code().unwrap_or("no error code"),
                        e.message().map(str::to_string).unwrap_or_else(|| super::describe_error(&e))
                    )
                },
                fix: if no_credentials {
                    no_credentials_fix(true)
                } else {
                    Fix {
                        description: format!("Allow the calling principal `sts:AssumeRole` on {role}, and trust it in the role's trust policy."),
                        ..Fix::default()
                    }
                },
                claims: None,
                trust_refused: false,
                token_needed: no_credentials,
            }
        })?;
    Ok(with_credentials(base, out.credentials()))
}

fn with_credentials(
    base: &SdkConfig,
    credentials: Option<&aws_sdk_sts::types::Credentials>,
) -> SdkConfig {
    let c = credentials.expect("STS returns credentials with a successful AssumeRole*");
    github::mask(c.access_key_id());
    github::mask(c.secret_access_key());
    github::mask(c.session_token());
    let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        expiry,
        "ecr-fargate-preflight",
    );
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build()
}

/// Masks whatever the default chain resolves to (an earlier
/// configure-aws-credentials step masked them too; twice is harmless).
async fn mask_provider(config: &SdkConfig) {
    if !github::in_actions() {
        return;
    }
    if let Some(provider) = config.credentials_provider()
        && let Ok(c) = provider.provide_credentials().await
    {
        github::mask(c.access_key_id());
        github::mask(c.secret_access_key());
        if let Some(t) = c.session_token() {
            github::mask(t);
        }
    }
}

fn no_credentials_fix(role_given: bool) -> Fix {
    Fix {
        description: if role_given {
            "In GitHub Actions, give the job `permissions: id-token: write` so the role can be assumed with OIDC; elsewhere, configure credentials (profile, environment) that may assume the role.".into()
        } else {
            "Run after `aws-actions/configure-aws-credentials`, pass `--role-to-assume` with `id-token: write`, or configure a profile or environment credentials.".into()
        },
        ..Fix::default()
    }
}

fn trust_policy_fix(role: &str, audience: &str) -> Fix {
    let account = role.split(':').nth(4).unwrap_or("<account>");
    let partition = role.split(':').nth(1).unwrap_or("aws");
    let statement = serde_json::json!({
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:{partition}:iam::{account}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {"token.actions.githubusercontent.com:aud": audience},
            "StringLike": {"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:*"}
        }
    });
    Fix {
        description: format!(
            "The role's trust policy must trust GitHub's OIDC provider for this repository and audience `{audience}`; check the `sub` condition against the job's ref or environment."
        ),
        policy_statement: Some(statement),
        terraform: None,
        aws_cli: Some(format!(
            "aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument",
            role.rsplit('/').next().unwrap_or(role)
        )),
    }
}

/// Checks `--role-to-assume` and `--role-session-name` before any call.
pub fn validate(options: &CredentialOptions) -> Result<(), String> {
    if let Some(role) = &options.role_to_assume {
        if let Err(e) = crate::validate::plain_text(role) {
            return Err(format!("--role-to-assume: {e}"));
        }
        let parts: Vec<&str> = role.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[5]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c))
            && parts[0] == "arn"
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5].starts_with("role/")
            && parts[5].len() > 5;
        if !ok {
            return Err(format!(
                "--role-to-assume `{role}` is not a role ARN: expected arn:aws:iam::<12-digit account>:role/<name>"
            ));
        }
    }
    if let Err(e) = crate::validate::plain_text(&options.audience) {
        return Err(format!("--audience: {e}"));
    }
    if let Some(region) = &options.region {
        crate::validate::region(region).map_err(|e| format!("--region: {e}"))?;
    }
    let name = &options.role_session_name;
    if let Err(e) = crate::validate::plain_text(name) {
        return Err(format!("--role-session-name: {e}"));
    }
    if name.len() < 2
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(format!(
            "--role-session-name `{name}` must be 2 to 64 characters of letters, digits and _+=,.@-"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(role: Option<&str>, name: &str) -> CredentialOptions {
        CredentialOptions {
            role_to_assume: role.map(str::to_string),
            role_session_name: name.into(),
            audience: "sts.amazonaws.com".into(),
            region: None,
        }
    }

    #[test]
    fn validates_role_and_session_name() {
        assert!(
            validate(&options(
                Some("arn:aws:iam::123456789012:role/deploy"),
                "GitHubActions"
            ))
            .is_ok()
        );
        assert!(
            validate(&options(
                Some("arn:aws:iam::123456789012:role/path/deploy"),
                "a@b.c"
            ))
            .is_ok()
        );
        for bad in [
            "deploy",
            "arn:aws:iam::123:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(
                validate(&options(Some(bad), "GitHubActions"))
                    .unwrap_err()
                    .contains("not a role ARN"),
                "{bad}"
            );
        }
        for bad in ["a", "has space", &"x".repeat(65)] {
            assert!(
                validate(&options(None, bad))
                    .unwrap_err()
                    .contains("role-session-name"),
                "{bad}"
            );
        }
    }
}
