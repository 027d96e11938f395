//! The one writer of stdout and stderr.
//!
//! Under GitHub Actions the runner reads every line the step prints, on
//! stdout **and** stderr, and takes it for a workflow command when, after
//! leading whitespace, it begins with `::` — or when it contains `##[` (the
//! legacy form, matched anywhere in a line). A command can set outputs, stop
//! command processing (after which `::add-mask::` is printed in clear) or
//! fake annotations. Inputs often come from text an attacker controls
//! (branch names, pull-request titles), and AWS, registry and GitHub answers,
//! file names and file contents are not ours either.
//!
//! So everything the tool prints goes through here:
//!
//! - [`command`] prints one of the tool's own workflow commands, with the
//!   toolkit's escaping of its data and properties.
//! - [`out`] and [`err`] print free text. Under GitHub Actions a line that
//!   would begin a command has its leading `::` written as `%3A%3A`, and `##[`
//!   becomes `##%5B` ([`neutralize`]); a carriage return, which the runner
//!   also takes as a line break, and the other control characters are
//!   escaped the same way. Outside GitHub Actions the text is printed as is.
//! - [`block`] prints a long text (the report) as is, enclosed in
//!   `::stop-commands::` with a fresh random token, inside a group.
//!
//! Every write is first [`redact`]ed: a secret registered with
//! [`register_secret`] (the OIDC token, STS credentials, the registry
//! password, the GitHub token — [`crate::github::mask`] registers them) is
//! replaced by `***`, at every log level and outside GitHub Actions too.

use std::io::Write;
use std::sync::{Mutex, RwLock};

/// The secrets to redact, longest first.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Serializes writes, so a line from one task is never cut by another's.
static WRITE: Mutex<()> = Mutex::new(());

/// What a redacted secret is written as (the runner's own mask).
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not redacted: replacing every `ab` in the
/// output would make it unreadable and protects nothing (the runner does
/// the same for one-character masks).
const MIN_SECRET_LEN: usize = 4;

