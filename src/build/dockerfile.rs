//! The images a Dockerfile reads: its `FROM` lines (and `COPY --from=` an
//! image), with the global `ARG` defaults and `--build-arg` values
//! substituted and stage names resolved.
//!
//! A small parser of our own: the Dockerfile parser crates on crates.io are
//! unmaintained or parse a grammar older than BuildKit's (heredocs, the
//! `escape` directive). Only what decides which images are read is parsed:
//! parser directives, line continuations, comments, heredoc bodies (skipped),
//! `ARG` before the first `FROM`, `FROM` and `COPY --from`. Sources: the
//! Dockerfile reference (docs.docker.com/reference/dockerfile: "Understand
//! how ARG and FROM interact", "Parser directives", "Here-Documents").

use std::collections::BTreeMap;

use super::facts::{ImageUse, ImageVia, Value};

/// Every image the Dockerfile reads, in file order.
pub fn images(text: &str, build_args: &BTreeMap<String, String>) -> Vec<ImageUse> {
    let escape = escape_directive(text);
    let mut globals: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = false;
    let mut uses = Vec::new();
    for (line, instruction) in instructions(text, escape) {
        let (keyword, rest) = split_word(&instruction);
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => {
                for (name, default) in arg_definitions(rest) {
                    // A --build-arg overrides the default; an ARG without a
                    // default and without a --build-arg is unset (empty).
                    let value = build_args.get(&name).cloned().or(default);
                    globals.insert(name, value);
                }
            }
            "FROM" => {
                seen_from = true;
                let (flags, words) = flags_and_words(rest);
                let Some(image) = words.first() else { continue };
                let stage = match (words.get(1), words.get(2)) {
                    (Some(r#as), Some(name)) if r#as.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => None,
                };
                let platform = flags.get("platform").map(|p| substitute(p, &globals));
                let reference = substitute(image, &globals);
                let earlier_stage = matches!(&reference, Value::Known(r) if stages.iter().any(|s| s.eq_ignore_ascii_case(r)));
                if !earlier_stage
                    && !matches!(&reference, Value::Known(r) if r.eq_ignore_ascii_case("scratch"))
                {
                    uses.push(ImageUse {
                        line,
                        reference,
                        platform,
                        via: ImageVia::From,
                        stage: stage.clone(),
                    });
                }
                stages.push(stage.unwrap_or_else(|| (stages.len()).to_string()));
            }
            "COPY" | "ADD" => {
                let (flags, _) = flags_and_words(rest);
                let Some(from) = flags.get("from") else {
                    continue;
                };
                // `--from` names a stage (by name or index) or an image; only
                // the global ARGs are in scope in this position's meaning
                // for us (stage ARGs are not resolved: unknown).
                let reference = substitute(from, &globals);
                let is_stage = matches!(&reference, Value::Known(r)
                    if stages.iter().any(|s| s.eq_ignore_ascii_case(r)) || r.parse::<usize>().is_ok());
                if !is_stage {
                    uses.push(ImageUse {
                        line,
                        reference,
                        platform: None,
                        via: ImageVia::CopyFrom,
                        stage: None,
                    });
                }
            }
            _ => {}
        }
    }
    uses
}

/// The escape character: `\`, or what a leading `# escape=` directive says.
fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(comment) = trimmed.strip_prefix('#') else {
            break; // directives only come before the first instruction or blank
        };
        let Some((key, value)) = comment.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "escape" {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
        if key != "syntax" && key != "check" {
            break;
        }
    }
    '\\'
}

/// The instructions with their 1-based first line: continuations joined,
/// comment lines dropped, heredoc bodies skipped.
fn instructions(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut heredoc: Vec<String> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if let Some(end) = heredoc.first() {
            if line.trim_start_matches('\t') == end {
                heredoc.remove(0);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue; // comments (and directives), also inside a continuation
        }
        if current.is_none() && trimmed.is_empty() {
            continue;
        }
        let (content, continued) = match trimmed.trim_end().strip_suffix(escape) {
            Some(before) => (before.to_string(), true),
            None => (trimmed.to_string(), false),
        };
        let entry = current.get_or_insert_with(|| (index + 1, String::new()));
        if !entry.1.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(content.trim());
        if !continued {
            let done = current.take().expect("set above");
            heredoc = heredoc_ends(&done.1);
            out.push(done);
        }
    }
    if let Some(done) = current {
        out.push(done);
    }
    out
}

/// The end words of the heredocs an instruction opens (`<<EOF`, `<<-"EOF"`).
fn heredoc_ends(instruction: &str) -> Vec<String> {
    let mut ends = Vec::new();
    let mut rest = instruction;
    while let Some(at) = rest.find("<<") {
        let after = rest[at + 2..].trim_start_matches('-');
        let word: String = after
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            ends.push(word);
        }
        rest = &rest[at + 2..];
    }
    ends
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(at) => (&s[..at], s[at..].trim_start()),
        None => (s, ""),
    }
}

