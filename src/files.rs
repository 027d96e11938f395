//! Reading the files a user names, bounded. A named file must be a regular
//! file (a FIFO with no writer would block the run forever, `/dev/zero`
//! would fill the memory) and no larger than the limit for what it holds;
//! the size is checked before anything is read, and the read itself stops
//! one byte past the limit in case the file grows meanwhile.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One MiB.
const MIB: u64 = 1024 * 1024;

/// An IAM policy file (`--policy`, `--repository-policy`, `--boundary`,
/// `--scp`). IAM's own limits are a few KiB per policy; a file may list
/// many.
pub const POLICY_LIMIT: u64 = MIB;
/// A Terraform plan (`terraform show -json`): large estates write tens of MiB.
pub const PLAN_LIMIT: u64 = 256 * MIB;
/// A saved network snapshot (`--snapshot`).
pub const SNAPSHOT_LIMIT: u64 = 256 * MIB;
/// One report given to `merge`.
pub const REPORT_LIMIT: u64 = 64 * MIB;
/// The event payload (`GITHUB_EVENT_PATH`): GitHub caps webhook payloads at 25 MB.
pub const EVENT_LIMIT: u64 = 25 * MIB;

/// Why a file was not read.
#[derive(Debug)]
pub enum FileError {
    /// Not a regular file: a directory, FIFO, socket or device.
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than the limit.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes (at least this much, when it grew while read).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// It could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl FileError {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            FileError::NotRegular { path, .. }
            | FileError::TooLarge { path, .. }
            | FileError::Io { path, .. } => path,
        }
    }

    /// Why, without the file's name.
    pub fn reason(&self) -> String {
        match self {
            FileError::NotRegular { kind, .. } => format!("is a {kind}, not a regular file"),
            FileError::TooLarge { size, limit, .. } => format!(
                "is {}, over the limit of {} for this input",
                human(*size),
                human(*limit)
            ),
            FileError::Io { source, .. } => source.to_string(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path().display(), self.reason())
    }
}

impl std::error::Error for FileError {}

/// A byte count as people read it: `512 B`, `3.2 MiB`, `4.0 GiB`.
pub fn human(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in ["KiB", "MiB", "GiB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} TiB")
}

fn kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO (named pipe)"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

/// A regular file of at most `limit` bytes, opened, with its size (symbolic
/// links are followed): what [`open`] and [`read_text`] both check first.
fn checked(path: &Path, limit: u64) -> Result<(std::fs::File, u64), FileError> {
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    if !metadata.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind(&metadata.file_type()),
        });
    }
    if metadata.len() > limit {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            limit,
        });
    }
    let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    Ok((file, metadata.len()))
}

fn io_error(path: &Path, source: std::io::Error) -> FileError {
    FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path` for reading, buffered, when it is a regular file of at most
/// `limit` bytes (symbolic links are followed); never more than `limit` bytes
/// are read from it, even if it grows. For parsing a large file as it is
/// read instead of holding its text.
pub fn open(
    path: &Path,
    limit: u64,
) -> Result<std::io::BufReader<std::io::Take<std::fs::File>>, FileError> {
    let (file, _) = checked(path, limit)?;
    Ok(std::io::BufReader::with_capacity(
        64 * 1024,
        file.take(limit),
    ))
}

/// Reads `path` as UTF-8 text when it is a regular file of at most `limit`
/// bytes (symbolic links are followed).
pub fn read_text(path: &Path, limit: u64) -> Result<String, FileError> {
    let (file, size) = checked(path, limit)?;
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(path, source))?;
    // A file that grew past the limit after it was measured.
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read_text(&path, 2).unwrap(), "{}");
        let e = read_text(&path, 1).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is 2 B, over the limit of 1 B for this input"),
            "{e}"
        );
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_without_reading() {
        let e = read_text(Path::new("/dev/zero"), POLICY_LIMIT).unwrap_err();
        assert_eq!(e.to_string(), "/dev/zero: is a device, not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path(), POLICY_LIMIT).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opening a FIFO with no writer would block: it must not be opened.
        let e = read_text(&fifo, POLICY_LIMIT).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
        assert_eq!(human(4 * 1024 * 1024 * 1024), "4.0 GiB");
    }
}
