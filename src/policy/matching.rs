//! The matching we do ourselves because iam-rs gets AWS's semantics wrong
//! there. Each function names the case and the test that shows it
//! (`evaluate/tests.rs`, `iam_rs_*`); everything else is iam-rs's.

use super::document::{PrincipalType, Principals};

/// The role and session name of a session ARN
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `arn:aws:iam::ACCOUNT:role/ROLE`,
/// `SESSION`; a role path is not part of a session ARN).
pub(crate) fn role_of_session(arn: &str) -> Option<(String, String)> {
    let [partition, service, _region, account, resource] = arn_fields(arn)?;
    let (role, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
    (service == "sts" && !role.is_empty() && !session.is_empty()).then(|| {
        (
            format!("arn:{partition}:iam::{account}:role/{role}"),
            session.to_string(),
        )
    })
}

/// How a resource-based statement's `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// The caller is not named.
    No,
    /// The caller's account is named (`"123456789012"` or `arn:aws:iam::123456789012:root`):
    /// the account's own IAM policies decide, so this never grants alone.
    Account,
    /// Everyone is named (`"*"` or `{"AWS": "*"}`).
    Everyone,
    /// The caller itself is named: its user ARN, or the role ARN of a role session.
    Direct,
    /// The caller's role session is named by its session ARN
    /// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    Session,
}

/// A character the policy wrote as `${*}`: a literal `*`, not a wildcard.
pub(crate) const LITERAL_STAR: char = '\u{E000}';
/// A character the policy wrote as `${?}`: a literal `?`, not a wildcard.
pub(crate) const LITERAL_QUESTION: char = '\u{E001}';

/// The session ARN of a role session: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`
/// for the role `arn:aws:iam::ACCOUNT:role/PATH/ROLE` (the path is not part of it).
pub(crate) fn session_arn(role_arn: &str, session: &str) -> Option<String> {
    let [partition, service, _region, account, resource] = arn_fields(role_arn)?;
    let role = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (service == "iam" && !session.is_empty())
        .then(|| format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session}"))
}

/// Whether `principals` names the caller.
///
/// iam-rs matches an account entry only against a caller that *is* the
/// account root, so a role in that account is not matched (case
/// `iam_rs_account_principal_does_not_match_a_role`), and it treats wildcards
/// inside a principal ARN as patterns, which AWS does not support
/// (`iam_rs_wildcard_principal_arn_matches`). It also cannot read a
/// `Principal` that has two types (`iam_rs_rejects_principal_with_two_types`).
///
/// A role session is named by its role ARN or by its session ARN (IAM User
/// Guide, Principal element: "You can specify role sessions in the Principal
/// element of a resource-based policy … arn:aws:sts::AWS-account-ID:assumed-role/role-name/role-session-name");
/// iam-rs knows no sessions.
pub(crate) fn principal_match(
    principals: &Principals,
    principal_arn: &str,
    principal_account: &str,
    session_arn: Option<&str>,
) -> PrincipalMatch {
    if matches!(principals, Principals::Everyone) {
        return PrincipalMatch::Everyone;
    }
    let mut best = PrincipalMatch::No;
    // A web identity caller (an OIDC provider's ARN) is named by its own
    // `Federated` entry; accounts and wildcards are AWS-principal forms.
    if let Principals::Listed(listed) = principals {
        let federated = listed
            .iter()
            .filter(|(kind, _)| *kind == PrincipalType::Federated)
            .flat_map(|(_, ids)| ids.iter());
        if federated.into_iter().any(|entry| entry == principal_arn) {
            return PrincipalMatch::Direct;
        }
    }
    for entry in principals.aws() {
        let this = if session_arn == Some(entry) {
            PrincipalMatch::Session
        } else if entry == "*" {
            PrincipalMatch::Everyone
        } else if entry == principal_arn {
            PrincipalMatch::Direct
        } else if !principal_account.is_empty()
            && (entry == principal_account || account_root(entry) == Some(principal_account))
        {
            PrincipalMatch::Account
        } else {
            PrincipalMatch::No
        };
        best = best.max(this);
    }
    best
}

