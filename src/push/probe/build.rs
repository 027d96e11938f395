//! The parts of the replay that come from the user's build
//! ([`crate::build`]): its base images in the target's registry (read and
//! mounted as BuildKit does) and its registry cache (exported in the form
//! the build's settings produce, read back as an import would). They run
//! beside the push's own rounds, so they add no round trip of their own.
//! The cache's manifests and indexes are typed with `oci-spec`.

use std::io::Write;
use std::str::FromStr;

use oci_spec::image::{
    DescriptorBuilder, Digest, ImageIndexBuilder, ImageManifestBuilder, MediaType,
};
use reqwest::{Method, StatusCode, Url};

use super::{MANIFEST_ACCEPT, Probe, Sent};
use crate::push::image::{Blob, Manifest, digest_of};
use crate::push::steps::Step;

/// BuildKit's cache configuration media type.
pub const CACHE_CONFIG_MEDIA_TYPE: &str = "application/vnd.buildkit.cacheconfig.v0";

/// A base image of the build in another repository of the same registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// Its repository.
    pub repository: String,
    /// The tag or digest the Dockerfile names (`latest` when none).
    pub reference: String,
}

/// A registry cache export (`cache-to: type=registry`) to a repository of
/// the target's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheExport {
    /// The cache repository (the target itself, or another one).
    pub repository: String,
    /// `image-manifest=true`: an OCI image manifest whose config is the
    /// cache configuration; otherwise BuildKit's default, an index whose
    /// children are the layers and the configuration themselves.
    pub image_manifest: bool,
    /// A `cache-from` of the build names this repository: the export is
    /// read back as the import reads it (manifest, then a layer).
    pub imported: bool,
}

/// What a cache export pushes: a layer, the cache configuration, and the
/// manifest (or index) that lists them.
#[derive(Debug, Clone)]
pub struct CacheArtifacts {
    /// The cache's layer blob.
    pub layer: Blob,
    /// The cache configuration blob.
    pub config: Blob,
    /// The manifest or index pushed by tag.
    pub manifest: Manifest,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn descriptor(media_type: MediaType, blob: &[u8]) -> oci_spec::image::Descriptor {
    DescriptorBuilder::default()
        .media_type(media_type)
        .digest(Digest::from_str(&digest_of(blob)).expect("a sha256 digest"))
        .size(blob.len() as u64)
        .build()
        .expect("every required field is set")
}

/// The cache a build with `export` would push, unique to this run.
pub fn cache_artifacts(export: &CacheExport, run_id: &str) -> CacheArtifacts {
    let layer_bytes = gzip(format!("ecr-fargate-preflight cache layer {run_id}\n").as_bytes());
    let layer = Blob {
        digest: digest_of(&layer_bytes),
        bytes: layer_bytes,
        platform: "cache".into(),
        role: "cache",
    };
    // BuildKit's cache configuration (v0): the layers and the records
    // (cache keys) that point at them.
    let config_bytes = serde_json::to_vec(&serde_json::json!({
        "layers": [{"blob": layer.digest, "parent": -1}],
        "records": [{"digest": digest_of(run_id.as_bytes()), "layers": [{"layer": 0}]}],
    }))
    .expect("JSON values always serialize");
    let config = Blob {
        digest: digest_of(&config_bytes),
        bytes: config_bytes,
        platform: "cache".into(),
        role: "cache",
    };
    let layer_descriptor = descriptor(MediaType::ImageLayerGzip, &layer.bytes);
    let config_descriptor = descriptor(
        MediaType::Other(CACHE_CONFIG_MEDIA_TYPE.into()),
        &config.bytes,
    );
    let (bytes, media_type) = if export.image_manifest {
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config_descriptor)
            .layers(vec![layer_descriptor])
            .build()
            .expect("every required field is set");
        (
            serde_json::to_vec(&manifest).expect("serializes"),
            "application/vnd.oci.image.manifest.v1+json",
        )
    } else {
        // The default export: the layers and the configuration listed in an
        // index as if they were manifests (moby/buildkit#1143).
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![layer_descriptor, config_descriptor])
            .build()
            .expect("every required field is set");
        (
            serde_json::to_vec(&index).expect("serializes"),
            "application/vnd.oci.image.index.v1+json",
        )
    };
    CacheArtifacts {
        layer,
        config,
        manifest: Manifest {
            digest: digest_of(&bytes),
            bytes,
            media_type,
            platform: "cache".into(),
        },
    }
}

