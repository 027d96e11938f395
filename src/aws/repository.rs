//! ECR repository references: `--repository NAME|URI` and `--mount-from`.

use std::fmt;

/// What the user named: a bare repository name, or a repository URI that
/// also fixes the registry (account) and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRef {
    /// Repository name, such as `team/app`.
    pub name: String,
    /// Registry (account) id, when given in a URI.
    pub registry_id: Option<String>,
    /// Region, when given in a URI.
    pub region: Option<String>,
    /// Registry host, when given in a URI.
    pub host: Option<String>,
}

impl RepositoryRef {
    /// Parses `team/app` or `123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app`
    /// (also FIPS, dual-stack and China hosts, with or without `https://`).
    pub fn parse(input: &str) -> Result<RepositoryRef, String> {
        let s = input.trim();
        let s = s.strip_prefix("https://").unwrap_or(s);
        if s.is_empty() {
            return Err("the repository is empty".into());
        }
        let (host, name) = match s.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') => {
                (Some(first), rest)
            }
            _ => (None, s),
        };
        if let Some(at) = name.find('@') {
            return Err(format!(
                "`{input}` names an image digest (`{}`); pass the repository only",
                &name[at..]
            ));
        }
        if let Some((_, tag)) = name.rsplit_once(':') {
            return Err(format!(
                "`{input}` includes a tag (`:{tag}`); pass the repository only: the probe pushes its own throwaway tag (use --read-tag with --dry-run to read an existing one)"
            ));
        }
        validate_name(name)
            .map_err(|why| format!("`{name}` is not a valid ECR repository name: {why}"))?;
        let (registry_id, region) = match host {
            Some(h) => {
                let (id, region) = parse_host(h).ok_or_else(|| {
                    format!(
                        "`{h}` is not an ECR registry host: expected <account>.dkr.ecr.<region>.amazonaws.com"
                    )
                })?;
                (Some(id), Some(region))
            }
            None => (None, None),
        };
        Ok(RepositoryRef {
            name: name.to_string(),
            registry_id,
            region,
            host: host.map(str::to_string),
        })
    }
}

/// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` or
/// `<account>.dkr-ecr[-fips].<region>.on.aws` → (account, region).
pub fn parse_host(host: &str) -> Option<(String, String)> {
    let host = host.split(':').next()?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rest: Vec<&str> = parts.collect();
    let region = match rest.as_slice() {
        ["dkr", "ecr" | "ecr-fips", region, "amazonaws", "com"]
        | ["dkr", "ecr" | "ecr-fips", region, "amazonaws", "com", "cn"]
        | ["dkr-ecr" | "dkr-ecr-fips", region, "on", "aws"] => region,
        _ => return None,
    };
    // `123456789012.dkr.ecr..amazonaws.com` has an empty region: refused.
    crate::validate::region(region).ok()?;
    Some((account.to_string(), region.to_string()))
}

/// ECR's rule: 2–256 characters, lowercase path components of
/// `[a-z0-9]+(?:[._-][a-z0-9]+)*` separated by `/`.
fn validate_name(name: &str) -> Result<(), String> {
    if name.len() < 2 || name.len() > 256 {
        return Err("it must be 2 to 256 characters long".into());
    }
    for component in name.split('/') {
        let bytes = component.as_bytes();
        let ok = !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes.iter().all(|&b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && !bytes
                .windows(2)
                .any(|w| matches!(w[0], b'.' | b'_' | b'-') && matches!(w[1], b'.' | b'_' | b'-'));
        if !ok {
            return Err(format!(
                "component `{component}` must be lowercase letters and digits, separated by single `.`, `_` or `-`"
            ));
        }
    }
    Ok(())
}

/// A repository with everything resolved: the account, region and partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Repository name.
    pub name: String,
    /// Registry (account) id.
    pub registry_id: String,
    /// Region.
    pub region: String,
}

impl Repository {
    /// The AWS partition of the region: `aws`, `aws-cn` or `aws-us-gov`.
    pub fn partition(&self) -> &'static str {
        partition(&self.region)
    }

    /// `arn:<partition>:ecr:<region>:<account>:repository/<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            self.partition(),
            self.region,
            self.registry_id,
            self.name
        )
    }

    /// The registry host.
    pub fn default_host(&self) -> String {
        let suffix = if self.partition() == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("{}.dkr.ecr.{}.{}", self.registry_id, self.region, suffix)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.default_host(), self.name)
    }
}

/// The partition a region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_without_a_region_is_refused() {
        for uri in [
            "123456789012.dkr.ecr..amazonaws.com/team/app",
            "123456789012.dkr.ecr.US-EAST-1.amazonaws.com/team/app",
            "123456789012.dkr-ecr..on.aws/team/app",
        ] {
            let e = RepositoryRef::parse(uri).unwrap_err();
            assert!(e.contains("is not an ECR registry host"), "{uri}: {e}");
        }
    }

    #[test]
    fn names_and_uris() {
        let r = RepositoryRef::parse("team/app").unwrap();
        assert_eq!(
            (r.name.as_str(), r.registry_id, r.region),
            ("team/app", None, None)
        );
        let r =
            RepositoryRef::parse("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app")
                .unwrap();
        assert_eq!(r.name, "team/app");
        assert_eq!(r.registry_id.as_deref(), Some("123456789012"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        let r =
            RepositoryRef::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app").unwrap();
        let repo = Repository {
            name: r.name,
            registry_id: r.registry_id.unwrap(),
            region: r.region.unwrap(),
        };
        assert_eq!(
            repo.arn(),
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"
        );
        assert!(RepositoryRef::parse("123456789012.dkr-ecr.us-east-1.on.aws/app").is_ok());
        assert!(
            RepositoryRef::parse("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app").is_ok()
        );
    }

    #[test]
    fn rejects_what_ecr_rejects_with_reasons() {
        for (bad, why) in [
            ("App", "lowercase"),
            ("a", "2 to 256"),
            ("team//app", "component"),
            ("team/app:latest", "includes a tag"),
            ("team/app@sha256:00", "digest"),
            ("ghcr.io/team/app", "not an ECR registry host"),
            (
                "12345.dkr.ecr.us-east-1.amazonaws.com/app",
                "not an ECR registry host",
            ),
            ("a--b", "separated by single"),
            ("", "empty"),
        ] {
            let e = RepositoryRef::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