/// `--flag=value` words (lower-cased names), then the other words.
fn flags_and_words(s: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut flags = BTreeMap::new();
    let mut words = Vec::new();
    for word in s.split_whitespace() {
        match word.strip_prefix("--") {
            Some(flag) if words.is_empty() => {
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                flags.insert(name.to_ascii_lowercase(), unquote(value).to_string());
            }
            _ => words.push(unquote(word).to_string()),
        }
    }
    (flags, words)
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// `ARG A=1 B` → `[(A, Some(1)), (B, None)]`.
fn arg_definitions(rest: &str) -> Vec<(String, Option<String>)> {
    rest.split_whitespace()
        .map(|word| match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(unquote(value).to_string())),
            None => (word.to_string(), None),
        })
        .collect()
}

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}`
/// with the global ARGs; unknown when a variable has no value and no
/// default (BuildKit would substitute an empty string, which is never a
/// usable image name, so the reference is reported as unknown instead).
pub fn substitute(s: &str, vars: &BTreeMap<String, Option<String>>) -> Value<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let (name, modifier) = if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|c| *c != '}').collect();
            match inner.split_once(':') {
                Some((name, m)) => (name.to_string(), Some(m.to_string())),
                None => (inner, None),
            }
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            (name, None)
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        let value = vars.get(&name).cloned().flatten().filter(|v| !v.is_empty());
        match (value, modifier.as_deref()) {
            (Some(v), None) => out.push_str(&v),
            (Some(_), Some(m)) if m.starts_with('+') => out.push_str(&m[1..]),
            (Some(v), Some(_)) => out.push_str(&v),
            (None, Some(m)) if m.starts_with('-') => out.push_str(&m[1..]),
            (None, Some(m)) if m.starts_with('+') => {}
            (None, _) => {
                return Value::Unknown(format!(
                    "`{s}`: the build argument `{name}` has no default and no --build-arg value"
                ));
            }
        }
    }
    Value::Known(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn known(uses: &[ImageUse]) -> Vec<String> {
        uses.iter()
            .map(|u| match &u.reference {
                Value::Known(r) => r.clone(),
                Value::Unknown(why) => format!("?{why}"),
            })
            .collect()
    }

    #[test]
    fn global_args_and_build_args_are_substituted() {
        let text = "ARG REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com\nARG TAG=3.20\nFROM ${REGISTRY}/base/alpine:$TAG AS build\nRUN make\nFROM build\n";
        let uses = images(text, &BTreeMap::new());
        assert_eq!(
            known(&uses),
            ["123456789012.dkr.ecr.us-east-1.amazonaws.com/base/alpine:3.20"]
        );
        assert_eq!(uses[0].line, 3);
        assert_eq!(uses[0].stage.as_deref(), Some("build"));
        let args = BTreeMap::from([("TAG".to_string(), "3.21".to_string())]);
        assert!(known(&images(text, &args))[0].ends_with(":3.21"));
    }

    #[test]
    fn stages_scratch_and_copy_from() {
        let text = "FROM golang:1.23 AS Build\nFROM scratch\nCOPY --from=build /app /app\nCOPY --from=0 /x /x\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\nFROM build AS again\n";
        let uses = images(text, &BTreeMap::new());
        assert_eq!(known(&uses), ["golang:1.23", "nginx:1.27"]);
        assert_eq!(uses[1].via, ImageVia::CopyFrom);
        assert_eq!(uses[1].line, 5);
    }

    #[test]
    fn continuations_comments_platform_and_heredocs() {
        let text = "# syntax=docker/dockerfile:1\nFROM \\\n  --platform=$BUILDPLATFORM \\\n  # a comment inside\n  alpine:3 AS a\nRUN <<EOF\nFROM evil:1\nEOF\nFROM debian:12\n";
        let uses = images(text, &BTreeMap::new());
        assert_eq!(known(&uses), ["alpine:3", "debian:12"]);
        assert_eq!(uses[0].line, 2);
        assert!(matches!(uses[0].platform, Some(Value::Unknown(_))));
        assert_eq!(uses[1].line, 9);
    }

    #[test]
    fn the_escape_directive_changes_the_continuation() {
        let text = "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\n";
        assert_eq!(
            known(&images(text, &BTreeMap::new())),
            ["mcr.microsoft.com/windows/servercore:ltsc2022"]
        );
    }

    #[test]
    fn an_arg_without_a_value_is_unknown_and_defaults_apply() {
        let text = "ARG BASE\nFROM $BASE\nFROM ${BASE:-alpine}:3\n";
        let uses = images(text, &BTreeMap::new());
        assert!(matches!(&uses[0].reference, Value::Unknown(why) if why.contains("BASE")));
        assert_eq!(uses[1].reference, Value::Known("alpine:3".into()));
    }

    #[test]
    fn an_arg_after_the_first_from_is_not_global() {
        let text = "FROM alpine AS a\nARG LATE=x\nFROM $LATE\n";
        let uses = images(text, &BTreeMap::new());
        assert!(matches!(uses[1].reference, Value::Unknown(_)));
    }

    proptest! {
        /// Whatever the text, the parser ends, never panics, and every line
        /// it names is a line of the file.
        #[test]
        fn any_text_parses_within_its_lines(text in "(FROM|ARG|COPY|RUN|#| |\\\\|\\$|\\{|\\}|<<|EOF|--from=|a|:|=|-|\n){0,60}") {
            let lines = text.lines().count();
            for u in images(&text, &BTreeMap::new()) {
                prop_assert!(u.line >= 1 && u.line <= lines.max(1));
            }
        }

        /// A FROM of a plain image name is found whatever lines surround it.
        #[test]
        fn a_plain_from_is_always_found(
            before in proptest::collection::vec("(RUN echo [a-z]{1,8}|# [a-z ]{0,10}|)", 0..5),
            name in "[a-z][a-z0-9]{0,10}(/[a-z0-9]{1,8})?:[0-9]{1,3}",
        ) {
            let mut text = before.join("\n");
            text.push_str(&format!("\nFROM {name}\n"));
            let uses = images(&text, &BTreeMap::new());
            prop_assert_eq!(known(&uses), vec![name]);
        }
    }
}
