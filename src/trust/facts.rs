//! What the trust judge looks at: the job's claims, the role's trust policy,
//! the account's OIDC provider and the session asked for. Plain data.

use serde::{Deserialize, Serialize};

use super::claims::Claims;
use crate::policy::document::PolicyDocument;

/// Whether the job can get an OIDC token at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenAvailability {
    /// The runner set `ACTIONS_ID_TOKEN_REQUEST_URL` and `…_TOKEN`.
    Available,
    /// Under GitHub Actions without them: the job lacks
    /// `permissions: id-token: write`, or it is a pull request from a fork.
    Missing,
    /// Not under GitHub Actions (the CLI): nothing to say.
    NotInActions,
}

/// The account's IAM OIDC provider for GitHub, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Provider {
    /// Not looked at (no plan, no permission to read it).
    Unknown,
    /// The plan or the account has none for `token.actions.githubusercontent.com`.
    Missing {
        /// Where this was looked for (the plan file, the account).
        looked_in: String,
        /// Whether its absence there means it does not exist: true for the
        /// account, false for a plan (another stack may create it).
        certain: bool,
    },
    /// It exists.
    Present {
        /// Its ARN (`arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com`).
        arn: String,
        /// Its `client_id_list`: the audiences it accepts.
        client_ids: Vec<String>,
        /// Where it was read (a Terraform address, `iam:GetOpenIDConnectProvider`).
        source: String,
    },
}

/// Everything the trust rules judge.
#[derive(Debug, Clone)]
pub struct TrustFacts {
    /// The role to assume.
    pub role_arn: String,
    /// The job's claims, decoded or predicted; `None` when neither was possible.
    pub claims: Option<Claims>,
    /// Whether the job can get a token.
    pub token: TokenAvailability,
    /// Whether this run needs one: a missing token is a defect only then.
    pub token_needed: bool,
    /// The role's trust policy, when read (`--trust-policy`, a plan, `iam:GetRole`).
    pub trust_policy: Option<PolicyDocument>,
    /// Why the trust policy is not here, when it is not.
    pub trust_policy_unread: Option<String>,
    /// The account's OIDC provider for GitHub.
    pub provider: Provider,
    /// `role-duration-seconds`, when given.
    pub requested_duration: Option<u32>,
    /// The role's `MaxSessionDuration`, when known.
    pub max_session_duration: Option<u32>,
    /// Whether the role is assumed with `AssumeRole` from another session
    /// (`role-chaining`), which AWS caps at one hour.
    pub role_chaining: bool,
}

impl TrustFacts {
    /// The provider ARN the trust policy must name: the known provider's, or
    /// the one in the role's account.
    pub fn provider_arn(&self) -> String {
        if let Provider::Present { arn, .. } = &self.provider {
            return arn.clone();
        }
        github_provider_arn(&self.role_arn)
    }
}

/// The ARN of GitHub's OIDC provider in the account (and partition) of `role_arn`.
pub fn github_provider_arn(role_arn: &str) -> String {
    let mut parts = role_arn.splitn(6, ':');
    let partition = parts.nth(1).unwrap_or("aws");
    let account = parts.nth(2).unwrap_or_default();
    format!(
        "arn:{partition}:iam::{account}:oidc-provider/{}",
        super::claims::ISSUER_HOST
    )
}
