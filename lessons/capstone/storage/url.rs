//! `--storage`: a folder, `s3://bucket/prefix` or `az://container/prefix`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::ui::lang::tr;

/// Where the sink stores, as the learner names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageUrl {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
    Azure { container: String, prefix: String },
}

const FORMS: &str = n!("Give --storage as a folder (collect/storage, or file:///an/absolute/path), \
s3://BUCKET/PREFIX (AWS S3 or an S3-compatible server) or az://CONTAINER/PREFIX (Azure Blob Storage).");

impl StorageUrl {
    /// `text` as the learner wrote it; a relative folder is taken from `base` (their directory).
    pub fn parse(text: &str, base: &Path) -> Result<StorageUrl> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                bail!(t!(
                    "`{text}` is not an absolute path: write file:///home/you/storage (three slashes). {forms}",
                    text,
                    forms = tr(FORMS)
                ));
            }
            return Ok(StorageUrl::Local(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = split(text, rest)?;
            if !valid_bucket(bucket) {
                bail!(t!(
                    "`{bucket}` is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, \
                     starting and ending with a letter or digit (for example: collect)",
                    bucket
                ));
            }
            return Ok(StorageUrl::S3 { bucket: bucket.into(), prefix });
        }
        if let Some(rest) = text.strip_prefix("az://") {
            let (container, prefix) = split(text, rest)?;
            if !valid_container(container) {
                bail!(t!(
                    "`{container}` is not a valid Azure Blob container name: 3 to 63 lowercase letters, digits \
                     and single `-`, starting with a letter or digit (for example: collect)",
                    container
                ));
            }
            return Ok(StorageUrl::Azure { container: container.into(), prefix });
        }
        if text.contains("://") || text.is_empty() {
            bail!(t!(
                "`{text}` is not a storage the collector knows. {forms}",
                text,
                forms = tr(FORMS)
            ));
        }
        Ok(StorageUrl::Local(base.join(text)))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, StorageUrl::Local(_))
    }
}

impl std::fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined = |scheme: &str, root: &str, prefix: &str| {
            if prefix.is_empty() {
                format!("{scheme}://{root}")
            } else {
                format!("{scheme}://{root}/{prefix}")
            }
        };
        match self {
            StorageUrl::Local(path) => write!(f, "{}", path.display()),
            StorageUrl::S3 { bucket, prefix } => f.write_str(&joined("s3", bucket, prefix)),
            StorageUrl::Azure { container, prefix } => {
                f.write_str(&joined("az", container, prefix))
            }
        }
    }
}

/// `bucket/a/b/` → (`bucket`, `a/b`); a prefix never climbs out with `..`.
fn split<'a>(text: &str, rest: &'a str) -> Result<(&'a str, String)> {
    let (root, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        bail!(t!(
            "`{text}`: a prefix is a plain path, without `.` or `..`. {forms}",
            text,
            forms = tr(FORMS)
        ));
    }
    Ok((root, parts.join("/")))
}

fn valid_bucket(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..")
}

fn valid_container(name: &str) -> bool {
    let first = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && first
        && !name.ends_with('-')
        && !name.contains("--")
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_buckets_and_containers() -> Result<()> {
        let base = Path::new("/home/me/work");
        assert_eq!(
            StorageUrl::parse("collect/storage", base)?,
            StorageUrl::Local(base.join("collect/storage"))
        );
        assert_eq!(
            StorageUrl::parse("file:///srv/data", base)?,
            StorageUrl::Local("/srv/data".into())
        );
        let s3 = StorageUrl::parse("s3://collect/run-1/", base)?;
        assert_eq!(s3, StorageUrl::S3 { bucket: "collect".into(), prefix: "run-1".into() });
        assert_eq!(s3.to_string(), "s3://collect/run-1");
        let az = StorageUrl::parse("az://collect", base)?;
        assert_eq!(az.to_string(), "az://collect");
        Ok(())
    }

    #[test]
    fn bad_urls_name_the_forms() {
        let base = Path::new("/w");
        for bad in
            ["gs://b/p", "file://relative", "s3://Upper", "s3://ab", "az://a--b", "s3://b/../x", ""]
        {
            let err = StorageUrl::parse(bad, base).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!err.is_empty(), "{bad} was accepted");
        }
        let err =
            StorageUrl::parse("gs://b", base).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("s3://BUCKET/PREFIX") && err.contains("az://CONTAINER/PREFIX"),
            "{err}"
        );
    }
}
