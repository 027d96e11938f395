//! The caps on what a remote answer may make the run read or keep: response
//! bodies (the registry's and the GitHub API's) and listing pages. Each is generous for what the protocol allows, so
//! only a broken or hostile server reaches it; reaching it is recorded as a
//! fact, and the judge turns it into a finding that fails closed (not
//! verified). README "Deadlines, limits, retries and cleanup" lists them.

use std::collections::HashSet;

/// One KiB.
const KIB: usize = 1024;
/// One MiB.
const MIB: usize = 1024 * KIB;

/// The most of a manifest or index body read from the registry. The OCI
/// distribution spec asks registries to accept manifests of at least 4 MiB,
/// and ECR's limit is 4 MiB: a longer answer is not a manifest ECR serves.
pub const MANIFEST_BODY: usize = 4 * MIB;
/// The most of a blob read back (the probe's own config, layer and
/// attestation blobs are a few hundred bytes; `--read-tag` reads one layer of
/// an existing image, and a 2xx answer with its first 8 MiB already proves the
/// read was allowed).
pub const BLOB_BODY: usize = 8 * MIB;
/// The most of any other registry answer: errors (a distribution-spec error
/// document is a few hundred bytes), redirects and upload answers.
pub const ERROR_BODY: usize = 64 * KIB;
/// The most of any one GitHub REST API answer the pull-request comment reads
/// (a page of the pull request's comments, the comment created or updated,
/// an error). A page holds at most 100 comments of GitHub's limit of 65,536
/// characters each: about 6.6 MB of plain text with their metadata. A longer
/// answer is not read past it, and the comment fails naming this limit.
pub const GITHUB_BODY: usize = 8 * MIB;
/// The most pages one listing reads (ECS `ListServices` at 100 a page is
/// 100,000 services; EC2's describe calls page at 1,000). A listing that goes
/// on past it, or whose next token repeats, is cut there and reported.
pub const MAX_PAGES: usize = 1000;

/// Whether a listing should read another page, tracking the tokens seen.
#[derive(Debug, Default)]
pub struct Pages {
    read: usize,
    seen: HashSet<String>,
}

/// Why a listing was cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// The next token was one already followed: the pages loop.
    Loop,
    /// [`MAX_PAGES`] pages were read and the listing went on.
    TooManyPages,
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Loop => write!(
                f,
                "the listing stopped where its next token repeated an earlier one (its pages loop), so what follows was not read"
            ),
            Cut::TooManyPages => write!(
                f,
                "the listing stopped after {MAX_PAGES} pages and still had more, so what follows was not read"
            ),
        }
    }
}

impl Pages {
    /// Counts a page whose answer carried `next` as its next token: `Ok`
    /// while the listing may go on (or has ended), `Err` when it must stop.
    pub fn page(&mut self, next: Option<&str>) -> Result<(), Cut> {
        self.read += 1;
        let Some(next) = next.filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        if !self.seen.insert(next.to_string()) {
            return Err(Cut::Loop);
        }
        if self.read >= MAX_PAGES {
            return Err(Cut::TooManyPages);
        }
        Ok(())
    }
}

/// A body read with a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// The body, or its first `limit` bytes.
    pub bytes: Vec<u8>,
    /// The body went on past the limit; the rest was never read.
    pub over: bool,
}

/// Reads `response`'s body chunk by chunk, keeping at most `limit` bytes:
/// past it, reading stops (the connection is dropped with the response), so
/// an endless body costs `limit` bytes of memory, never more.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Limited, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            let room = limit - bytes.len();
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Limited { bytes, over: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Limited { bytes, over: false })
}

/// A byte count as a person reads it: `4 MiB`, `64 KiB`, `512 bytes`.
pub fn size(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_that_ends_is_not_cut() {
        let mut p = Pages::default();
        assert_eq!(p.page(Some("a")), Ok(()));
        assert_eq!(p.page(Some("b")), Ok(()));
        assert_eq!(p.page(None), Ok(()));
    }

    #[test]
    fn a_repeated_token_is_a_loop_even_after_others() {
        let mut p = Pages::default();
        assert_eq!(p.page(Some("a")), Ok(()));
        assert_eq!(p.page(Some("b")), Ok(()));
        assert_eq!(p.page(Some("a")), Err(Cut::Loop));
        let mut p = Pages::default();
        assert_eq!(p.page(Some("a")), Ok(()));
        assert_eq!(p.page(Some("a")), Err(Cut::Loop));
    }

    #[test]
    fn endless_distinct_tokens_stop_at_the_page_cap() {
        let mut p = Pages::default();
        for i in 1..MAX_PAGES {
            assert_eq!(p.page(Some(&i.to_string())), Ok(()), "page {i}");
        }
        assert_eq!(p.page(Some("last")), Err(Cut::TooManyPages));
    }
}
