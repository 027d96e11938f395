//! The job summary (`GITHUB_STEP_SUMMARY`): the markdown report, kept under
//! GitHub's per-step size limit.

use std::io::Write;
use std::path::Path;

/// GitHub's limit for one step's summary: 1 MiB. Past it the upload fails.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Where the markdown stands after a line: open code fence, open
/// `<details>` blocks, finding blocks completed so far.
#[derive(Clone, Copy, Default)]
struct State {
    /// Length of the open code fence's backtick run, 0 when none is open.
    fence: usize,
    /// Open `<details>` blocks.
    details: usize,
    /// Whether the innermost open `<details>` is a finding's.
    in_finding: bool,
    /// Finding blocks opened and closed.
    findings_done: usize,
}

impl State {
    fn advance(&mut self, line: &str) {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
        if self.fence > 0 {
            if ticks >= self.fence && trimmed[ticks..].trim().is_empty() {
                self.fence = 0;
            }
            return;
        }
        if ticks >= 3 {
            self.fence = ticks;
        } else if let Some(rest) = trimmed.strip_prefix("<details><summary>") {
            self.details += 1;
            self.in_finding = ["error: ", "warning: ", "notice: "]
                .iter()
                .any(|s| rest.starts_with(s));
        } else if trimmed.trim() == "</details>" && self.details > 0 {
            self.details -= 1;
            if self.in_finding {
                self.findings_done += 1;
                self.in_finding = false;
            }
        }
    }

    /// What closes the open blocks, followed by `notice`.
    fn tail(&self, notice: &str) -> String {
        let mut tail = String::new();
        if self.fence > 0 {
            tail.push_str(&"`".repeat(self.fence));
            tail.push('\n');
        }
        for _ in 0..self.details {
            tail.push_str("\n</details>\n");
        }
        tail.push_str(notice);
        tail
    }
}

/// How a size limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// UTF-8 bytes: the job summary's 1 MiB limit.
    Bytes,
    /// UTF-16 code units, as JavaScript's `length` counts. Never fewer than
    /// the Unicode characters a server counts, so a text within a limit of
    /// "characters" by this measure is within it by either count.
    Utf16,
}

impl Measure {
    /// The size of `text` in this measure.
    pub fn of(self, text: &str) -> usize {
        match self {
            Measure::Bytes => text.len(),
            Measure::Utf16 => text.encode_utf16().count(),
        }
    }

    /// The longest prefix of `text` (ending on a character boundary) whose
    /// size is at most `limit`.
    fn prefix(self, text: &str, limit: usize) -> &str {
        let mut size = 0;
        for (at, c) in text.char_indices() {
            size += match self {
                Measure::Bytes => c.len_utf8(),
                Measure::Utf16 => c.len_utf16(),
            };
            if size > limit {
                return &text[..at];
            }
        }
        text
    }
}

/// Fits `markdown` into `limit` bytes. Under the limit it is returned
/// unchanged. Over it, it is cut at a line boundary, any open code fence and
/// `<details>` block is closed (so the notice shows), and a visible
/// `> Truncated: N findings …` line is added, N being the findings whose
/// block did not fit whole. The result is at most `limit` bytes and never
/// splits a UTF-8 character.
pub fn fit_summary(markdown: &str, limit: usize) -> String {
    fit_markdown(markdown, limit, Measure::Bytes, |cut| {
        format!(
            "\n> Truncated: {cut} findings and the rest of the trace are in the JSON report (--output).\n"
        )
    })
}

/// Fits `markdown` into `limit` counted by `measure`. Under the limit it is
/// returned unchanged. Over it, it is cut at a line boundary, any open code
/// fence and `<details>` block is closed, and `notice(N)` is appended, N
/// being the finding blocks (`<details><summary>error: …`, `warning: …` or
/// `notice: …`) that did not fit whole. The result is at most `limit` and
/// never splits a character: should the limit be smaller than the notice
/// itself, the notice is cut too.
pub fn fit_markdown(
    markdown: &str,
    limit: usize,
    measure: Measure,
    notice: impl Fn(usize) -> String,
) -> String {
    if measure.of(markdown) <= limit {
        return markdown.to_string();
    }
    let mut total = State::default();
    for line in markdown.split_inclusive('\n') {
        total.advance(line);
    }
    let findings_total = total.findings_done;
    let tail =
        |state: &State| state.tail(&notice(findings_total.saturating_sub(state.findings_done)));

    let mut state = State::default();
    let first = tail(&state);
    let mut best = (0, measure.of(&first), first);
    let mut kept = 0;
    let mut kept_size = 0;
    for line in markdown.split_inclusive('\n') {
        kept += line.len();
        kept_size += measure.of(line);
        if kept_size > limit {
            break;
        }
        state.advance(line);
        let tail = tail(&state);
        let size = measure.of(&tail);
        if kept_size + size <= limit {
            best = (kept, size, tail);
        }
    }
    let (kept, _, tail) = best;
    let mut out = String::with_capacity(kept + tail.len());
    out.push_str(&markdown[..kept]);
    out.push_str(&tail);
    if measure.of(&out) > limit {
        // Only when the limit is smaller than the notice itself.
        let end = measure.prefix(&out, limit).len();
        out.truncate(end);
    }
    out
}

