//! The probe's synthetic image: per platform a real, tiny OCI image (one
//! gzip'd tar layer and a consistent config), buildx-style provenance
//! attestations, and the OCI image index that ties them together.
//!
//! Everything here is pure: bytes in memory, digests computed locally, so
//! the same inputs always give the same image. Manifests and indexes are
//! typed with `oci-spec` (its annotation maps are written in key order).

use std::fmt;
use std::io::Write;

use std::str::FromStr;

use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, Digest as OciDigest, ImageIndexBuilder,
    ImageManifestBuilder, MediaType, Os, PlatformBuilder,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// OCI image index media type.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const IN_TOTO_MEDIA_TYPE: &str = "application/vnd.in-toto+json";
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v0.2";

/// `os/architecture[/variant]`, as `--platform` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system, such as `linux`.
    pub os: String,
    /// CPU architecture, such as `arm64`.
    pub architecture: String,
    /// Variant, such as `v8` or `v7`.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let valid = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        match parts.as_slice() {
            [os, arch] if valid(os) && valid(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if valid(os) && valid(arch) && valid(variant) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "`{s}` is not a platform: expected os/architecture[/variant], such as linux/amd64 or linux/arm/v7"
            )),
        }
    }

    fn to_oci(&self) -> oci_spec::image::Platform {
        let mut p = PlatformBuilder::default()
            .architecture(Arch::from(self.architecture.as_str()))
            .os(Os::from(self.os.as_str()))
            .build()
            .expect("every required field is set");
        if let Some(v) = &self.variant {
            p.set_variant(Some(v.clone()));
        }
        p
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// How attestations are attached, as the BuildKit versions in use do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Attestations {
    /// buildx's default provenance: an `unknown/unknown` attestation manifest
    /// per platform, listed in the index with `vnd.docker.reference.*` annotations.
    Manifest,
    /// BuildKit 0.32+ with OCI media types: attestations as OCI artifact
    /// manifests with `artifactType` and `subject`, outside the index.
    OciArtifact,
    /// `--provenance=false`: no attestations.
    None,
}

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A blob to upload.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Its digest.
    pub digest: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The platform it belongs to (`unknown/unknown` for attestations).
    pub platform: String,
    /// What it is, for the trace: `layer`, `config`, `attestation`.
    pub role: &'static str,
}

/// A manifest to upload.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Its digest.
    pub digest: String,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: &'static str,
    /// The platform it belongs to.
    pub platform: String,
}

/// The whole synthetic multi-platform image.
#[derive(Debug, Clone)]
pub struct ProbeImage {
    /// Every blob, platform images first.
    pub blobs: Vec<Blob>,
    /// Child manifests: platform images, then attestations.
    pub children: Vec<Manifest>,
    /// The image index, pushed by tag.
    pub index: Manifest,
    /// A second index that differs from `index` only in one annotation: used
    /// to see whether the repository lets a tag move.
    pub moved_index: Manifest,
}