/// Remembers `secret` so that no later write prints it. Each line of a
/// multi-line secret is registered too, as the runner masks per line.
pub fn register_secret(secret: &str) {
    let mut parts: Vec<&str> = vec![secret.trim()];
    parts.extend(secret.lines().map(str::trim));
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for part in parts {
        if part.len() >= MIN_SECRET_LEN && !secrets.iter().any(|s| s == part) {
            secrets.push(part.to_string());
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_string();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// Whether we run inside GitHub Actions (`GITHUB_ACTIONS=true`): then the
/// runner reads everything printed.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a command's data as the toolkit's `escapeData` does:
/// `%` → `%25`, CR → `%0D`, LF → `%0A`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value as the toolkit's `escapeProperty`
/// does: [`escape_data`] plus `:` → `%3A` and `,` → `%2C`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Free text made inert for the runner: no line of the result begins a
/// workflow command after leading whitespace, and none contains `##[`.
/// Line feeds stay line breaks; a carriage return (which the runner also
/// splits lines on) and the other control characters but tab are written
/// as `%0D`, `%1B`, …; a line's leading `::` as `%3A%3A`; `##[` as `##%5B`.
/// Text without any of these is returned unchanged.
pub fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut line: String = line
            .chars()
            .map(|c| {
                if (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}') {
                    format!("%{:02X}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect();
        let indent = line.len() - line.trim_start().len();
        if line[indent..].starts_with("::") {
            line.replace_range(indent..indent + 2, "%3A%3A");
        }
        out.push_str(&line.replace("##[", "##%5B"));
    }
    out
}

/// Whether a line would be taken for a workflow command by the runner.
pub fn is_command_line(line: &str) -> bool {
    line.trim().starts_with("::") || line.contains("##[")
}

fn write(mut stream: impl Write, text: &str) {
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let text = redact(text);
    let text = if in_actions() {
        neutralize(&text)
    } else {
        text
    };
    // A failed write to stdout or stderr means nobody reads it: nothing to do.
    let _ = stream.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stream.write_all(b"\n");
    }
    let _ = stream.flush();
}

/// Prints free text on stdout, redacted, and inert under GitHub Actions.
/// A final line break is added when missing.
pub fn out(text: &str) {
    write(std::io::stdout().lock(), text);
}

/// Prints free text on stderr, redacted, and inert under GitHub Actions.
/// A final line break is added when missing.
pub fn err(text: &str) {
    write(std::io::stderr().lock(), text);
}

/// Prints a document that is the requested output itself (a JSON or
/// markdown report on stdout, `rules --markdown`): redacted, and otherwise
/// byte for byte outside GitHub Actions. Under GitHub Actions stdout may be
/// the log, so the document is made inert there too while it stays what it
/// is: in JSON, where `##[` can only stand inside a string, it becomes the
/// equal `##\u005b` (and no line of JSON can begin with `::`); any other
/// document goes through [`neutralize`].
pub fn document(text: &str, json: bool) {
    let mut text = redact(text);
    if in_actions() {
        text = if json {
            text.replace("##[", "##\\u005b")
        } else {
            neutralize(&text)
        };
    }
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// The workflow commands the tool itself issues. Each one is built here,
/// so nothing else can print a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `::add-mask::` — hide a value in all later log lines.
    AddMask,
    /// `::group::` — open a collapsible group.
    Group,
    /// `::endgroup::` — close it.
    EndGroup,
    /// `::error` annotation.
    Error,
    /// `::warning` annotation.
    Warning,
    /// `::notice` annotation.
    Notice,
}

impl Command {
    /// The command's name as the runner reads it.
    pub fn name(self) -> &'static str {
        match self {
            Command::AddMask => "add-mask",
            Command::Group => "group",
            Command::EndGroup => "endgroup",
            Command::Error => "error",
            Command::Warning => "warning",
            Command::Notice => "notice",
        }
    }
}

/// One workflow command line, without the line break: the toolkit's
/// `escapeProperty` on every property value and `escapeData` on the data.
/// Property names are the tool's own (`file`, `line`, `title`).
pub fn format_command(command: Command, properties: &[(&str, String)], data: &str) -> String {
    let props = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(&redact(v))))
        .collect::<Vec<_>>()
        .join(",");
    let sep = if props.is_empty() { "" } else { " " };
    format!(
        "::{}{sep}{props}::{}",
        command.name(),
        escape_data(&redact(data))
    )
}

