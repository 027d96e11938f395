//! Reading ECR's access-denied messages.
//!
//! Shapes (from `ecr-push-flow.md` §3): registry 403 with
//! `{"errors":[{"code":"DENIED","message":"User: <arn> is not authorized to
//! perform: ecr:<Action> on resource: <arn> because no identity-based policy
//! allows the ecr:<Action> action"}]}`, the same message in the API's
//! `AccessDeniedException`, older messages without the reason, and the
//! organization-policy variants.

use serde::{Deserialize, Serialize};

/// Why IAM said no, as far as the message tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenialReason {
    /// "because no identity-based policy allows": the role lacks an Allow.
    NoIdentityPolicy,
    /// "because no resource-based policy allows": cross-account, the repository policy lacks an Allow.
    NoResourcePolicy,
    /// "with an explicit deny" in an identity or resource policy.
    ExplicitDeny,
    /// Denied by an organization's service control policy.
    ServiceControlPolicy,
    /// Denied by an organization's resource control policy.
    ResourceControlPolicy,
    /// Capped by the role's permissions boundary.
    PermissionsBoundary,
    /// Capped by the session policy passed when the role was assumed.
    SessionPolicy,
    /// The message does not say.
    Unstated,
}

impl DenialReason {
    /// A phrase for messages: "no identity-based policy allows it".
    pub fn describe(self) -> &'static str {
        match self {
            DenialReason::NoIdentityPolicy => "no identity-based policy allows it",
            DenialReason::NoResourcePolicy => {
                "no resource-based policy allows it (cross-account: the repository policy must allow it too)"
            }
            DenialReason::ExplicitDeny => "an explicit Deny statement matches it",
            DenialReason::ServiceControlPolicy => {
                "a service control policy of the organization denies it"
            }
            DenialReason::ResourceControlPolicy => {
                "a resource control policy of the organization denies it"
            }
            DenialReason::PermissionsBoundary => {
                "the role's permissions boundary does not allow it"
            }
            DenialReason::SessionPolicy => "the session policy does not allow it",
            DenialReason::Unstated => "the message does not say why",
        }
    }

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DenialReason::NoIdentityPolicy => "no-identity-policy",
            DenialReason::NoResourcePolicy => "no-resource-policy",
            DenialReason::ExplicitDeny => "explicit-deny",
            DenialReason::ServiceControlPolicy => "service-control-policy",
            DenialReason::ResourceControlPolicy => "resource-control-policy",
            DenialReason::PermissionsBoundary => "permissions-boundary",
            DenialReason::SessionPolicy => "session-policy",
            DenialReason::Unstated => "unstated",
        }
    }
}

/// What an access-denied message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The principal that was denied, such as `arn:aws:sts::…:assumed-role/x/y`.
    pub principal: Option<String>,
    /// The action, such as `ecr:PutImage`.
    pub action: Option<String>,
    /// The resource, such as `arn:aws:ecr:…:repository/app` or `*`.
    pub resource: Option<String>,
    /// Why.
    pub reason: DenialReason,
    /// The organization policy ARN, when the message names one.
    pub policy_arn: Option<String>,
}

/// Parses an access-denied message. Never fails: parts it cannot find are `None`.
pub fn parse(message: &str) -> Denial {
    let principal = between(message, "User: ", " is not authorized").map(str::to_string);
    let action = between(message, "to perform: ", " ")
        .or_else(|| message.split("to perform: ").nth(1))
        .map(|a| a.trim_end_matches([',', '.']).to_string());
    let resource = message.split(" on resource: ").nth(1).map(|rest| {
        rest.split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches([',', '.'])
            .to_string()
    });
    let lower = message.to_ascii_lowercase();
    let reason = if lower.contains("service control policy") {
        DenialReason::ServiceControlPolicy
    } else if lower.contains("resource control policy") {
        DenialReason::ResourceControlPolicy
    } else if lower.contains("permissions boundary") {
        DenialReason::PermissionsBoundary
    } else if lower.contains("session policy") {
        DenialReason::SessionPolicy
    } else if lower.contains("explicit deny") {
        DenialReason::ExplicitDeny
    } else if lower.contains("no identity-based policy allows") {
        DenialReason::NoIdentityPolicy
    } else if lower.contains("no resource-based policy allows") {
        DenialReason::NoResourcePolicy
    } else {
        DenialReason::Unstated
    };
    let policy_arn = message
        .split_whitespace()
        .find(|w| {
            w.starts_with("arn:aws:organizations::") || w.starts_with("arn:aws-cn:organizations::")
        })
        .map(|w| w.trim_end_matches([',', '.']).to_string());
    Denial {
        principal,
        action: action.filter(|a| a.contains(':')),
        resource: resource.filter(|r| !r.is_empty()),
        reason,
        policy_arn,
    }
}