impl Probe<'_> {
    /// A base image as the build uses it: its manifest read (the build
    /// pulls it: `ecr:BatchGetImage`), then its first layer read
    /// (`ecr:GetDownloadUrlForLayer`; ECR's 307 is not followed: the layer
    /// may be large) beside its mount into the target, which BuildKit sends
    /// for every base layer (`?mount=&from=`, authorized on the base).
    pub(super) async fn base(&self, base: &BaseImage, depth: u32) {
        let Ok(Some((digest, _, depth))) = self
            .first_layer(&base.repository, &base.reference, depth, false)
            .await
        else {
            return;
        };
        let url = self
            .registry
            .url(&base.repository, &format!("blobs/{digest}"));
        let mut get = self.request(Step::LayerRead, Method::GET, url, depth);
        get.repository = base.repository.clone();
        tokio::join!(
            self.send(get),
            self.mount_from(&digest, &base.repository, depth)
        );
    }

    /// A registry cache export, as BuildKit sends it: each blob's `HEAD`
    /// and upload (rounds `depth` and `depth + 1`), then the cache manifest
    /// (or index) by the probe's own cache tag, never the user's; read
    /// back as the build's `cache-from` would, when it names the
    /// repository. Its writes are tracked for the cleanup like the image's.
    pub(super) async fn cache_export(&self, export: &CacheExport, depth: u32) {
        let cache = cache_artifacts(export, &self.plan.run_id);
        let repository = export.repository.as_str();
        let blobs = [&cache.layer, &cache.config];
        let started = futures_util::future::join_all(
            blobs
                .iter()
                .map(|b| self.start_blob_in(repository, b, depth)),
        )
        .await;
        let uploads = blobs.iter().zip(started).filter_map(|(blob, s)| match s {
            super::BlobStart::Upload(url) => Some((blob, url)),
            _ => None,
        });
        futures_util::future::join_all(
            uploads.map(|(blob, url)| self.put_blob_in(repository, blob, url, depth + 1)),
        )
        .await;
        let tag = format!("{}-cache", self.plan.tag());
        let url = self.registry.url(repository, &format!("manifests/{tag}"));
        let mut put = self.request(Step::CacheExport, Method::PUT, url.clone(), depth + 2);
        put.repository = repository.to_string();
        put.body = Some((
            cache.manifest.media_type.to_string(),
            cache.manifest.bytes.clone(),
        ));
        let stored = matches!(
            self.send_write(put, &cache.manifest.digest, !export.image_manifest).await,
            Sent::Answered(r) if r.status == StatusCode::CREATED
        );
        if stored && export.imported {
            // The import: the cache manifest by tag, and one of its layers.
            let mut get = self.request(Step::CacheImport, Method::GET, url, depth + 3);
            get.repository = repository.to_string();
            get.accept = Some(MANIFEST_ACCEPT.into());
            let layer = self
                .registry
                .url(repository, &format!("blobs/{}", cache.layer.digest));
            let mut read = self.request(Step::LayerRead, Method::GET, layer, depth + 3);
            read.repository = repository.to_string();
            tokio::join!(self.send(get), self.send(read));
        }
    }

    /// A `cache-from` of a repository the build does not export to: the
    /// user's cache reference is read (`404`: no cache yet, the build runs
    /// without it), and its first layer when it is there.
    pub(super) async fn cache_import(&self, repository: &str, reference: &str, depth: u32) {
        let url = self
            .registry
            .url(repository, &format!("manifests/{reference}"));
        let mut get = self.request(Step::CacheImport, Method::GET, url, depth);
        get.repository = repository.to_string();
        get.accept = Some(MANIFEST_ACCEPT.into());
        let Sent::Answered(answer) = self.send(get).await else {
            return;
        };
        if answer.status != StatusCode::OK {
            return;
        }
        let manifest: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        let layer = manifest["layers"][0]["digest"]
            .as_str()
            .or_else(|| manifest["manifests"][0]["digest"].as_str());
        if let Some(layer) = layer.filter(|d| crate::push::exchange::is_valid_digest(d)) {
            let blob: Url = self.registry.url(repository, &format!("blobs/{layer}"));
            let mut read = self.request(Step::LayerRead, Method::GET, blob, depth + 1);
            read.repository = repository.to_string();
            self.send(read).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_takes_the_form_the_settings_produce() {
        let run = "20261201-abc";
        let manifest = cache_artifacts(
            &CacheExport {
                repository: "team/cache".into(),
                image_manifest: true,
                imported: false,
            },
            run,
        );
        let m: serde_json::Value = serde_json::from_slice(&manifest.manifest.bytes).unwrap();
        assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(m["config"]["mediaType"], CACHE_CONFIG_MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], manifest.config.digest.as_str());
        assert_eq!(m["layers"][0]["digest"], manifest.layer.digest.as_str());

        let index = cache_artifacts(
            &CacheExport {
                repository: "team/cache".into(),
                image_manifest: false,
                imported: false,
            },
            run,
        );
        let i: serde_json::Value = serde_json::from_slice(&index.manifest.bytes).unwrap();
        assert_eq!(i["mediaType"], "application/vnd.oci.image.index.v1+json");
        assert_eq!(
            i["manifests"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        assert_eq!(i["manifests"][1]["mediaType"], CACHE_CONFIG_MEDIA_TYPE);
        // Unique per run, so a probe never collides with an earlier one.
        let other = cache_artifacts(
            &CacheExport {
                repository: "team/cache".into(),
                image_manifest: true,
                imported: false,
            },
            "another-run",
        );
        assert_ne!(other.manifest.digest, manifest.manifest.digest);
    }
}
