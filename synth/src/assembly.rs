//! Writes a cloud assembly in the AWS CDK's format (`manifest.json`, one `<stack>.template.json`
//! and one `<stack>.assets.json` per stack, `asset.<sha256>.zip` files), so the CDK CLI can list
//! and deploy it and so can banca's own deploy engine. Names follow the CDK's default
//! synthesizer: bootstrap qualifier, asset bucket, roles, version parameter.
//!
//! The output is byte-identical for the same app and the same assets: no timestamps, stacks in
//! app order, keys in fixed order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use banca_constructs::{SynthOutput, SynthStack};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::bundle::hex;

/// The cloud assembly schema version written (accepted by the AWS CDK CLI 2.x).
pub const SCHEMA_VERSION: &str = "36.0.0";
/// The bootstrap stack version the assembly requires (CDK's modern bootstrap).
pub const REQUIRED_BOOTSTRAP_VERSION: u32 = 6;

/// Options of [`write_assembly`].
#[derive(Debug, Clone)]
pub struct AssemblyOptions {
    /// The CDK bootstrap qualifier (`hnb659fds` by default).
    pub qualifier: String,
    /// Also write `<stack>.template.yaml` next to each JSON template.
    pub yaml: bool,
}

impl Default for AssemblyOptions {
    fn default() -> Self {
        Self {
            qualifier: banca_constructs::DEFAULT_QUALIFIER.to_owned(),
            yaml: false,
        }
    }
}

/// A Lambda zip ready to go into the assembly, by handler name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFile {
    /// The zip on disk.
    pub path: PathBuf,
    /// Its SHA-256, lowercase hex (what the template's S3Key names).
    pub sha256: String,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssemblyReport {
    /// Template files, in stack order.
    pub templates: Vec<PathBuf>,
    /// Asset zips copied in.
    pub assets: Vec<PathBuf>,
    /// Template sizes in bytes, by stack name.
    pub template_bytes: BTreeMap<String, usize>,
}

/// Why the assembly could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssemblyError {
    /// The output directory has files that are not a cloud assembly; nothing is deleted.
    #[error(
        "{0} exists and is not a cloud assembly (no manifest.json); refusing to overwrite it\nhint: choose another --output directory"
    )]
    NotAnAssembly(PathBuf),
    /// A stack uses a handler the bundle does not have.
    #[error(
        "stack {stack} uses handler {handler:?}, which was not bundled\nhint: add it to the bundled handlers"
    )]
    MissingAsset {
        /// The stack.
        stack: String,
        /// The handler.
        handler: String,
    },
    /// A stack's asset hash differs from the bundle's.
    #[error(
        "stack {stack} references {handler} as {expected}, but the bundle has {actual}\nhint: build the app from the bundle's hashes"
    )]
    AssetMismatch {
        /// The stack.
        stack: String,
        /// The handler.
        handler: String,
        /// What the template names.
        expected: String,
        /// What the bundle holds.
        actual: String,
    },
    /// A template failed its checks.
    #[error("stack {stack}:\n{errors}")]
    Template {
        /// The stack.
        stack: String,
        /// The problems.
        errors: banca_model::template::TemplateErrors,
    },
    /// Reading or writing failed.
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

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> AssemblyError + 'a {
    move |source| AssemblyError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn pretty(v: &Json) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes the assembly of `app` into `dir` (replacing a previous assembly there).