/// The account of `arn:<partition>:iam::<account>:root`.
fn account_root(entry: &str) -> Option<&str> {
    let [_partition, service, region, account, resource] = arn_fields(entry)?;
    (service == "iam" && region.is_empty() && resource == "root").then_some(account)
}

/// The five fields after `arn:` (partition, service, region, account, resource).
fn arn_fields(arn: &str) -> Option<[&str; 5]> {
    let mut parts = arn.strip_prefix("arn:")?.splitn(5, ':');
    Some([
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ])
}

/// The account field of an ARN, when it has one.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(3)
        .filter(|account| !account.is_empty())
}

/// The region field of an ARN, when it has one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(2)
        .filter(|region| !region.is_empty())
}

/// AWS's ARN pattern match, used for `Resource` patterns iam-rs cannot parse.
///
/// `*` and `?` work within a colon-separated segment; a `*` that ends a
/// segment may also run across the following colons ("If the `*` wildcard is
/// the last character of a resource ARN segment, it can expand to match
/// beyond colon boundaries", IAM User Guide, Resource element). So
/// `arn:aws:ecr:us-east-1:*` matches every ECR ARN in us-east-1, where iam-rs
/// fails the whole evaluation with "ARN must have exactly 6 parts"
/// (`iam_rs_errors_on_short_resource_pattern`). Case-sensitive, as AWS
/// compares resource ARNs.
pub(crate) fn arn_pattern_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = arn.chars().collect();
    // A `*` may cross a colon when it is the last character of its segment.
    let crosses = |p: usize| pattern.get(p + 1).is_none_or(|next| *next == ':');
    // reachable[t]: the pattern prefix matched so far can end at text position t.
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for (p, &symbol) in pattern.iter().enumerate() {
        let mut next = vec![false; text.len() + 1];
        match symbol {
            '*' => {
                let can_cross = crosses(p);
                let mut carrying = false;
                for t in 0..=text.len() {
                    if reachable[t] {
                        carrying = true;
                    }
                    next[t] = carrying;
                    // The run of characters a `*` swallows stops at a colon
                    // unless the star may cross it.
                    if t < text.len() && text[t] == ':' && !can_cross {
                        carrying = false;
                    }
                }
            }
            '?' => {
                for t in 0..text.len() {
                    if reachable[t] && text[t] != ':' {
                        next[t + 1] = true;
                    }
                }
            }
            symbol => {
                let literal = match symbol {
                    LITERAL_STAR => '*',
                    LITERAL_QUESTION => '?',
                    other => other,
                };
                for t in 0..text.len() {
                    if reachable[t] && text[t] == literal {
                        next[t + 1] = true;
                    }
                }
            }
        }
        reachable = next;
        if !reachable.contains(&true) {
            return false;
        }
    }
    reachable[text.len()]
}

