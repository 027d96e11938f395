//! Suppressions: `[[ignore]]` entries of the configuration file accept a
//! finding knowingly. A suppressed finding leaves the verdict and the exit
//! code but stays in the report, marked with the reason (JSON `suppressed`,
//! SARIF `suppressions`, a collapsed list in the summary and comment). An
//! expired entry suppresses nothing and is a warning; an entry that matches
//! nothing is a notice, so stale entries do not pile up.

use toml::de::{DeTable, DeValue};

use super::rules;
use crate::error::UsageError;
use crate::report::{Finding, Fix, Location, Report, Suppression};

/// One `[[ignore]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// The rule id (or a `*` pattern over rule ids).
    pub rule: String,
    /// A `*`/`?` pattern over the finding's resources and targets; any
    /// finding of the rule when absent.
    pub resource: Option<String>,
    /// Why the finding is accepted (required).
    pub reason: String,
    /// The last day the entry applies, `YYYY-MM-DD`.
    pub expires: Option<Date>,
    /// The entry's line in the file.
    pub line: usize,
}

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day, 1–31.
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0);
        let days = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&date.day).then_some(date)
    }

    /// Today, in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// The day `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Ignore {
    /// Reads one entry; `at` names a line of the file.
    pub(super) fn parse(
        table: &DeTable<'_>,
        line: usize,
        text: &str,
        at: &dyn Fn(usize) -> String,
    ) -> Result<Ignore, UsageError> {
        let (mut rule, mut resource, mut reason, mut expires) = (None, None, None, None);
        for (key, value) in table.iter() {
            let key_line = super::line_of(text, key.span().start);
            let name = key.get_ref().as_ref();
            let string = |what: &str| match value.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    crate::validate::plain_text(s).map_err(|e| {
                        UsageError(format!("{}: `ignore.{name}`: {e}", at(key_line)))
                    })?;
                    Ok(s.to_string())
                }
                _ => Err(UsageError(format!(
                    "{}: `ignore.{name}` is {what}",
                    at(key_line)
                ))),
            };
            match name {
                "rule" => rule = Some(string("a rule id, such as `network/public-ip`")?),
                "resource" => resource = Some(string("a pattern (`*` matches anything)")?),
                "reason" => reason = Some(string("a sentence saying why")?),
                "expires" => {
                    let text = match value.get_ref() {
                        DeValue::Datetime(d) => d.to_string(),
                        DeValue::String(s) => s.to_string(),
                        _ => String::new(),
                    };
                    expires = Some(Date::parse(&text).ok_or_else(|| {
                        UsageError(format!(
                            "{}: `ignore.expires`: `{text}` is not a date (YYYY-MM-DD)",
                            at(key_line)
                        ))
                    })?);
                }
                other => {
                    return Err(UsageError(format!(
                        "{}: unknown key `ignore.{other}` (an `[[ignore]]` entry takes rule, resource, reason, expires)",
                        at(key_line)
                    )));
                }
            }
        }
        let rule = rule.ok_or_else(|| {
            UsageError(format!("{}: an `[[ignore]]` entry needs `rule`", at(line)))
        })?;
        if !rule.contains(['*', '?']) && crate::catalog::by_id(&rule).is_none() {
            return Err(UsageError(format!(
                "{}: `ignore.rule`: no rule is called `{rule}` (`ecr-fargate-preflight rules` lists them)",
                at(line)
            )));
        }
        let reason = reason.ok_or_else(|| {
            UsageError(format!(
                "{}: an `[[ignore]]` entry needs `reason`: say why the finding is accepted",
                at(line)
            ))
        })?;
        Ok(Ignore {
            rule,
            resource,
            reason,
            expires,
            line,
        })
    }

    /// Whether the entry covers `finding`.
    pub fn matches(&self, finding: &Finding) -> bool {
        glob(&self.rule, &finding.rule)
            && self.resource.as_deref().is_none_or(|pattern| {
                finding
                    .resources
                    .iter()
                    .chain(&finding.targets)
                    .any(|r| glob(pattern, r))
            })
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters
/// (slashes included) and `?` any one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Marks the findings `ignores` cover, adds a finding per expired or unused
/// entry, and recounts the report. `file` names the configuration file in
/// those findings; `today` decides what has expired.
pub fn apply(report: &mut Report, ignores: &[Ignore], file: &str, today: Date) {
    if ignores.is_empty() {
        return;
    }
    let mut used = vec![false; ignores.len()];
    let mut extra = Vec::new();
    for (i, ignore) in ignores.iter().enumerate() {
        if let Some(expires) = ignore.expires.filter(|e| *e < today) {
            used[i] = true;
            extra.push(expired(ignore, file, expires));
        }
    }
    for finding in &mut report.findings {
        if finding.suppressed.is_some() {
            continue;
        }
        let live = ignores
            .iter()
            .enumerate()
            .find(|(_, ig)| ig.expires.is_none_or(|e| e >= today) && ig.matches(finding));
        if let Some((i, ignore)) = live {
            used[i] = true;
            finding.suppressed = Some(Suppression {
                reason: ignore.reason.clone(),
                expires: ignore.expires.map(|e| e.to_string()),
                source: format!("{file}:{}", ignore.line),
            });
        }
    }
    for (ignore, used) in ignores.iter().zip(used) {
        if !used {
            extra.push(unused(ignore, file));
        }
    }
    report.findings.extend(extra);
    report.recount();
}

fn describe(ignore: &Ignore) -> String {
    match &ignore.resource {
        Some(r) => format!("`{}` on `{r}`", ignore.rule),
        None => format!("`{}`", ignore.rule),
    }
}

fn located(f: Finding, file: &str, ignore: &Ignore) -> Finding {
    f.with_resources([format!("{file}:{}", ignore.line)])
        .with_location(Some(Location {
            file: Some(file.to_string()),
            line: Some(ignore.line),
            address: None,
        }))
}

/// The finding of an expired entry.
fn expired(ignore: &Ignore, file: &str, on: Date) -> Finding {
    let f = rules::SUPPRESSION_EXPIRED
        .finding(
            format!("Suppression of {} expired on {on}", describe(ignore)),
            format!(
                "The entry at {file}:{} expired on {on}; the findings it covered count again.",
                ignore.line
            ),
        )
        .with_fix(Fix {
            description: rules::SUPPRESSION_EXPIRED.fix.to_string(),
            ..Fix::default()
        });
    located(f, file, ignore)
}

/// The finding of an entry that matched nothing.
fn unused(ignore: &Ignore, file: &str) -> Finding {
    let f = rules::SUPPRESSION_UNUSED
        .finding(
            format!("Suppression of {} matched no finding", describe(ignore)),
            format!(
                "The entry at {file}:{} matched no finding of this run.",
                ignore.line
            ),
        )
        .with_fix(Fix {
            description: rules::SUPPRESSION_UNUSED.fix.to_string(),
            ..Fix::default()
        });
    located(f, file, ignore)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_texts() {
        assert!(glob("network/*", "network/public-ip"));
        assert!(glob("*:prod:*", "cluster:1:prod:web"));
        assert!(glob("sg-0?", "sg-01"));
        assert!(!glob("sg-0?", "sg-012"));
        assert!(!glob("team/*", "other/app"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn dates_parse_strictly_and_today_is_a_real_day() {
        assert_eq!(
            Date::parse("2026-02-28"),
            Some(Date {
                year: 2026,
                month: 2,
                day: 28
            })
        );
        assert_eq!(Date::parse("2026-02-29"), None);
        assert!(Date::parse("2024-02-29").is_some());
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("26-01-01"), None);
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_819).to_string(), "2027-01-01");
        assert!(Date::today() > Date::parse("2025-01-01").unwrap());
    }
}