impl ProbeImage {
    /// Builds the image for `platforms`. `run_id` makes each run's content
    /// unique so a probe never collides with an earlier one.
    pub fn build(
        repository: &str,
        tag: &str,
        platforms: &[Platform],
        attestations: Attestations,
        run_id: &str,
    ) -> ProbeImage {
        let mut blobs = Vec::new();
        let mut images = Vec::new();
        for platform in platforms {
            let (layer_tar, layer_gz) = layer(platform, run_id);
            let layer = Blob {
                digest: digest_of(&layer_gz),
                bytes: layer_gz,
                platform: platform.to_string(),
                role: "layer",
            };
            let mut config = json!({
                "architecture": platform.architecture,
                "os": platform.os,
                "config": {"Labels": {"org.opencontainers.image.title": "ecr-fargate-preflight probe"}},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(&layer_tar)]},
                "history": [{"created_by": format!("ecr-fargate-preflight probe {run_id}")}],
            });
            if let Some(v) = &platform.variant {
                config["variant"] = json!(v);
            }
            let config = Blob {
                bytes: to_bytes(&config),
                digest: String::new(),
                platform: platform.to_string(),
                role: "config",
            }
            .with_digest();
            let manifest = manifest_bytes(
                &config,
                CONFIG_MEDIA_TYPE,
                &[&layer],
                LAYER_MEDIA_TYPE,
                None,
            );
            images.push((
                platform.clone(),
                Manifest {
                    digest: digest_of(&manifest),
                    bytes: manifest,
                    media_type: MANIFEST_MEDIA_TYPE,
                    platform: platform.to_string(),
                },
            ));
            blobs.push(layer);
            blobs.push(config);
        }

        let mut children: Vec<Manifest> = images.iter().map(|(_, m)| m.clone()).collect();
        let mut index_entries: Vec<Descriptor> = images
            .iter()
            .map(|(p, m)| descriptor(m.media_type, &m.digest, m.bytes.len(), &[], Some(p)))
            .collect();

        if attestations != Attestations::None {
            for (platform, image) in &images {
                let statement = Blob {
                    bytes: to_bytes(&provenance(repository, tag, platform, image, run_id)),
                    digest: String::new(),
                    platform: "unknown/unknown".into(),
                    role: "attestation",
                }
                .with_digest();
                let (config, config_type, subject) = match attestations {
                    Attestations::OciArtifact => (
                        Blob {
                            bytes: b"{}".to_vec(),
                            digest: String::new(),
                            platform: "unknown/unknown".into(),
                            role: "config",
                        }
                        .with_digest(),
                        EMPTY_MEDIA_TYPE,
                        Some(image),
                    ),
                    _ => (
                        Blob {
                            bytes: to_bytes(&json!({
                                "architecture": "unknown",
                                "os": "unknown",
                                "config": {},
                                "rootfs": {"type": "layers", "diff_ids": [statement.digest]},
                            })),
                            digest: String::new(),
                            platform: "unknown/unknown".into(),
                            role: "config",
                        }
                        .with_digest(),
                        CONFIG_MEDIA_TYPE,
                        None,
                    ),
                };
                let bytes = manifest_bytes(
                    &config,
                    config_type,
                    &[&statement],
                    IN_TOTO_MEDIA_TYPE,
                    subject,
                );
                let attestation = Manifest {
                    digest: digest_of(&bytes),
                    bytes,
                    media_type: MANIFEST_MEDIA_TYPE,
                    platform: "unknown/unknown".into(),
                };
                if attestations == Attestations::Manifest {
                    index_entries.push(descriptor(
                        MANIFEST_MEDIA_TYPE,
                        &attestation.digest,
                        attestation.bytes.len(),
                        &[
                            ("vnd.docker.reference.digest", &image.digest),
                            ("vnd.docker.reference.type", "attestation-manifest"),
                        ],
                        Some(&Platform {
                            os: "unknown".into(),
                            architecture: "unknown".into(),
                            variant: None,
                        }),
                    ));
                }
                if !blobs.iter().any(|b| b.digest == config.digest) {
                    blobs.push(config);
                }
                blobs.push(statement);
                children.push(attestation);
            }
        }

        let index_with = |description: &str| {
            let index = ImageIndexBuilder::default()
                .schema_version(2u32)
                .media_type(MediaType::ImageIndex)
                .manifests(index_entries.clone())
                .annotations(
                    [(
                        "org.opencontainers.image.description".to_string(),
                        description.to_string(),
                    )]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
                )
                .build()
                .expect("every required field is set");
            let bytes = canonical_bytes(&index);
            Manifest {
                digest: digest_of(&bytes),
                bytes,
                media_type: INDEX_MEDIA_TYPE,
                platform: "index".into(),
            }
        };
        let index = index_with("ecr-fargate-preflight probe");
        let moved_index = index_with("ecr-fargate-preflight probe (moved tag)");
        ProbeImage {
            blobs,
            children,
            index,
            moved_index,
        }
    }

    /// The first platform image's layer, used for layer reads and mounts.
    pub fn first_layer(&self) -> &Blob {
        self.blobs
            .iter()
            .find(|b| b.role == "layer")
            .expect("at least one platform")
    }
}