/// Appends `markdown` to the step summary file at `path`, fitted into what
/// is left of [`SUMMARY_LIMIT`] after what earlier writes in this step left there.
pub fn write_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let used = std::fs::metadata(path).map_or(0, |m| m.len());
    let left = SUMMARY_LIMIT.saturating_sub(usize::try_from(used).unwrap_or(usize::MAX));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(fit_summary(markdown, left).as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(findings: usize, trace: usize) -> String {
        let mut md = String::from("## ECR Fargate preflight: ❌ fail\n\n");
        for i in 0..findings {
            md.push_str(&format!(
                "<details><summary>error: finding {i} ✅</summary>\n\nwhy ✅✅\n\n```json\n{{\"a\": {i}}}\n```\n\n</details>\n\n"
            ));
        }
        md.push_str("<details><summary>Request trace</summary>\n\n| # |\n|---|\n");
        for i in 0..trace {
            md.push_str(&format!("| {i} ✅ |\n"));
        }
        md.push_str("\n</details>\n");
        md
    }

    #[test]
    fn under_the_limit_is_unchanged() {
        let md = sample(3, 5);
        assert_eq!(fit_summary(&md, md.len()), md);
        assert_eq!(fit_summary(&md, SUMMARY_LIMIT), md);
    }

    #[test]
    fn over_the_limit_is_cut_with_a_visible_notice() {
        let md = sample(20, 2000);
        for limit in [200, 1000, 3000, md.len() - 1] {
            let out = fit_summary(&md, limit);
            assert!(out.len() <= limit, "{} > {limit}", out.len());
            assert!(out.contains("\n> Truncated: "), "{out}");
            assert!(out.ends_with("are in the JSON report (--output).\n"));
            // Cut at a line boundary of the original.
            let cut = out.find("\n> Truncated").unwrap();
            assert!(md.is_char_boundary(cut));
            // Every details block and fence is closed before the notice.
            let opened = out.matches("<details>").count();
            assert_eq!(opened, out.matches("</details>").count(), "{out}");
            assert_eq!(out.matches("```").count() % 2, 0, "{out}");
        }
    }

    #[test]
    fn counts_the_findings_that_did_not_fit() {
        let md = sample(20, 10);
        let all_but_trace = md.find("<details><summary>Request trace").unwrap();
        let out = fit_summary(&md, all_but_trace + 150);
        assert!(out.contains("> Truncated: 0 findings"), "{out}");
        let out = fit_summary(&md, 300);
        let kept = out.matches("<details><summary>error").count();
        let closed = md[..out.find("\n> Truncated").unwrap()]
            .matches("\n</details>")
            .count();
        assert!(kept <= 20);
        assert!(
            out.contains(&format!("> Truncated: {} findings", 20 - closed)),
            "{out}"
        );
    }

    #[test]
    fn never_splits_a_utf8_char() {
        let md = "✅".repeat(500);
        for limit in 0..120 {
            let out = fit_summary(&md, limit);
            assert!(out.len() <= limit);
            assert!(std::str::from_utf8(out.as_bytes()).is_ok());
        }
        let md = sample(5, 50);
        for limit in (0..md.len()).step_by(7) {
            assert!(fit_summary(&md, limit).len() <= limit);
        }
    }

    #[test]
    fn utf16_counts_what_javascript_counts() {
        assert_eq!(Measure::Utf16.of("a✅🚀"), 4);
        assert_eq!(Measure::Bytes.of("a✅🚀"), 8);
        let md = sample(20, 200);
        for limit in [300, 1000, 2000] {
            let out = fit_markdown(&md, limit, Measure::Utf16, |n| format!("\n> cut {n}\n"));
            assert!(Measure::Utf16.of(&out) <= limit, "{limit}");
            assert!(out.contains("\n> cut "), "{out}");
            assert_eq!(
                out.matches("<details>").count(),
                out.matches("</details>").count()
            );
        }
        // A limit smaller than the notice: cut on a character boundary.
        for limit in 0..8 {
            let out = fit_markdown(&"🚀".repeat(100), limit, Measure::Utf16, |_| {
                "🚀🚀🚀🚀".into()
            });
            assert!(Measure::Utf16.of(&out) <= limit, "{limit}: {out}");
        }
    }

    #[test]
    fn appends_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "before\n").unwrap();
        write_summary(&path, "after\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nafter\n");
    }
}
