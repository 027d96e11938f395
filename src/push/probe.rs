//! The live push probe: replays buildx's multi-platform push, in buildx's
//! order, against the real registry, and records every request. It decides
//! nothing: [`super::diagnose`] turns the record into findings.
//!
//! Unlike buildx, the probe goes on after a failed step, so one run names
//! every missing action instead of only the first: AWS authorizes a request
//! before it looks at its content, so a later step still shows whether its
//! action is allowed even when an earlier one failed.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use reqwest::{Method, StatusCode, Url};

use super::ecr;
use super::exchange::{Recorder, is_valid_digest, quote_untrusted};
use super::facts::{ProbeFacts, RepositoryLookup};

use super::image::{
    Attestations, Blob, INDEX_MEDIA_TYPE, Manifest, Platform, ProbeImage, digest_of,
};
use super::registry::{Registry, Request, Response, location};
use super::steps::Step;
use crate::aws::repository::Repository;
use crate::deadline;

/// Blobs (and child manifests) in flight at once, as BuildKit bounds its
/// pushes: each blob's HEAD and POST go together, so a round of blobs has up
/// to twice as many requests in flight. With more blobs than this, a round
/// takes more than one round trip.
pub const BLOB_CONCURRENCY: usize = 8;

mod build;
pub use build::{BaseImage, CacheExport};

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// What to replay.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// The target repository.
    pub repository: Repository,
    /// Registry base URL.
    pub registry: Url,
    /// Platforms to push.
    pub platforms: Vec<Platform>,
    /// How attestations are attached.
    pub attestations: Attestations,
    /// `--mount-from`: a repository of the same registry to mount a blob from.
    pub mount_from: Option<String>,
    /// The build's base images in the same registry: each is read as the
    /// build pulls it, and its first layer mounted as BuildKit does.
    pub bases: Vec<BaseImage>,
    /// The build's registry cache exports to repositories of the registry.
    pub caches: Vec<CacheExport>,
    /// The build's `cache-from` references (repository, tag) in the
    /// registry that no export of this build writes.
    pub cache_imports: Vec<(String, String)>,
    /// Delete the probe's image afterwards.
    pub cleanup: bool,
    /// `--dry-run`: push nothing.
    pub dry_run: bool,
    /// `--read-tag`: the existing tag the dry run reads.
    pub read_tag: Option<String>,
    /// Unique id of this run; the throwaway tag and the image content derive from it.
    pub run_id: String,
    /// First retry delay for throttled requests.
    pub retry_base: Duration,
}

impl ProbePlan {
    /// The throwaway tag: unique per run, never an existing tag.
    pub fn tag(&self) -> String {
        format!("ecr-fargate-preflight-{}", self.run_id)
    }
}