impl Blob {
    fn with_digest(mut self) -> Blob {
        self.digest = digest_of(&self.bytes);
        self
    }
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON values always serialize")
}

/// A descriptor of `bytes` (a blob or a manifest) as `media_type`.
fn descriptor(
    media_type: &str,
    digest: &str,
    size: usize,
    annotations: &[(&str, &str)],
    platform: Option<&Platform>,
) -> Descriptor {
    let mut d = DescriptorBuilder::default()
        .media_type(MediaType::from(media_type))
        .digest(OciDigest::from_str(digest).expect("digests here are computed sha256"))
        .size(size as u64)
        .build()
        .expect("every required field is set");
    if !annotations.is_empty() {
        d.set_annotations(Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
    }
    if let Some(p) = platform {
        d.set_platform(Some(p.to_oci()));
    }
    d
}

/// The exact bytes of an `oci-spec` document: its annotation maps (hash
/// maps in `oci-spec`) in key order, so the same image always has the same
/// digest.
fn canonical_bytes(document: &impl serde::Serialize) -> Vec<u8> {
    fn sort(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(annotations)) = map.get_mut("annotations") {
                    annotations.sort_keys();
                }
                map.values_mut().for_each(sort);
            }
            Value::Array(items) => items.iter_mut().for_each(sort),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(document).expect("oci-spec documents serialize");
    sort(&mut value);
    to_bytes(&value)
}

fn manifest_bytes(
    config: &Blob,
    config_type: &str,
    layers: &[&Blob],
    layer_type: &str,
    subject: Option<&Manifest>,
) -> Vec<u8> {
    let provenance: &[(&str, &str)] = if layer_type == IN_TOTO_MEDIA_TYPE {
        &[("in-toto.io/predicate-type", SLSA_PROVENANCE)]
    } else {
        &[]
    };
    let mut manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(
            config_type,
            &config.digest,
            config.bytes.len(),
            &[],
            None,
        ))
        .layers(
            layers
                .iter()
                .map(|l| descriptor(layer_type, &l.digest, l.bytes.len(), provenance, None))
                .collect::<Vec<_>>(),
        )
        .build()
        .expect("every required field is set");
    if let Some(s) = subject {
        manifest.set_artifact_type(Some(MediaType::from(IN_TOTO_MEDIA_TYPE)));
        manifest.set_subject(Some(descriptor(
            s.media_type,
            &s.digest,
            s.bytes.len(),
            &[],
            None,
        )));
    }
    canonical_bytes(&manifest)
}

/// One file in a tar, then gzip with a fixed header, so the layer's digest
/// depends only on its content. Returns (tar, tar.gz).
fn layer(platform: &Platform, run_id: &str) -> (Vec<u8>, Vec<u8>) {
    let content = format!("ecr-fargate-preflight probe layer for {platform}, run {run_id}\n");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header
        .set_path(".ecr-fargate-preflight")
        .expect("short path");
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append(&header, content.as_bytes())
        .expect("writing to memory");
    let tar = builder.into_inner().expect("writing to memory");
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("writing to memory");
    (tar, gz.finish().expect("writing to memory"))
}

