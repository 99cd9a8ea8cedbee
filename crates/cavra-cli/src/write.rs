//! All-or-nothing output: artifacts are written into a fresh temporary
//! folder beside the destination and only then moved into place.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use cavra_render::Artifact;

pub fn write_atomically(out: &Path, artifacts: &[Artifact]) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("{}: exists and is not a folder", out.display());
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("{}: cannot create folder", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".cavra-staging-")
        .tempdir_in(&parent)
        .with_context(|| format!("{}: cannot create a staging folder", parent.display()))?;
    for a in artifacts {
        let path = staging.path().join(&a.name);
        let mut f = fs::File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        f.write_all(&a.bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        f.sync_all().with_context(|| format!("{}: cannot sync", path.display()))?;
    }
    if !out.exists() {
        let staged = staging.keep();
        return fs::rename(&staged, out).with_context(|| format!("{}: cannot move output into place", out.display()));
    }
    for a in artifacts {
        let from = staging.path().join(&a.name);
        let to = out.join(&a.name);
        fs::rename(&from, &to).with_context(|| format!("{}: cannot move into place", to.display()))?;
    }
    Ok(())
}