/// Runs the probe. The replay stops where it is when the run's deadline
/// passes or the run is interrupted ([`deadline::reached`]); what it
/// recorded is kept, and the cleanup still runs, within the cleanup window
/// after the deadline.
pub async fn run(ecr_client: &aws_sdk_ecr::Client, plan: &ProbePlan) -> ProbeFacts {
    let started = Instant::now();
    let recorder = Recorder::default();
    let mut state = State::default();
    let tag = if plan.dry_run {
        plan.read_tag.clone()
    } else {
        Some(plan.tag())
    };
    let mut probe = None;
    let mut token_obtained = false;
    let mut lookup = RepositoryLookup::NotAsked;
    let cut_short = {
        let replay = async {
            // The image is CPU work (gzip, digests), independent of the
            // token: it is built on a blocking thread while the token
            // request is in flight, not after its answer.
            let building = (!plan.dry_run).then(|| {
                let plan = plan.clone();
                tokio::task::spawn_blocking(move || build_image(&plan))
            });
            // Whether the repository exists is asked beside the token, before
            // any write: a push to a missing repository that a creation
            // template covers would create it, and the probe never does.
            let (token, looked_up) = tokio::join!(
                ecr::authorization_token(ecr_client, &plan.repository, &recorder, 1),
                async {
                    match plan.dry_run {
                        true => RepositoryLookup::NotAsked,
                        false => ecr::repository_lookup(ecr_client, &plan.repository).await,
                    }
                }
            );
            lookup = looked_up;
            token_obtained = token.is_some();
            let Some(token) = &token else { return };
            match Registry::new(plan.registry.clone(), &token.password, recorder.clone()) {
                Ok(registry) => {
                    let p = probe.insert(Probe {
                        registry: registry.with_retry_base(plan.retry_base),
                        plan,
                        written: Mutex::new(BTreeMap::new()),
                    });
                    if plan.dry_run {
                        if let Some(tag) = &plan.read_tag {
                            p.read_existing(tag, &mut state).await;
                        }
                    } else if lookup == RepositoryLookup::Missing {
                        // Nothing is written to a repository that does not exist.
                    } else {
                        let image = match building {
                            Some(handle) => match handle.await {
                                Ok(image) => image,
                                Err(_) => build_image(plan),
                            },
                            None => build_image(plan),
                        };
                        p.push(&mut state, &image).await;
                    }
                }
                Err(e) => {
                    tracing::error!("cannot build the HTTP client: {e}");
                    state.unreachable = true;
                }
            }
        };
        // A request that timed out at the deadline may end the replay just
        // before the deadline's own wake-up: cut short either way.
        let stopped = tokio::select! {
            () = replay => false,
            () = deadline::reached() => true,
        };
        stopped || deadline::expired()
    };
    // Everything the probe may have written, indexes first: a child is
    // deleted only after the index that references it. By repository: the
    // target, and the cache repositories of the build's cache export.
    let mut written: Vec<((String, String), bool)> = probe
        .as_ref()
        .map(|p| {
            p.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(d, i)| (d.clone(), *i))
                .collect()
        })
        .unwrap_or_default();
    written.sort_by_key(|(_, index)| !index);
    let mut by_repository: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((repository, digest), _) in written {
        by_repository.entry(repository).or_default().push(digest);
    }
    let mut cleanup = None;
    let mut left_behind: Vec<(String, String)> = by_repository
        .iter()
        .flat_map(|(r, ds)| ds.iter().map(move |d| (r.clone(), d.clone())))
        .collect();
    let mut cleanup_confirmed = false;
    if plan.cleanup
        && !by_repository.is_empty()
        && let Some(probe) = &probe
    {
        let depth = recorder_max_depth(&recorder) + 1;
        let deletes =
            by_repository.iter().map(|(name, digests)| {
                let repository = Repository {
                    name: name.clone(),
                    ..plan.repository.clone()
                };
                let recorder = recorder.clone();
                async move {
                    ecr::delete_images(ecr_client, &repository, digests, &recorder, depth).await
                }
            });
        let outcomes = futures_util::future::join_all(deletes).await;
        // Trust the registry, not the delete call's answer: read each one back.
        let depth = recorder_max_depth(&recorder) + 1;
        let reads = by_repository
            .iter()
            .map(|(name, digests)| probe.still_there(name, digests, depth));
        left_behind = futures_util::future::join_all(reads)
            .await
            .into_iter()
            .zip(by_repository.keys())
            .flat_map(|(left, name)| left.into_iter().map(move |d| (name.clone(), d)))
            .collect();
        cleanup_confirmed = left_behind.is_empty();
        let mut outcome = super::facts::DeleteOutcome::default();
        for o in outcomes {
            outcome.deleted.extend(o.deleted);
            outcome.failures.extend(o.failures);
            outcome.call_failed |= o.call_failed;
        }
        cleanup = Some(outcome);
    }
    ProbeFacts {
        exchanges: recorder.into_sorted(),
        tag,
        index_digest: state.index_digest,
        token_obtained,
        unreachable: state.unreachable,
        tag_existed: state.tag_existed,
        cleanup,
        left_behind,
        cleanup_confirmed,
        cut_short,
        wall_ms: started.elapsed().as_millis() as u64,
        lookup,
    }
}