/// Whether a message is an IAM authorization failure at all.
pub fn is_authorization_message(message: &str) -> bool {
    message.contains("is not authorized to perform")
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// The `{"errors":[{"code":…,"message":…}]}` body of a registry error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryError {
    /// `DENIED`, `NAME_UNKNOWN`, `TAG_INVALID`, `TOOMANYREQUESTS`, …
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

/// The first error of a registry error body, if the body is one.
pub fn registry_error(body: &[u8]) -> Option<RegistryError> {
    #[derive(Deserialize)]
    struct Body {
        errors: Vec<RegistryError>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()?
        .errors
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_policy_denial_from_the_field() {
        let d = parse(
            "User: arn:aws:sts::123456789012:assumed-role/gha/run-1 is not authorized to perform: ecr:GetDownloadUrlForLayer on resource: arn:aws:ecr:us-east-1:123456789012:repository/team/app because no identity-based policy allows the ecr:GetDownloadUrlForLayer action",
        );
        assert_eq!(
            d.principal.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/gha/run-1")
        );
        assert_eq!(d.action.as_deref(), Some("ecr:GetDownloadUrlForLayer"));
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/team/app")
        );
        assert_eq!(d.reason, DenialReason::NoIdentityPolicy);
    }

    #[test]
    fn cross_account_resource_policy_denial() {
        let d = parse(
            "User: arn:aws:sts::111111111111:assumed-role/ci/x is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:308535385114:repository/pytorch/x because no resource-based policy allows the ecr:InitiateLayerUpload action",
        );
        assert_eq!(d.reason, DenialReason::NoResourcePolicy);
        assert_eq!(d.action.as_deref(), Some("ecr:InitiateLayerUpload"));
    }

    #[test]
    fn older_message_without_a_reason() {
        let d = parse(
            "User: arn:aws:iam::871259748386:root is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-west-2:692230297653:repository/x",
        );
        assert_eq!(d.reason, DenialReason::Unstated);
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:ecr:us-west-2:692230297653:repository/x")
        );
    }

    #[test]
    fn organization_and_boundary_denials() {
        let scp = parse(
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:1:repository/a with an explicit deny in a service control policy: arn:aws:organizations::1:policy/o-abc/service_control_policy/p-123",
        );
        assert_eq!(scp.reason, DenialReason::ServiceControlPolicy);
        assert_eq!(
            scp.policy_arn.as_deref(),
            Some("arn:aws:organizations::1:policy/o-abc/service_control_policy/p-123")
        );
        let b = parse(
            "User: x is not authorized to perform: ecr:PutImage on resource: y because no permissions boundary allows the ecr:PutImage action",
        );
        assert_eq!(b.reason, DenialReason::PermissionsBoundary);
        let e = parse(
            "User: x is not authorized to perform: ecr:GetAuthorizationToken on resource: * with an explicit deny",
        );
        assert_eq!(e.reason, DenialReason::ExplicitDeny);
        assert_eq!(e.resource.as_deref(), Some("*"));
    }

    #[test]
    fn garbage_gives_nothing_and_no_panic() {
        for m in [
            "",
            "denied",
            "to perform: ",
            "User: ",
            " on resource: ",
            "to perform: nocolon on resource:",
        ] {
            let d = parse(m);
            assert!(d.action.is_none(), "{m}");
            assert!(!is_authorization_message(m) || m.contains("is not authorized"));
        }
    }

    #[test]
    fn registry_error_bodies() {
        let e = registry_error(br#"{"errors":[{"code":"DENIED","message":"m"}]}"#).unwrap();
        assert_eq!(e.code, "DENIED");
        assert!(registry_error(b"").is_none());
        assert!(registry_error(b"<html>").is_none());
    }
}
