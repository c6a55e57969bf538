//! Bundles the runtime's Lambda handlers: builds them in release mode, checks each binary runs on
//! Lambda's `provided.al2023` (x86-64 ELF needing at most glibc 2.34), and zips each as
//! `bootstrap` deterministically. A fingerprint of the sources (runtime/, templates/, the lock
//! file, the compiler version) keys a cache, so an unchanged tree is never rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::zip::{ZipEntry, write_zip};

/// The newest glibc symbol version Lambda's `provided.al2023` (glibc 2.34) can resolve.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// A handler binary to bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerBinary {
    /// The Cargo package that has the binary.
    pub package: String,
    /// The binary's name, which is also the handler's name (e.g. `transfer-processor`).
    pub binary: String,
}

impl HandlerBinary {
    /// Binary `binary` of package `package`.
    pub fn new(package: &str, binary: &str) -> Self {
        Self {
            package: package.to_owned(),
            binary: binary.to_owned(),
        }
    }
}

/// Where and what to bundle.
#[derive(Debug, Clone)]
pub struct BundleOptions {
    /// The workspace root (where `Cargo.lock` is).
    pub workspace_root: PathBuf,
    /// The build cache; handler builds use `<target_dir>/lambda` so they never wait on (or
    /// block) another cargo using `target_dir` itself.
    pub target_dir: PathBuf,
    /// The handlers.
    pub handlers: Vec<HandlerBinary>,
}

/// A bundled handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundledHandler {
    /// The handler's name.
    pub name: String,
    /// The zip, in the bundle cache.
    pub zip: PathBuf,
    /// Lowercase hex SHA-256 of the zip.
    pub sha256: String,
    /// Size of the zip in bytes.
    pub zip_bytes: u64,
    /// Size of the `bootstrap` binary in bytes.
    pub binary_bytes: u64,
}

/// The result of [`bundle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    /// One per handler, in the order asked.
    pub handlers: Vec<BundledHandler>,
    /// Whether cargo ran (false: the sources were unchanged since the cached bundle).
    pub rebuilt: bool,
    /// The source fingerprint.
    pub fingerprint: String,
}