/// Prints one of the tool's own workflow commands on stdout, under GitHub
/// Actions only. `::add-mask::` is never redacted (it is how a secret gets
/// masked); everything else is.
pub fn command(command: Command, properties: &[(&str, String)], data: &str) {
    if !in_actions() {
        return;
    }
    let line = if command == Command::AddMask {
        // Never redacted (that would mask `***`); escaped as the toolkit's
        // `setSecret` does, and the runner unescapes it.
        format!("::add-mask::{}", escape_data(data))
    } else {
        format_command(command, properties, data)
    };
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Prints an annotation line already built by [`format_command`] (the
/// report's annotations), under GitHub Actions only.
pub fn annotation_line(line: &str) {
    if !in_actions() {
        return;
    }
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes `text` inside a collapsible group titled `title`, with workflow
/// commands stopped by a fresh random token for the whole text, so that
/// text from AWS or the user's files cannot issue commands. The text is
/// redacted; it is otherwise written as is (colours included).
pub fn write_block(out: &mut impl Write, title: &str, text: &str) -> std::io::Result<()> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    writeln!(
        out,
        "::group::{}",
        neutralize(&redact(title)).replace('\n', " ")
    )?;
    writeln!(out, "::stop-commands::{token}")?;
    let text = redact(text);
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out, "::{token}::")?;
    writeln!(out, "::endgroup::")?;
    out.flush()
}

/// Prints `text` on stdout: under GitHub Actions as a [`write_block`],
/// else as is (redacted).
pub fn block(title: &str, text: &str) {
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = anstream::stdout().lock();
    let _ = if in_actions() {
        write_block(&mut stdout, title, text)
    } else {
        stdout
            .write_all(redact(text).as_bytes())
            .and_then(|()| stdout.flush())
    };
}

/// A `tracing` writer that sends each log event through [`err`]: redacted,
/// and inert under GitHub Actions.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogWriter;

/// The buffer of one log event, written through [`err`] when dropped.
#[derive(Debug, Default)]
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            err(&String::from_utf8_lossy(&self.0));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_neutralized_can_begin_a_command() {
        let corpus = [
            "::set-output name=verdict::pass",
            "   ::error::x",
            "\t::stop-commands::zz",
            "a\n::add-mask::x",
            "a\r::warning::x",
            "a\r\n::notice::x",
            "##[error]x",
            "text ##[set-output name=a;]b",
            "\u{00A0}::error::nbsp",
            "\u{2028}::error::line separator",
            "\u{0085}::error::next line",
            "%0A::error::x",
            "::",
        ];
        for text in corpus {
            let n = neutralize(text);
            // The runner splits on CR and LF.
            for line in n.split(['\n', '\r']) {
                assert!(!is_command_line(line), "{text:?} → {n:?}");
            }
        }
    }

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "push/access-denied: ecr:PutImage denied",
            "a: b :: c",
            "tabs\tstay",
            "# heading [x]",
        ] {
            assert_eq!(neutralize(text), text);
        }
        assert_eq!(neutralize("  ::x"), "  %3A%3Ax");
        assert_eq!(neutralize("a##[b"), "a##%5Bb");
        assert_eq!(neutralize("a\rb"), "a%0Db");
    }

    #[test]
    fn registered_secrets_are_redacted_longest_first() {
        register_secret("s3cr3t-value-for-console-test");
        register_secret("s3cr3t");
        register_secret("ab");
        let text = redact("x s3cr3t-value-for-console-test y s3cr3t z ab");
        assert_eq!(text, "x *** y *** z ab");
    }

    #[test]
    fn commands_escape_their_data_and_properties() {
        let line = format_command(
            Command::Error,
            &[("title", "a:b,c".into())],
            "100%\n::set-output name=x::y",
        );
        assert_eq!(
            line,
            "::error title=a%3Ab%2Cc::100%25%0A::set-output name=x::y"
        );
        assert_eq!(format_command(Command::EndGroup, &[], ""), "::endgroup::");
    }

    #[test]
    fn a_block_stops_commands_with_a_fresh_token() {
        let mut a = Vec::new();
        write_block(&mut a, "r", "::error::injected\nno newline").unwrap();
        let text = String::from_utf8(a).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "::group::r");
        let token = lines[1].strip_prefix("::stop-commands::").unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(lines[2], "::error::injected");
        assert_eq!(lines[3], "no newline");
        assert_eq!(lines[4], format!("::{token}::"));
        assert_eq!(lines[5], "::endgroup::");
        let mut b = Vec::new();
        write_block(&mut b, "r", "x").unwrap();
        assert_ne!(
            text.lines().nth(1),
            String::from_utf8(b).unwrap().lines().nth(1)
        );
    }

    /// Nothing but this module writes to stdout or stderr: a `println!`
    /// elsewhere would bypass the escaping and the redaction.
    #[test]
    fn no_other_module_prints() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("console.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Unit tests may print; production code may not.
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for pattern in [
                        "println!",
                        "print!(",
                        "eprint",
                        "dbg!(",
                        "io::stdout().lock",
                        "io::stderr().lock",
                        "stdout().write",
                        "stderr().write",
                    ] {
                        if code.contains(pattern) {
                            found.push(format!("{}: {pattern}", path.display()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.is_empty(), "printing outside console.rs: {found:?}");
    }
}