/// The synthetic image `plan` pushes.
fn build_image(plan: &ProbePlan) -> ProbeImage {
    ProbeImage::build(
        &plan.repository.name,
        &plan.tag(),
        &plan.platforms,
        plan.attestations,
        &plan.run_id,
    )
}

fn recorder_max_depth(recorder: &Recorder) -> u32 {
    recorder
        .clone()
        .into_sorted()
        .iter()
        .map(|e| e.depth)
        .max()
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct State {
    index_digest: Option<String>,
    unreachable: bool,
    tag_existed: bool,
}

struct Probe<'a> {
    registry: Registry,
    plan: &'a ProbePlan,
    /// Manifests ((repository, digest) → is an index) the probe may have written: every
    /// PUT sent, until an answer says it was refused (4xx). A PUT without
    /// an answer may have been stored, so it stays here for the cleanup.
    written: Mutex<BTreeMap<(String, String), bool>>,
}

/// What the first round of a blob's push left to do.
enum BlobStart {
    /// PUT the blob to this upload `Location`.
    Upload(Url),
    /// Nothing more: it is there, or the upload could not start (the judge
    /// reads why from the record).
    Skip,
    /// The registry could not be reached.
    Unreachable,
}

/// What the registry answered to a layer GET.
enum LayerAnswer {
    /// ECR's 307 to its layer store: the download follows.
    Redirect(Url),
    /// The layer itself (a registry that serves it directly), and where
    /// the exchange was recorded.
    Body(usize, Vec<u8>),
    /// No usable answer.
    Nothing,
}

/// The outcome of one request as the flow needs it.
enum Sent {
    Answered(Response),
    Unreachable,
    /// Not sent: it would have taken the registry's credentials elsewhere or
    /// stepped down to http. The flow goes on; the judge reports it.
    Refused,
}

