//! `banca synth`: config -> bundled handlers -> construct tree -> cloud assembly, with timings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use banca_constructs::{LambdaAsset, SynthError, SynthOutput};
use banca_synth::assembly::{
    AssemblyError, AssemblyOptions, AssemblyReport, AssetFile, write_assembly,
};
use banca_synth::bundle::{BundleError, BundleOptions, BundleReport, HandlerBinary, bundle, hex};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::{self, HANDLERS};
use crate::config::{Config, ConfigError};

/// Why a synth failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// banca.yaml is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The handlers could not be bundled.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The construct tree is wrong, or compliance findings are unsuppressed.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// The assembly could not be written.
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
}

/// Where the handlers come from.
#[derive(Debug, Clone)]
pub enum Handlers {
    /// Build and zip them from the workspace (release, cached by source fingerprint).
    Bundle {
        /// The workspace root.
        workspace_root: PathBuf,
        /// The build cache.
        target_dir: PathBuf,
    },
    /// Stand-in hashes for commands that write no templates (`list`, `check`, `diagram`):
    /// `sha256("unbundled:<handler>")`, so no build is needed to look at the app.
    Unbundled,
}

/// Time spent per phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Bundling the handlers (0 when cached).
    pub bundle_ms: u128,
    /// Building the construct tree.
    pub build_ms: u128,
    /// Synthesizing templates (aspects, compliance, references).
    pub synth_ms: u128,
    /// Writing the assembly.
    pub write_ms: u128,
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// One synthesized stack, for people and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct StackSummary {
    /// The stack name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Resources in its template.
    pub resources: usize,
    /// Stacks it depends on.
    pub dependencies: Vec<String>,
}

/// The default workspace root: where this binary's sources are.
pub fn default_workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The default build cache (`$CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn default_target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The handler assets an app is built with, the zips behind them, and the bundle (if built).
#[derive(Debug, Clone)]
pub struct Assets {
    /// What the templates reference, by handler name.
    pub lambda: BTreeMap<String, LambdaAsset>,
    /// The zips to copy into the assembly, by handler name (empty when unbundled).
    pub files: BTreeMap<String, AssetFile>,
    /// The bundle report, when the handlers were bundled.
    pub bundle: Option<BundleReport>,
}

/// The assets the app is built with, and the zips behind them.
pub fn assets(handlers: &Handlers) -> Result<Assets, BundleError> {
    match handlers {
        Handlers::Unbundled => {
            let assets = HANDLERS
                .iter()
                .map(|(_, h)| {
                    let sha = hex(&Sha256::digest(format!("unbundled:{h}").as_bytes()));
                    ((*h).to_owned(), LambdaAsset::new(*h, sha))
                })
                .collect();
            Ok(Assets {
                lambda: assets,
                files: BTreeMap::new(),
                bundle: None,
            })
        }
        Handlers::Bundle {
            workspace_root,
            target_dir,
        } => {
            let report = bundle(&BundleOptions {
                workspace_root: workspace_root.clone(),
                target_dir: target_dir.clone(),
                handlers: HANDLERS
                    .iter()
                    .map(|(p, b)| HandlerBinary::new(p, b))
                    .collect(),
            })?;
            let mut assets = BTreeMap::new();
            let mut files = BTreeMap::new();
            for h in &report.handlers {
                assets.insert(
                    h.name.clone(),
                    LambdaAsset::new(h.name.clone(), h.sha256.clone()),
                );
                files.insert(
                    h.name.clone(),
                    AssetFile {
                        path: h.zip.clone(),
                        sha256: h.sha256.clone(),
                    },
                );
            }
            Ok(Assets {
                lambda: assets,
                files,
                bundle: Some(report),
            })
        }
    }
}

/// Builds and synthesizes the app (no files written).
pub fn synthesize(
    config: &Config,
    assets: &BTreeMap<String, LambdaAsset>,
) -> Result<SynthOutput, SynthError> {
    app::build(config, assets)?.synth()
}

/// What [`synth`] produced.
#[derive(Debug, Clone)]
pub struct SynthResult {
    /// The stacks, in deployment order.
    pub stacks: Vec<StackSummary>,
    /// The bundle, when handlers were bundled.
    pub bundle: Option<BundleReport>,
    /// The files written.
    pub assembly: AssemblyReport,
    /// Time per phase.
    pub timings: Timings,
}

/// `banca synth`: everything, written to `output`.
pub fn synth(
    config: &Config,
    handlers: &Handlers,
    output: &Path,
    opts: &AssemblyOptions,
) -> Result<SynthResult, PipelineError> {
    let t = Instant::now();
    let Assets {
        lambda: assets,
        files,
        bundle,
    } = assets(handlers)?;
    let bundle_ms = ms(t.elapsed());
    let t = Instant::now();
    let app = app::build(config, &assets)?;
    let build_ms = ms(t.elapsed());
    let t = Instant::now();
    let out = app.synth()?;
    let synth_ms = ms(t.elapsed());
    let t = Instant::now();
    let assembly = write_assembly(&out, &files, output, opts)?;
    let write_ms = ms(t.elapsed());
    Ok(SynthResult {
        stacks: summaries(&out),
        bundle,
        assembly,
        timings: Timings {
            bundle_ms,
            build_ms,
            synth_ms,
            write_ms,
        },
    })
}

/// One line of data per stack.
pub fn summaries(out: &SynthOutput) -> Vec<StackSummary> {
    out.stacks
        .iter()
        .map(|s| StackSummary {
            name: s.name.clone(),
            region: s.environment.region.clone(),
            resources: s.template.resources.len(),
            dependencies: s.dependencies.clone(),
        })
        .collect()
}