fn provenance(
    repository: &str,
    tag: &str,
    platform: &Platform,
    image: &Manifest,
    run_id: &str,
) -> Value {
    let hex = image.digest.trim_start_matches("sha256:");
    let platform_query = platform.to_string().replace('/', "%2F");
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_PROVENANCE,
        "subject": [{"name": format!("pkg:docker/{repository}@{tag}?platform={platform_query}"), "digest": {"sha256": hex}}],
        "predicate": {
            "builder": {"id": ""},
            "buildType": "https://mobyproject.org/buildkit@v1",
            "metadata": {"buildInvocationID": run_id, "completeness": {"parameters": false, "environment": false, "materials": false}, "reproducible": false},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn platforms() -> Vec<Platform> {
        ["linux/amd64", "linux/arm64"]
            .iter()
            .map(|p| Platform::parse(p).unwrap())
            .collect()
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn parses_and_rejects_platforms() {
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
        for bad in [
            "linux",
            "linux/",
            "/amd64",
            "Linux/AMD64",
            "a/b/c/d",
            "linux amd64",
        ] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configs_match_their_layers_and_platforms() {
        let image = ProbeImage::build("app", "t", &platforms(), Attestations::Manifest, "r1");
        for (child, platform) in image.children.iter().zip(platforms()) {
            let m = json_of(&child.bytes);
            let config_digest = m["config"]["digest"].as_str().unwrap();
            let layer_digest = m["layers"][0]["digest"].as_str().unwrap();
            let config = image
                .blobs
                .iter()
                .find(|b| b.digest == config_digest)
                .unwrap();
            let layer = image
                .blobs
                .iter()
                .find(|b| b.digest == layer_digest)
                .unwrap();
            let c = json_of(&config.bytes);
            assert_eq!(c["os"], platform.os);
            assert_eq!(c["architecture"], platform.architecture);
            let mut tar = Vec::new();
            GzDecoder::new(&layer.bytes[..])
                .read_to_end(&mut tar)
                .unwrap();
            assert_eq!(c["rootfs"]["diff_ids"][0], digest_of(&tar));
            assert_eq!(m["config"]["size"], config.bytes.len());
        }
    }

    #[test]
    fn index_lists_images_then_attestations_that_reference_them() {
        let image = ProbeImage::build("app", "t", &platforms(), Attestations::Manifest, "r1");
        let index = json_of(&image.index.bytes);
        let entries = index["manifests"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0]["platform"]["architecture"], "amd64");
        assert_eq!(entries[1]["platform"]["architecture"], "arm64");
        for (att, img) in entries[2..].iter().zip(&entries[..2]) {
            assert_eq!(att["platform"]["os"], "unknown");
            assert_eq!(
                att["annotations"]["vnd.docker.reference.type"],
                "attestation-manifest"
            );
            assert_eq!(
                att["annotations"]["vnd.docker.reference.digest"],
                img["digest"]
            );
        }
        for entry in entries {
            let child = image
                .children
                .iter()
                .find(|c| c.digest == entry["digest"])
                .unwrap();
            assert_eq!(entry["size"], child.bytes.len());
        }
        assert_eq!(image.index.digest, digest_of(&image.index.bytes));
        assert_ne!(image.index.digest, image.moved_index.digest);
    }

    #[test]
    fn every_referenced_blob_is_uploaded_once() {
        for mode in [
            Attestations::Manifest,
            Attestations::OciArtifact,
            Attestations::None,
        ] {
            let image = ProbeImage::build("app", "t", &platforms(), mode, "r1");
            let mut digests: Vec<_> = image.blobs.iter().map(|b| &b.digest).collect();
            let n = digests.len();
            digests.sort();
            digests.dedup();
            assert_eq!(n, digests.len(), "{mode:?}");
            for child in &image.children {
                let m = json_of(&child.bytes);
                let refs = std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap());
                for d in refs {
                    assert!(digests.contains(&&d["digest"].as_str().unwrap().to_string()));
                }
            }
        }
    }

    #[test]
    fn oci_artifact_attestations_have_a_subject_and_stay_out_of_the_index() {
        let image = ProbeImage::build("app", "t", &platforms(), Attestations::OciArtifact, "r1");
        assert_eq!(image.children.len(), 4);
        let att = json_of(&image.children[2].bytes);
        assert_eq!(att["subject"]["digest"], image.children[0].digest);
        assert_eq!(
            json_of(&image.index.bytes)["manifests"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn same_inputs_same_image_other_run_other_image() {
        let a = ProbeImage::build("app", "t", &platforms(), Attestations::Manifest, "r1");
        let b = ProbeImage::build("app", "t", &platforms(), Attestations::Manifest, "r1");
        let c = ProbeImage::build("app", "t", &platforms(), Attestations::Manifest, "r2");
        assert_eq!(a.index.digest, b.index.digest);
        assert_ne!(a.index.digest, c.index.digest);
    }
}