/// Why bundling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// cargo could not be started.
    #[error(
        "cannot run {cargo:?} to build the Lambda handlers\nhint: install the Rust toolchain (https://rustup.rs) or set CARGO"
    )]
    CargoMissing {
        /// The command tried.
        cargo: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The release build failed.
    #[error("building the Lambda handlers failed ({status}):\n{stderr_tail}")]
    BuildFailed {
        /// cargo's exit status.
        status: String,
        /// The end of cargo's error output.
        stderr_tail: String,
    },
    /// A handler binary needs a newer glibc than Lambda has.
    #[error(
        "handler {handler} needs glibc {needed}, but Lambda's provided.al2023 has {max_major}.{max_minor}\nhint: build on an older glibc, or for x86_64-unknown-linux-musl"
    )]
    GlibcTooNew {
        /// The handler.
        handler: String,
        /// The newest symbol version it references.
        needed: String,
        /// Lambda's major version.
        max_major: u32,
        /// Lambda's minor version.
        max_minor: u32,
    },
    /// A handler binary is not an x86-64 Linux executable.
    #[error("handler {handler}: {path} is not an x86-64 ELF executable")]
    NotElf {
        /// The handler.
        handler: String,
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The cargo to run: `$CARGO` (set when run under cargo) or `cargo`.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// SHA-256 of everything that decides the handlers' binaries.
pub fn fingerprint(root: &Path) -> Result<String, BundleError> {
    let mut files = Vec::new();
    for dir in ["runtime", "templates"] {
        collect(&root.join(dir), &mut files)?;
    }
    for f in ["Cargo.lock", "Cargo.toml"] {
        files.push(root.join(f));
    }
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f).map_err(io("reading", f))?);
        h.update([0]);
    }
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    h.update(rustc);
    Ok(hex(&h.finalize()))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BundleError> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
        let path = entry.map_err(io("listing", dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds (when the sources changed) and zips every handler.
pub fn bundle(opts: &BundleOptions) -> Result<BundleReport, BundleError> {
    let fp = fingerprint(&opts.workspace_root)?;
    let cache = opts.target_dir.join("banca-assets").join(&fp[..16]);
    let index = cache.join("bundle.json");
    if let Ok(text) = std::fs::read_to_string(&index)
        && let Ok(cached) = serde_json::from_str::<BTreeMap<String, BundledHandler>>(&text)
        && opts
            .handlers
            .iter()
            .all(|h| cached.get(&h.binary).is_some_and(|b| b.zip.exists()))
    {
        let handlers = opts
            .handlers
            .iter()
            .filter_map(|h| cached.get(&h.binary).cloned())
            .collect();
        return Ok(BundleReport {
            handlers,
            rebuilt: false,
            fingerprint: fp,
        });
    }

    let build_dir = opts.target_dir.join("lambda");
    let cargo = cargo();
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&opts.workspace_root)
        .env("CARGO_TARGET_DIR", &build_dir)
        .args(["build", "--release", "--locked", "--quiet"]);
    let mut packages: Vec<&str> = opts.handlers.iter().map(|h| h.package.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    for p in packages {
        cmd.args(["-p", p]);
    }
    for h in &opts.handlers {
        cmd.args(["--bin", &h.binary]);
    }
    let out = cmd.output().map_err(|source| BundleError::CargoMissing {
        cargo: cargo.clone(),
        source,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        return Err(BundleError::BuildFailed {
            status: out.status.to_string(),
            stderr_tail: tail,
        });
    }

    std::fs::create_dir_all(&cache).map_err(io("creating", &cache))?;
    let mut handlers = Vec::new();
    for h in &opts.handlers {
        let bin = build_dir.join("release").join(&h.binary);
        let data = std::fs::read(&bin).map_err(io("reading", &bin))?;
        check_lambda_binary(&h.binary, &bin, &data)?;
        let zip = write_zip(vec![ZipEntry {
            name: "bootstrap".into(),
            mode: 0o755,
            data: data.clone(),
        }])
        .map_err(io("zipping", &bin))?;
        let sha = hex(&Sha256::digest(&zip));
        let path = cache.join(format!("{}.zip", h.binary));
        std::fs::write(&path, &zip).map_err(io("writing", &path))?;
        handlers.push(BundledHandler {
            name: h.binary.clone(),
            zip: path,
            sha256: sha,
            zip_bytes: zip.len() as u64,
            binary_bytes: data.len() as u64,
        });
    }
    let by_name: BTreeMap<&str, &BundledHandler> =
        handlers.iter().map(|h| (h.name.as_str(), h)).collect();
    let text = serde_json::to_string_pretty(&by_name).unwrap_or_default();
    std::fs::write(&index, text).map_err(io("writing", &index))?;
    Ok(BundleReport {
        handlers,
        rebuilt: true,
        fingerprint: fp,
    })
}

/// Checks an x86-64 ELF whose glibc symbol versions are all <= [`MAX_GLIBC`].
pub fn check_lambda_binary(handler: &str, path: &Path, data: &[u8]) -> Result<(), BundleError> {
    const EM_X86_64: u16 = 62;
    let is_elf64_x86 = data.len() > 20
        && data.starts_with(b"\x7fELF")
        && data[4] == 2
        && u16::from_le_bytes([data[18], data[19]]) == EM_X86_64;
    if !is_elf64_x86 {
        return Err(BundleError::NotElf {
            handler: handler.to_owned(),
            path: path.to_owned(),
        });
    }
    if let Some((major, minor)) = max_glibc(data)
        && (major, minor) > MAX_GLIBC
    {
        return Err(BundleError::GlibcTooNew {
            handler: handler.to_owned(),
            needed: format!("{major}.{minor}"),
            max_major: MAX_GLIBC.0,
            max_minor: MAX_GLIBC.1,
        });
    }
    Ok(())
}

/// The newest `GLIBC_x.y` version an ELF64 little-endian file requires, read from its
/// version-needs section (`SHT_GNU_verneed`): only what the dynamic linker will ask for, not
/// strings that merely appear in the binary.
pub fn max_glibc(data: &[u8]) -> Option<(u32, u32)> {
    let mut best = None;
    for name in required_versions(data)? {
        if let Some(v) = name.strip_prefix("GLIBC_") {
            let mut parts = v.split('.');
            if let (Some(Ok(a)), Some(Ok(b))) = (
                parts.next().map(str::parse::<u32>),
                parts.next().map(str::parse::<u32>),
            ) {
                best = best.max(Some((a, b)));
            }
        }
    }
    best
}

fn required_versions(d: &[u8]) -> Option<Vec<String>> {
    const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
    let u16_at = |o: usize| d.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        d.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        d.get(o..o + 8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    };
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let shentsize = usize::from(u16_at(0x3a)?);
    let shnum = usize::from(u16_at(0x3c)?);
    let section = |i: usize| -> Option<(u32, usize, u32, u32)> {
        let base = shoff + i * shentsize;
        let kind = u32_at(base + 4)?;
        let offset = usize::try_from(u64_at(base + 0x18)?).ok()?;
        let link = u32_at(base + 0x28)?;
        let info = u32_at(base + 0x2c)?;
        Some((kind, offset, link, info))
    };
    let mut names = Vec::new();
    for i in 0..shnum {
        let (kind, offset, link, count) = section(i)?;
        if kind != SHT_GNU_VERNEED {
            continue;
        }
        let (_, strtab, _, _) = section(usize::try_from(link).ok()?)?;
        let cstr = |o: usize| -> Option<String> {
            let bytes = d.get(strtab + o..)?;
            let end = bytes.iter().position(|b| *b == 0)?;
            Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
        };
        let mut need = offset;
        for _ in 0..count {
            let aux_count = u16_at(need + 2)?;
            let mut aux = need + usize::try_from(u32_at(need + 8)?).ok()?;
            for _ in 0..aux_count {
                names.push(cstr(usize::try_from(u32_at(aux + 8)?).ok()?)?);
                aux += usize::try_from(u32_at(aux + 12)?).ok()?;
            }
            need += usize::try_from(u32_at(need + 12)?).ok()?;
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_elf_is_refused() {
        assert!(matches!(
            check_lambda_binary("h", Path::new("x"), b"#!/bin/sh\n"),
            Err(BundleError::NotElf { .. })
        ));
        assert_eq!(
            max_glibc(b"GLIBC_2.99 in a string is not a requirement"),
            None
        );
    }

    #[test]
    fn version_needs_are_read_from_real_binaries() {
        // The system's python3 links glibc dynamically: its needs are real GLIBC_2.x versions.
        let py = std::fs::read("/usr/bin/python3")
            .or_else(|_| std::fs::read(std::env::current_exe().unwrap()))
            .unwrap();
        let (major, minor) =
            max_glibc(&py).expect("a dynamically linked binary needs some glibc version");
        assert_eq!(major, 2);
        assert!(minor >= 2, "{minor}");
    }

    #[test]
    fn a_binary_needing_newer_glibc_is_refused_with_a_hint() {
        // Rename a version the linker asks for (same length, in place) to one Lambda lacks.
        let mut data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (old, new) = (b"GLIBC_2.17\0", b"GLIBC_2.37\0");
        let mut patched = 0;
        for i in 0..data.len().saturating_sub(old.len()) {
            if &data[i..i + old.len()] == old {
                data[i..i + old.len()].copy_from_slice(new);
                patched += 1;
            }
        }
        assert!(patched > 0, "the test binary requires GLIBC_2.17");
        let err = check_lambda_binary("otp-validate", Path::new("x"), &data)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("handler otp-validate needs glibc 2.37, but Lambda's provided.al2023 has 2.34\nhint:"), "{err}");
    }

    #[test]
    fn our_own_test_binary_is_a_valid_lambda_binary() {
        // This test executable was built like the handlers (same toolchain, same host); it
        // contains the text "GLIBC_2.99" (above), which must not count as a requirement.
        let me = std::env::current_exe().unwrap();
        let data = std::fs::read(&me).unwrap();
        check_lambda_binary("self", &me, &data).unwrap();
        let (major, minor) = max_glibc(&data).unwrap();
        assert!(
            (major, minor) <= MAX_GLIBC && minor >= 17,
            "{major}.{minor}"
        );
    }
}