/// A `StringLike` pattern: `*` any run of characters, `?` any one, the
/// literal markers ([`LITERAL_STAR`], [`LITERAL_QUESTION`]) themselves. Used
/// only for patterns that hold a literal marker, which iam-rs cannot express.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for &symbol in &pattern {
        let mut next = vec![false; text.len() + 1];
        for t in 0..=text.len() {
            if !reachable[t] {
                continue;
            }
            match symbol {
                '*' => next[t..].iter_mut().for_each(|n| *n = true),
                '?' if t < text.len() => next[t + 1] = true,
                '?' => {}
                symbol => {
                    let literal = match symbol {
                        LITERAL_STAR => '*',
                        LITERAL_QUESTION => '?',
                        other => other,
                    };
                    if text.get(t) == Some(&literal) {
                        next[t + 1] = true;
                    }
                }
            }
        }
        reachable = next;
    }
    reachable[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_patterns_follow_aws_segment_rules() {
        let repo = "arn:aws:ecr:us-east-1:111111111111:repository/app";
        assert!(arn_pattern_matches("arn:aws:ecr:us-east-1:*", repo));
        assert!(arn_pattern_matches("arn:aws:ecr:*:*:repository/*", repo));
        assert!(arn_pattern_matches(
            "arn:aws:ecr:us-east-?:111111111111:repository/a?p",
            repo
        ));
        assert!(!arn_pattern_matches(
            "arn:aws:ecr:us-*-1:111111111111:repository/App",
            repo
        ));
        // A star inside a segment does not run across colons.
        assert!(!arn_pattern_matches(
            "arn:aws:ecr:us*1:repository/app",
            repo
        ));
        assert!(!arn_pattern_matches(
            "arn:aws:ecr:us-east-1:111111111111:repository/ap",
            repo
        ));
        assert!(arn_pattern_matches("*", repo));
    }

    #[test]
    fn account_principals_are_told_from_direct_ones() {
        let role = "arn:aws:iam::111111111111:role/push";
        let listed = |ids: &[&str]| {
            Principals::Listed(vec![(
                crate::policy::document::PrincipalType::Aws,
                ids.iter().map(|id| id.to_string()).collect(),
            )])
        };
        assert_eq!(
            principal_match(&listed(&["111111111111"]), role, "111111111111", None),
            PrincipalMatch::Account
        );
        assert_eq!(
            principal_match(
                &listed(&["arn:aws:iam::111111111111:root"]),
                role,
                "111111111111",
                None
            ),
            PrincipalMatch::Account
        );
        assert_eq!(
            principal_match(&listed(&[role]), role, "111111111111", None),
            PrincipalMatch::Direct
        );
        assert_eq!(
            principal_match(
                &listed(&["arn:aws:iam::111111111111:role/pu*"]),
                role,
                "111111111111",
                None
            ),
            PrincipalMatch::No
        );
        assert_eq!(
            principal_match(&listed(&["222222222222"]), role, "111111111111", None),
            PrincipalMatch::No
        );
        assert_eq!(
            principal_match(&Principals::Everyone, role, "111111111111", None),
            PrincipalMatch::Everyone
        );
        let session = "arn:aws:sts::111111111111:assumed-role/push/GitHubActions";
        assert_eq!(
            session_arn("arn:aws:iam::111111111111:role/ci/push", "GitHubActions").as_deref(),
            Some(session)
        );
        assert_eq!(
            role_of_session(session),
            Some((role.to_string(), "GitHubActions".to_string()))
        );
        assert_eq!(role_of_session(role), None);
        assert_eq!(
            principal_match(&listed(&[session]), role, "111111111111", Some(session)),
            PrincipalMatch::Session
        );
        assert_eq!(
            principal_match(&listed(&[session]), role, "111111111111", None),
            PrincipalMatch::No
        );
        assert_eq!(
            principal_match(
                &listed(&["arn:aws:sts::111111111111:assumed-role/push/other"]),
                role,
                "111111111111",
                Some(session)
            ),
            PrincipalMatch::No
        );
    }

    #[test]
    fn literal_markers_match_only_their_character() {
        let star = format!("repository/app{LITERAL_STAR}");
        assert!(glob_matches(&star, "repository/app*"));
        assert!(!glob_matches(&star, "repository/apps"));
        assert!(glob_matches("plat*", "platform"));
        assert!(!glob_matches("we?", "we"));
        let arn = format!("arn:aws:ecr:us-east-1:111111111111:repository/ap{LITERAL_QUESTION}");
        assert!(arn_pattern_matches(
            &arn,
            "arn:aws:ecr:us-east-1:111111111111:repository/ap?"
        ));
        assert!(!arn_pattern_matches(
            &arn,
            "arn:aws:ecr:us-east-1:111111111111:repository/app"
        ));
    }
}