impl Probe<'_> {
    fn name(&self) -> &str {
        &self.plan.repository.name
    }

    /// Sends a manifest PUT, noting first that it may write `digest`.
    async fn send_write(&self, request: Request, digest: &str, index: bool) -> Sent {
        let key = (request.repository.clone(), digest.to_string());
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), index);
        let sent = self.send(request).await;
        if let Sent::Answered(r) = &sent
            && r.status.is_client_error()
        {
            // Refused: nothing was stored.
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
        if matches!(sent, Sent::Refused) {
            // Never sent.
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
        sent
    }

    /// The cleanup's read-back: a `HEAD` of each manifest by digest. The
    /// digests the registry does not answer 404 for (still there, or no
    /// usable answer).
    async fn still_there(&self, repository: &str, digests: &[String], depth: u32) -> Vec<String> {
        let registry = self.registry.for_cleanup();
        let checks = digests.iter().map(|digest| {
            let registry = registry.clone();
            let url = registry.url(repository, &format!("manifests/{digest}"));
            let mut head = self.request(Step::Cleanup, Method::HEAD, url, depth);
            head.accept = Some(MANIFEST_ACCEPT.into());
            head.repository = repository.to_string();
            async move {
                match registry.send(head).await {
                    Ok(r) if r.status == StatusCode::NOT_FOUND => None,
                    _ => Some(digest.clone()),
                }
            }
        });
        futures_util::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    fn request(&self, step: Step, method: Method, url: Url, depth: u32) -> Request {
        Request {
            step,
            method,
            url,
            accept: None,
            body: None,
            depth,
            platform: None,
            repository: self.name().to_string(),
            authorized: true,
        }
    }

    async fn send(&self, request: Request) -> Sent {
        match self.registry.send(request).await {
            Ok(r) => Sent::Answered(r),
            Err(u) if u.refused => Sent::Refused,
            Err(_) => Sent::Unreachable,
        }
    }

    /// A HEAD that got a bodiless 403: one GET to the same URL to read the
    /// message, as containerd does.
    async fn read_error_body(&self, head: &Response, url: &Url, step: Step, depth: u32) {
        if head.status != StatusCode::FORBIDDEN || !head.body.is_empty() {
            return;
        }
        let mut get = self.request(step, Method::GET, url.clone(), depth);
        get.accept = Some(MANIFEST_ACCEPT.into());
        if let Ok(r) = self.registry.send(get).await {
            self.registry
                .recorder()
                .link_error_body(r.index, head.index);
        }
    }

    /// The push, in rounds: every request of a round is sent together, and
    /// the next round starts once all of them are answered, so the run takes
    /// as many sequential round trips as it has rounds (ten with the token
    /// and the cleanup). The writes keep buildx's order (each blob before the
    /// manifests that reference it, the children before the index); the reads
    /// go beside them, as soon as what they read is there.
    async fn push(&self, state: &mut State, image: &ProbeImage) {
        // The base images are read and mounted beside the push's own rounds
        // (they start with it, and their mounts land with round 4).
        let bases = futures_util::future::join_all(self.plan.bases.iter().map(|b| self.base(b, 2)));
        let caches = futures_util::future::join_all(
            self.plan.caches.iter().map(|c| self.cache_export(c, 2)),
        );
        let imports = futures_util::future::join_all(
            self.plan
                .cache_imports
                .iter()
                .map(|(repository, reference)| self.cache_import(repository, reference, 2)),
        );
        tokio::join!(self.push_rounds(state, image), bases, caches, imports);
    }

    /// The rounds of the push itself.
    async fn push_rounds(&self, state: &mut State, image: &ProbeImage) {
        let tag = self.plan.tag();
        let layer = image.first_layer();

        // Round 2: each blob's HEAD beside the POST that starts its upload.
        let started: Vec<BlobStart> = stream::iter(image.blobs.iter())
            .map(|blob| self.start_blob(blob, 2))
            .buffered(BLOB_CONCURRENCY)
            .collect()
            .await;
        if started.iter().any(|s| matches!(s, BlobStart::Unreachable)) {
            state.unreachable = true;
            return;
        }
        // Round 3: the blobs, each to its upload's Location.
        let uploads = image
            .blobs
            .iter()
            .zip(started)
            .filter_map(|(blob, s)| match s {
                BlobStart::Upload(url) => Some((blob, url)),
                BlobStart::Skip | BlobStart::Unreachable => None,
            });
        let reachable: Vec<bool> = stream::iter(uploads)
            .map(|(blob, url)| self.put_blob(blob, url, 3))
            .buffer_unordered(BLOB_CONCURRENCY)
            .collect()
            .await;
        if reachable.iter().any(|r| !r) {
            state.unreachable = true;
            return;
        }
        // Round 4: each child's HEAD, beside the layer GET (ECR answers it
        // with a 307 to its layer store) and the mount attempt.
        let (exists, layer_answer, ()) = tokio::join!(
            stream::iter(image.children.iter())
                .map(|m| self.manifest_exists(m, 4))
                .buffered(BLOB_CONCURRENCY)
                .collect::<Vec<Option<bool>>>(),
            self.get_layer(layer, 4),
            self.mount(layer, 4),
        );
        if exists.iter().any(Option::is_none) {
            state.unreachable = true;
            return;
        }
        // Round 5: the children that are not there yet, by digest, beside
        // the layer's download from where the 307 pointed.
        let missing = image
            .children
            .iter()
            .zip(&exists)
            .filter(|(_, e)| **e == Some(false))
            .map(|(m, _)| m);
        let (results, ()) = tokio::join!(
            stream::iter(missing)
                .map(|m| self.put_manifest(m, 5))
                .buffer_unordered(BLOB_CONCURRENCY)
                .collect::<Vec<Option<bool>>>(),
            self.finish_layer_read(layer, layer_answer, 5),
        );
        if results.iter().any(Option::is_none) {
            state.unreachable = true;
            return;
        }

        // Rounds 6 and 7: the index by tag, HEAD → PUT, beside the read of a
        // child manifest (6).
        let (index_pushed, ()) = tokio::join!(
            self.push_index(&image.index, &tag, state, 6),
            self.read_manifest(&image.children[0], &image.children[0].digest, 6),
        );
        if index_pushed {
            state.index_digest = Some(image.index.digest.clone());
        }
        if state.tag_existed {
            return;
        }
        // Round 8: see whether the tag may move, and beside it read the
        // index back by its digest (by tag, the read would race the move).
        let (moved, ()) = tokio::join!(
            async { index_pushed && self.move_tag(&image.moved_index, &tag, 8).await },
            self.read_manifest(&image.index, &image.index.digest, 8),
        );
        if moved {
            state.index_digest = Some(image.moved_index.digest.clone());
        }
    }

    /// A blob's HEAD and the POST that starts its upload, together.
    ///
    /// buildx sends the POST only after the HEAD answered 404; the probe's
    /// blobs are new to the registry (their content derives from the run id),
    /// so the HEAD's answer is known in advance and the POST need not wait
    /// for it: one round trip less, and the same requests reach IAM. Should
    /// the HEAD answer 200 after all, the blob is not sent and the upload the
    /// POST opened expires unused, as an abandoned one does.
    async fn start_blob(&self, blob: &Blob, depth: u32) -> BlobStart {
        self.start_blob_in(self.name(), blob, depth).await
    }

    /// [`Self::start_blob`] in `repository` (a cache repository).
    async fn start_blob_in(&self, repository: &str, blob: &Blob, depth: u32) -> BlobStart {
        let url = self
            .registry
            .url(repository, &format!("blobs/{}", blob.digest));
        let mut head = self.request(Step::BlobExists, Method::HEAD, url.clone(), depth);
        head.platform = Some(blob.platform.clone());
        head.accept = Some("application/octet-stream, */*".into());
        head.repository = repository.to_string();
        let mut post = self.request(
            Step::BlobUploadStart,
            Method::POST,
            self.registry.url(repository, "blobs/uploads/"),
            depth,
        );
        post.platform = Some(blob.platform.clone());
        post.repository = repository.to_string();
        let post_url = post.url.clone();
        let (head, post) = tokio::join!(
            async {
                let head = self.send(head).await;
                if let Sent::Answered(r) = &head {
                    self.read_error_body(r, &url, Step::LayerRead, depth + 1)
                        .await;
                }
                head
            },
            self.send(post),
        );
        match head {
            Sent::Unreachable => return BlobStart::Unreachable,
            Sent::Refused => return BlobStart::Skip,
            // Already there: buildx skips it.
            Sent::Answered(r) if r.status == StatusCode::OK => return BlobStart::Skip,
            Sent::Answered(_) => {}
        }
        let post = match post {
            Sent::Unreachable => return BlobStart::Unreachable,
            Sent::Refused => return BlobStart::Skip,
            Sent::Answered(r) => r,
        };
        match (post.status == StatusCode::ACCEPTED)
            .then(|| location(&post, &post_url))
            .flatten()
        {
            Some(upload) => BlobStart::Upload(upload),
            None => BlobStart::Skip,
        }
    }

    /// The monolithic PUT of a blob to its upload's `Location`. Returns
    /// false when the registry was unreachable.
    async fn put_blob(&self, blob: &Blob, upload: Url, depth: u32) -> bool {
        self.put_blob_in(self.name(), blob, upload, depth).await
    }

    /// [`Self::put_blob`] in `repository` (a cache repository).
    async fn put_blob_in(
        &self,
        repository: &str,
        blob: &Blob,
        mut upload: Url,
        depth: u32,
    ) -> bool {
        upload.query_pairs_mut().append_pair("digest", &blob.digest);
        // The upload's Location comes from the registry: the client refuses it
        // when it leaves the registry's origin, and the blob is not sent.
        let mut put = self.request(Step::BlobUploadComplete, Method::PUT, upload, depth);
        put.platform = Some(blob.platform.clone());
        put.repository = repository.to_string();
        put.body = Some(("application/octet-stream".into(), blob.bytes.clone()));
        match self.send(put).await {
            Sent::Unreachable => false,
            Sent::Refused => true,
            Sent::Answered(r) => {
                self.check_digest(&r, &blob.digest);
                true
            }
        }
    }

    /// The HEAD of a child manifest by digest, as buildx sends before its
    /// PUT. `Some(false)` when it is not there (the PUT follows),
    /// `Some(true)` when it is (buildx skips it, and it is not ours to
    /// delete) or the HEAD was refused, `None` unreachable.
    async fn manifest_exists(&self, manifest: &Manifest, depth: u32) -> Option<bool> {
        let url = self
            .registry
            .url(self.name(), &format!("manifests/{}", manifest.digest));
        let mut head = self.request(Step::ManifestExists, Method::HEAD, url.clone(), depth);
        head.accept = Some(format!("{}, */*", manifest.media_type));
        head.platform = Some(manifest.platform.clone());
        let head = match self.send(head).await {
            Sent::Unreachable => return None,
            Sent::Refused => return Some(true),
            Sent::Answered(r) => r,
        };
        self.read_error_body(&head, &url, Step::ManifestRead, depth + 1)
            .await;
        Some(head.status == StatusCode::OK)
    }

    /// The PUT of a child manifest by digest. `Some(true)` pushed,
    /// `Some(false)` not, `None` unreachable.
    async fn put_manifest(&self, manifest: &Manifest, depth: u32) -> Option<bool> {
        let url = self
            .registry
            .url(self.name(), &format!("manifests/{}", manifest.digest));
        let mut put = self.request(Step::ManifestPut, Method::PUT, url, depth);
        put.body = Some((manifest.media_type.to_string(), manifest.bytes.clone()));
        put.platform = Some(manifest.platform.clone());
        match self.send_write(put, &manifest.digest, false).await {
            Sent::Unreachable => None,
            Sent::Refused => Some(false),
            Sent::Answered(r) => {
                self.check_digest(&r, &manifest.digest);
                Some(r.status == StatusCode::CREATED)
            }
        }
    }

    async fn push_index(&self, index: &Manifest, tag: &str, state: &mut State, depth: u32) -> bool {
        // Never overwrite a tag that exists: look before the PUT, as buildx does.
        let url = self.registry.url(self.name(), &format!("manifests/{tag}"));
        let mut head = self.request(Step::IndexExists, Method::HEAD, url, depth);
        head.accept = Some(format!("{INDEX_MEDIA_TYPE}, */*"));
        if let Sent::Answered(r) = self.send(head).await
            && r.status == StatusCode::OK
        {
            state.tag_existed = true;
            return false;
        }
        // The HEAD above was the buildx HEAD; PUT directly.
        let url = self.registry.url(self.name(), &format!("manifests/{tag}"));
        let mut put = self.request(Step::IndexPut, Method::PUT, url, depth + 1);
        put.body = Some((index.media_type.to_string(), index.bytes.clone()));
        match self.send_write(put, &index.digest, true).await {
            Sent::Answered(r) => {
                self.check_digest(&r, &index.digest);
                r.status == StatusCode::CREATED
            }
            Sent::Unreachable | Sent::Refused => false,
        }
    }

    /// PUT a different index to the probe's own tag. True when it was stored.
    async fn move_tag(&self, moved: &Manifest, tag: &str, depth: u32) -> bool {
        let url = self.registry.url(self.name(), &format!("manifests/{tag}"));
        let mut put = self.request(Step::TagMove, Method::PUT, url, depth);
        put.body = Some((moved.media_type.to_string(), moved.bytes.clone()));
        matches!(
            self.send_write(put, &moved.digest, true).await,
            Sent::Answered(r) if r.status == StatusCode::CREATED
        )
    }

    /// HEAD and GET of a manifest in parallel; the GET's bytes must hash to
    /// `expected.digest` when it is given.
    async fn read_manifest(&self, expected: &Manifest, reference: &str, depth: u32) {
        let url = self
            .registry
            .url(self.name(), &format!("manifests/{reference}"));
        let mut head = self.request(Step::ManifestRead, Method::HEAD, url.clone(), depth);
        head.accept = Some(MANIFEST_ACCEPT.into());
        let mut get = self.request(Step::ManifestRead, Method::GET, url, depth);
        get.accept = Some(MANIFEST_ACCEPT.into());
        let (_, got) = tokio::join!(self.send(head), self.send(get));
        if let Sent::Answered(r) = got
            && r.status == StatusCode::OK
            && !r.truncated
            && digest_of(&r.body) != expected.digest
        {
            self.registry.recorder().annotate(
                r.index,
                format!(
                    "read back {} bytes hashing to {}, pushed {}",
                    r.body.len(),
                    digest_of(&r.body),
                    expected.digest
                ),
            );
        }
    }

    /// GET of a blob: ECR's 307 to its layer store (S3) is followed once,
    /// without the registry's Authorization (S3 refuses two authentication
    /// mechanisms), and never from https to http (the client refuses it).
    /// Any other redirect is not followed: it verifies nothing, and the judge
    /// reports it.
    async fn read_layer(&self, blob: &Blob, depth: u32) {
        let answer = self.get_layer(blob, depth).await;
        self.finish_layer_read(blob, answer, depth + 1).await;
    }

    /// The first half of [`Self::read_layer`]: the GET on the registry.
    async fn get_layer(&self, blob: &Blob, depth: u32) -> LayerAnswer {
        let url = self
            .registry
            .url(self.name(), &format!("blobs/{}", blob.digest));
        let get = self.request(Step::LayerRead, Method::GET, url.clone(), depth);
        let Sent::Answered(r) = self.send(get).await else {
            return LayerAnswer::Nothing;
        };
        if r.status == StatusCode::TEMPORARY_REDIRECT {
            location(&r, &url).map_or(LayerAnswer::Nothing, LayerAnswer::Redirect)
        } else if r.status == StatusCode::OK && !r.truncated {
            LayerAnswer::Body(r.index, r.body)
        } else {
            LayerAnswer::Nothing
        }
    }

    /// The second half of [`Self::read_layer`]: follows the 307 (at
    /// `depth`), and checks the bytes against the blob's digest.
    async fn finish_layer_read(&self, blob: &Blob, answer: LayerAnswer, depth: u32) {
        let bytes = match answer {
            LayerAnswer::Redirect(target) => {
                let mut download = self.request(Step::LayerDownload, Method::GET, target, depth);
                download.authorized = false;
                match self.send(download).await {
                    // A body cut at its limit cannot be hashed: the judge reports the cut.
                    Sent::Answered(d) if d.status == StatusCode::OK && !d.truncated => {
                        Some((d.index, d.body))
                    }
                    _ => None,
                }
            }
            LayerAnswer::Body(index, body) => Some((index, body)),
            LayerAnswer::Nothing => None,
        };
        if let Some((index, body)) = bytes
            && digest_of(&body) != blob.digest
        {
            self.registry.recorder().annotate(
                index,
                format!(
                    "layer read back hashes to {}, pushed {}",
                    digest_of(&body),
                    blob.digest
                ),
            );
        }
    }

    /// POST `?mount=<digest>&from=<repo>` with the probe's own layer.
    async fn mount(&self, blob: &Blob, depth: u32) {
        if let Some(from) = &self.plan.mount_from {
            self.mount_from(&blob.digest, from, depth).await;
        }
    }

    /// POST `?mount=<digest>&from=<repo>` into the target.
    async fn mount_from(&self, digest: &str, from: &str, depth: u32) {
        let mut url = self.registry.url(self.name(), "blobs/uploads/");
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let mut post = self.request(Step::BlobMount, Method::POST, url, depth);
        post.repository = from.to_string();
        self.send(post).await;
    }

    /// Dry run: HEAD + GET of an existing tag, one child manifest when it is
    /// an index, and one of its layers, following the redirect.
    async fn read_existing(&self, tag: &str, state: &mut State) {
        let name = self.name().to_string();
        match self.first_layer(&name, tag, 2, true).await {
            Err(()) => state.unreachable = true,
            Ok(None) => {}
            Ok(Some((digest, _, depth))) => {
                let blob = Blob {
                    digest,
                    bytes: Vec::new(),
                    platform: String::new(),
                    role: "layer",
                };
                self.read_layer(&blob, depth).await;
            }
        }
    }

    /// Reads `reference` in `repository` (with a HEAD beside the GET when
    /// `head`), and the first child that is not an attestation when it is
    /// an index: the digest of its first layer, the exchange that named it,
    /// and the depth for the next request. `Err`: the registry could not be
    /// reached; `Ok(None)`: no usable answer (the judge reads why).
    async fn first_layer(
        &self,
        repository: &str,
        reference: &str,
        depth: u32,
        head: bool,
    ) -> Result<Option<(String, usize, u32)>, ()> {
        let url = self
            .registry
            .url(repository, &format!("manifests/{reference}"));
        let read = |url: Url, method: Method, depth: u32| {
            let mut r = self.request(Step::ManifestRead, method, url, depth);
            r.accept = Some(MANIFEST_ACCEPT.into());
            r.repository = repository.to_string();
            r
        };
        let (h, g) = tokio::join!(
            async {
                match head {
                    true => Some(self.send(read(url.clone(), Method::HEAD, depth)).await),
                    false => None,
                }
            },
            self.send(read(url.clone(), Method::GET, depth))
        );
        if matches!(h, Some(Sent::Unreachable)) || matches!(g, Sent::Unreachable) {
            return Err(());
        }
        let Sent::Answered(g) = g else {
            return Ok(None);
        };
        if g.status != StatusCode::OK {
            return Ok(None);
        }
        let mut depth = depth + 1;
        let mut manifest: serde_json::Value = serde_json::from_slice(&g.body).unwrap_or_default();
        let mut answered_by = g.index;
        if let Some(children) = manifest["manifests"].as_array() {
            let Some(child) = children
                .iter()
                .find(|c| c["platform"]["os"] != "unknown")
                .and_then(|c| c["digest"].as_str())
            else {
                return Ok(None);
            };
            // Digests from the registry's answer become request paths: only a
            // real digest may (a `../` one would read another repository).
            if !is_valid_digest(child) {
                self.registry.recorder().invalid_digest(g.index, child);
                return Ok(None);
            }
            let url = self.registry.url(repository, &format!("manifests/{child}"));
            let Sent::Answered(c) = self.send(read(url, Method::GET, depth)).await else {
                return Ok(None);
            };
            if c.status != StatusCode::OK {
                return Ok(None);
            }
            manifest = serde_json::from_slice(&c.body).unwrap_or_default();
            answered_by = c.index;
            depth += 1;
        }
        let Some(layer) = manifest["layers"][0]["digest"].as_str() else {
            return Ok(None);
        };
        if !is_valid_digest(layer) {
            self.registry.recorder().invalid_digest(answered_by, layer);
            return Ok(None);
        }
        Ok(Some((layer.to_string(), answered_by, depth)))
    }

    fn check_digest(&self, response: &Response, expected: &str) {
        if let Some(got) = response.header("docker-content-digest")
            && response.status.is_success()
            && got != expected
        {
            let what = if is_valid_digest(got) {
                "Docker-Content-Digest"
            } else {
                "a Docker-Content-Digest that is not a digest,"
            };
            self.registry.recorder().annotate(
                response.index,
                format!(
                    "registry answered {what} {}, pushed {expected}",
                    quote_untrusted(got)
                ),
            );
        }
    }
}