pub fn write_assembly(
    app: &SynthOutput,
    assets: &BTreeMap<String, AssetFile>,
    dir: &Path,
    opts: &AssemblyOptions,
) -> Result<AssemblyReport, AssemblyError> {
    prepare_dir(dir)?;
    let q = &opts.qualifier;
    let mut report = AssemblyReport::default();
    let mut artifacts = serde_json::Map::new();
    for stack in &app.stacks {
        let body = stack
            .template
            .to_json()
            .map_err(|errors| AssemblyError::Template {
                stack: stack.name.clone(),
                errors,
            })?;
        let template_file = format!("{}.template.json", stack.name);
        let path = dir.join(&template_file);
        std::fs::write(&path, &body).map_err(io("writing", &path))?;
        report.template_bytes.insert(stack.name.clone(), body.len());
        report.templates.push(path);
        if opts.yaml {
            let yaml = stack
                .template
                .to_yaml()
                .map_err(|errors| AssemblyError::Template {
                    stack: stack.name.clone(),
                    errors,
                })?;
            let ypath = dir.join(format!("{}.template.yaml", stack.name));
            std::fs::write(&ypath, yaml).map_err(io("writing", &ypath))?;
        }
        let template_hash = hex(&Sha256::digest(body.as_bytes()));

        let (account, region) = (&stack.environment.account, &stack.environment.region);
        let dest_key = format!("{account}-{region}");
        let bucket = format!("cdk-{q}-assets-{account}-{region}");
        let publishing_role = format!(
            "arn:${{AWS::Partition}}:iam::{account}:role/cdk-{q}-file-publishing-role-{account}-{region}"
        );
        let mut files = serde_json::Map::new();
        files.insert(
            template_hash.clone(),
            json!({
                "displayName": format!("{} Template", stack.name),
                "source": {"path": template_file, "packaging": "file"},
                "destinations": {dest_key.clone(): {
                    "bucketName": bucket, "objectKey": format!("{template_hash}.json"),
                    "region": region, "assumeRoleArn": publishing_role}}
            }),
        );
        for asset in sorted_assets(stack) {
            let file = assets
                .get(&asset.handler)
                .ok_or_else(|| AssemblyError::MissingAsset {
                    stack: stack.name.clone(),
                    handler: asset.handler.clone(),
                })?;
            if file.sha256 != asset.sha256 {
                return Err(AssemblyError::AssetMismatch {
                    stack: stack.name.clone(),
                    handler: asset.handler.clone(),
                    expected: asset.sha256.clone(),
                    actual: file.sha256.clone(),
                });
            }
            let name = format!("asset.{}.zip", asset.sha256);
            let target = dir.join(&name);
            if !target.exists() {
                std::fs::copy(&file.path, &target).map_err(io("copying", &file.path))?;
                report.assets.push(target);
            }
            files.insert(
                asset.sha256.clone(),
                json!({
                    "displayName": format!("{} handler {}", stack.name, asset.handler),
                    "source": {"path": name, "packaging": "file"},
                    "destinations": {dest_key.clone(): {
                        "bucketName": format!("cdk-{q}-assets-{account}-{region}"),
                        "objectKey": format!("{}.zip", asset.sha256),
                        "region": region, "assumeRoleArn": publishing_role}}
                }),
            );
        }
        let assets_file = format!("{}.assets.json", stack.name);
        let apath = dir.join(&assets_file);
        let manifest = json!({"version": SCHEMA_VERSION, "files": files, "dockerImages": {}});
        std::fs::write(&apath, pretty(&manifest)).map_err(io("writing", &apath))?;

        let version_param = format!("/cdk-bootstrap/{q}/version");
        let assets_id = format!("{}.assets", stack.name);
        artifacts.insert(
            assets_id.clone(),
            json!({"type": "cdk:asset-manifest", "properties": {
                "file": assets_file,
                "requiresBootstrapStackVersion": REQUIRED_BOOTSTRAP_VERSION,
                "bootstrapStackVersionSsmParameter": version_param}}),
        );
        let mut deps: Vec<String> = stack.dependencies.clone();
        deps.push(assets_id.clone());
        artifacts.insert(
            stack.name.clone(),
            json!({
                "type": "aws:cloudformation:stack",
                "environment": format!("aws://{account}/{region}"),
                "properties": {
                    "templateFile": format!("{}.template.json", stack.name),
                    "terminationProtection": stack.termination_protection,
                    "validateOnSynth": false,
                    "tags": stack.tags,
                    "stackName": stack.name,
                    "assumeRoleArn": format!("arn:${{AWS::Partition}}:iam::{account}:role/cdk-{q}-deploy-role-{account}-{region}"),
                    "cloudFormationExecutionRoleArn": format!("arn:${{AWS::Partition}}:iam::{account}:role/cdk-{q}-cfn-exec-role-{account}-{region}"),
                    "stackTemplateAssetObjectUrl": format!("s3://cdk-{q}-assets-{account}-{region}/{template_hash}.json"),
                    "requiresBootstrapStackVersion": REQUIRED_BOOTSTRAP_VERSION,
                    "bootstrapStackVersionSsmParameter": version_param,
                    "additionalDependencies": [assets_id],
                    "lookupRole": {
                        "arn": format!("arn:${{AWS::Partition}}:iam::{account}:role/cdk-{q}-lookup-role-{account}-{region}"),
                        "requiresBootstrapStackVersion": 8,
                        "bootstrapStackVersionSsmParameter": format!("/cdk-bootstrap/{q}/version")
                    }
                },
                "dependencies": deps,
                "displayName": stack.path,
            }),
        );
    }
    let manifest = json!({"version": SCHEMA_VERSION, "artifacts": artifacts});
    let mpath = dir.join("manifest.json");
    std::fs::write(&mpath, pretty(&manifest)).map_err(io("writing", &mpath))?;
    let cpath = dir.join("cdk.out");
    std::fs::write(&cpath, pretty(&json!({"version": SCHEMA_VERSION})))
        .map_err(io("writing", &cpath))?;
    Ok(report)
}

fn sorted_assets(stack: &SynthStack) -> Vec<&banca_constructs::LambdaAsset> {
    let mut v: Vec<_> = stack.assets.iter().collect();
    v.sort_by(|a, b| a.handler.cmp(&b.handler));
    v.dedup_by(|a, b| a.handler == b.handler);
    v
}

/// Empties `dir` if it holds a previous assembly; refuses a directory holding anything else.
fn prepare_dir(dir: &Path) -> Result<(), AssemblyError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .map_err(io("listing", dir))?
            .peekable();
        if entries.peek().is_some() {
            if !dir.join("manifest.json").exists() {
                return Err(AssemblyError::NotAnAssembly(dir.to_owned()));
            }
            std::fs::remove_dir_all(dir).map_err(io("removing the previous assembly in", dir))?;
        }
    }
    std::fs::create_dir_all(dir).map_err(io("creating", dir))
}
