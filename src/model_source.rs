//! Finding the model file (`loader.rs` loads it in the background).
//!
//! Order: the explicit `--model`/`ISOSERVE_MODEL` path; a model in the SageMaker model directory
//! (`/opt/ml/model`, where `ModelDataUrl` is unpacked); the path baked into the image; and, when run
//! from a checkout, `models/default.isof` under the current directory.

use std::path::{Path, PathBuf};

/// Model file extension.
pub const EXTENSION: &str = "isof";
/// Preferred file name inside a model directory.
pub const PREFERRED_NAME: &str = "model.isof";
/// Path the container image installs the default model at; override at build time with the
/// `ISOSERVE_BAKED_MODEL` environment variable.
pub const BAKED_MODEL: &str = match option_env!("ISOSERVE_BAKED_MODEL") {
    Some(path) => path,
    None => "/usr/share/isoserve/default.isof",
};
/// The repository's default model, relative to the working directory.
pub const REPO_MODEL: &str = "models/default.isof";

/// Why no model could be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Nothing to load anywhere.
    #[error("no model found; looked at {0}")]
    NotFound(String),
    /// A directory without any `.isof` file.
    #[error("{0}: no .{EXTENSION} file in the directory")]
    EmptyDir(PathBuf),
    /// A directory could not be listed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file exists but is not a usable model.
    #[error("cannot load model {path}: {source}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// The model-file error.
        source: forest::ModelFileError,
    },
}

/// Picks the model file to load.
pub fn discover(explicit: Option<&Path>, model_dir: &Path) -> Result<PathBuf, SourceError> {
    if let Some(path) = explicit {
        return find(path);
    }
    if model_dir.is_dir()
        && let Some(path) = in_dir(model_dir)?
    {
        return Ok(path);
    }
    for fallback in [Path::new(BAKED_MODEL), Path::new(REPO_MODEL)] {
        if fallback.is_file() {
            return Ok(fallback.to_owned());
        }
    }
    Err(SourceError::NotFound(format!(
        "{}, {BAKED_MODEL}, {REPO_MODEL} (set --model or ISOSERVE_MODEL)",
        model_dir.display()
    )))
}

/// The model file a path names: a directory is searched (see [`discover`]); anything else is
/// taken as given (even a FIFO or a missing file, which then fails to load with the OS's own
/// message).
pub fn find(path: &Path) -> Result<PathBuf, SourceError> {
    if path.is_dir() {
        in_dir(path)?.ok_or_else(|| SourceError::EmptyDir(path.to_owned()))
    } else {
        Ok(path.to_owned())
    }
}

/// The model file inside `dir`: `model.isof` if present, else the first `.isof` by name.
fn in_dir(dir: &Path) -> Result<Option<PathBuf>, SourceError> {
    let preferred = dir.join(PREFERRED_NAME);
    if preferred.is_file() {
        return Ok(Some(preferred));
    }
    let io = |source| SourceError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == EXTENSION) && path.is_file() {
            found.push(path);
        }
    }
    // Sorted so that the choice is the same on every start.
    found.sort();
    if found.len() > 1 {
        tracing::warn!(
            dir = %dir.display(),
            candidates = ?found,
            chosen = %found[0].display(),
            "several model files; using the first by name (name one model.isof to choose)"
        );
    }
    Ok(found.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"x").unwrap();
        path
    }

    #[test]
    fn explicit_path_wins_and_is_taken_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let other = touch(dir.path(), "other.isof");
        let missing = dir.path().join("missing.isof");
        assert_eq!(discover(Some(&other), dir.path()).unwrap(), other);
        assert_eq!(discover(Some(&missing), dir.path()).unwrap(), missing);
    }

    #[test]
    fn explicit_directory_is_searched() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            discover(Some(dir.path()), Path::new("/nonexistent")),
            Err(SourceError::EmptyDir(_))
        ));
        let model = touch(dir.path(), "model.isof");
        assert_eq!(
            discover(Some(dir.path()), Path::new("/nonexistent")).unwrap(),
            model
        );
    }

    #[test]
    fn model_dir_prefers_model_isof_then_first_by_name() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "notes.txt");
        let b = touch(dir.path(), "b.isof");
        assert_eq!(discover(None, dir.path()).unwrap(), b);
        let a = touch(dir.path(), "a.isof");
        assert_eq!(discover(None, dir.path()).unwrap(), a);
        let preferred = touch(dir.path(), "model.isof");
        assert_eq!(discover(None, dir.path()).unwrap(), preferred);
    }

    #[test]
    fn empty_model_dir_falls_through() {
        let dir = tempfile::tempdir().unwrap();
        // Falls through to the baked or repository model when one exists, else NotFound.
        match discover(None, dir.path()) {
            Ok(path) => assert!(path == Path::new(BAKED_MODEL) || path == Path::new(REPO_MODEL)),
            Err(err) => assert!(matches!(err, SourceError::NotFound(_))),
        }
    }
}
