//! Reading a CDK cloud assembly (`cdk.out/`): `manifest.json`, the stack templates and the
//! asset manifests, in the format of the AWS CDK cloud-assembly-schema (version 48), so an
//! assembly written by `banca synth` or by `cdk synth` deploys the same way.
//!
//! Only what deploying needs is read; other artifact types (`cdk:tree`, nested assemblies) and
//! unknown fields are skipped, as the CDK CLI does for forward compatibility.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use banca_model::template::Template;
use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::Error;

/// The artifact type of a CloudFormation stack.
pub const STACK_ARTIFACT: &str = "aws:cloudformation:stack";
/// The artifact type of an asset manifest.
pub const ASSET_MANIFEST_ARTIFACT: &str = "cdk:asset-manifest";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    version: String,
    #[serde(default)]
    artifacts: IndexMap<String, RawArtifact>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArtifact {
    #[serde(rename = "type")]
    kind: String,
    environment: Option<String>,
    #[serde(default)]
    properties: serde_json::Value,
    #[serde(default)]
    dependencies: Vec<String>,
    display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStackProperties {
    template_file: String,
    stack_name: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    termination_protection: bool,
    assume_role_arn: Option<String>,
    cloud_formation_execution_role_arn: Option<String>,
    stack_template_asset_object_url: Option<String>,
    requires_bootstrap_stack_version: Option<u32>,
    bootstrap_stack_version_ssm_parameter: Option<String>,
    #[serde(default)]
    additional_dependencies: Vec<String>,
    #[serde(default)]
    notification_arns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAssetManifestProperties {
    file: String,
    requires_bootstrap_stack_version: Option<u32>,
    bootstrap_stack_version_ssm_parameter: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAssetManifest {
    #[serde(default)]
    files: IndexMap<String, RawFileAsset>,
    #[serde(default)]
    docker_images: IndexMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFileAsset {
    source: RawFileSource,
    #[serde(default)]
    destinations: IndexMap<String, RawFileDestination>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFileSource {
    path: Option<String>,
    packaging: Option<String>,
    executable: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFileDestination {
    bucket_name: String,
    object_key: String,
    region: Option<String>,
    assume_role_arn: Option<String>,
}

/// An AWS account and region a stack deploys to (`aws://ACCOUNT/REGION`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Environment {
    /// The account id, or `None` for `unknown-account` (resolved from the credentials).
    pub account: Option<String>,
    /// The region.
    pub region: String,
}

impl Environment {
    /// Parses `aws://ACCOUNT/REGION`.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("aws://")?;
        let (account, region) = rest.split_once('/')?;
        if region.is_empty() || region == "unknown-region" || region.contains('/') {
            return None;
        }
        let account = match account {
            "" | "unknown-account" => None,
            a => Some(a.to_owned()),
        };
        Some(Self {
            account,
            region: region.to_owned(),
        })
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "aws://{}/{}",
            self.account.as_deref().unwrap_or("unknown-account"),
            self.region
        )
    }
}

/// What the deploy must find in the target environment's bootstrap stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapRequirement {
    /// The lowest bootstrap version that works.
    pub min_version: u32,
    /// The SSM parameter holding the deployed version.
    pub ssm_parameter: String,
}

/// One file asset and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAsset {
    /// The asset id (its content hash).
    pub id: String,
    /// A readable name, when the manifest has one.
    pub display_name: Option<String>,
    /// The file to upload, absolute.
    pub path: PathBuf,
    /// The destination bucket (placeholders not yet substituted).
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The destination region.
    pub region: Option<String>,
    /// The role to publish with, when the manifest names one.
    pub assume_role_arn: Option<String>,
}

/// A stack artifact.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The artifact id (what `banca deploy NAME` matches first).
    pub id: String,
    /// The CloudFormation stack name.
    pub stack_name: String,
    /// The name shown to people (`displayName`, else the id).
    pub display_name: String,
    /// Where it deploys.
    pub environment: Environment,
    /// The template file, absolute.
    pub template_file: PathBuf,
    /// The template, parsed.
    pub template: Template,
    /// The template body as written (what is sent to CloudFormation).
    pub template_body: String,
    /// Stack parameters.
    pub parameters: BTreeMap<String, String>,
    /// Stack tags.
    pub tags: BTreeMap<String, String>,
    /// Whether termination protection must be on.
    pub termination_protection: bool,
    /// The role to deploy with (placeholders not yet substituted).
    pub assume_role_arn: Option<String>,
    /// The role CloudFormation runs as.
    pub execution_role_arn: Option<String>,
    /// Where the template is published as an asset (`s3://bucket/key`).
    pub template_asset_url: Option<String>,
    /// The bootstrap stack this needs.
    pub bootstrap: Option<BootstrapRequirement>,
    /// Other stacks (artifact ids) that must be deployed first.
    pub depends_on: Vec<String>,
    /// The file assets to publish first (from its asset manifests).
    pub assets: Vec<FileAsset>,
    /// SNS topics for stack events.
    pub notification_arns: Vec<String>,
}

/// A cloud assembly, read from a directory.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// The manifest's schema version.
    pub version: String,
    /// The stacks, in manifest order.
    pub stacks: Vec<Stack>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let body = std::fs::read_to_string(path).map_err(|e| Error::AssemblyRead {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&body).map_err(|e| Error::AssemblyFormat {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The highest manifest major version this reader understands.
pub const MAX_SCHEMA_MAJOR: u32 = 53;

impl Assembly {
    /// Reads `dir/manifest.json` and everything it points to.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let manifest_path = dir.join("manifest.json");
        let raw: RawManifest = read_json(&manifest_path)?;
        let major: Option<u32> = raw.version.split('.').next().and_then(|m| m.parse().ok());
        match major {
            Some(m) if m <= MAX_SCHEMA_MAJOR => {}
            _ => {
                return Err(Error::AssemblyFormat {
                    path: manifest_path,
                    reason: format!(
                        "schema version {:?} is not one this banca reads (up to {MAX_SCHEMA_MAJOR}.x)\nhint: synthesize with a banca or CDK of the same generation",
                        raw.version
                    ),
                });
            }
        }
        let mut asset_manifests: BTreeMap<String, (Vec<FileAsset>, Option<BootstrapRequirement>)> =
            BTreeMap::new();
        for (id, art) in &raw.artifacts {
            if art.kind != ASSET_MANIFEST_ARTIFACT {
                continue;
            }
            let props: RawAssetManifestProperties = serde_json::from_value(art.properties.clone())
                .map_err(|e| Error::AssemblyFormat {
                    path: manifest_path.clone(),
                    reason: format!("artifacts.{id}.properties: {e}"),
                })?;
            let file = dir.join(&props.file);
            let assets = read_asset_manifest(dir, &file)?;
            let req = props
                .requires_bootstrap_stack_version
                .map(|v| BootstrapRequirement {
                    min_version: v,
                    ssm_parameter: props
                        .bootstrap_stack_version_ssm_parameter
                        .clone()
                        .unwrap_or_else(|| crate::bootstrap::VERSION_PARAMETER.to_owned()),
                });
            asset_manifests.insert(id.clone(), (assets, req));
        }
        let stack_ids: BTreeSet<&str> = raw
            .artifacts
            .iter()
            .filter(|(_, a)| a.kind == STACK_ARTIFACT)
            .map(|(id, _)| id.as_str())
            .collect();
        let mut stacks = Vec::new();
        for (id, art) in &raw.artifacts {
            if art.kind != STACK_ARTIFACT {
                continue;
            }
            let loc = |what: &str| format!("artifacts.{id}.{what}");
            let props: RawStackProperties = serde_json::from_value(art.properties.clone())
                .map_err(|e| Error::AssemblyFormat {
                    path: manifest_path.clone(),
                    reason: format!("{}: {e}", loc("properties")),
                })?;
            let env_text = art.environment.as_deref().unwrap_or("");
            let environment = Environment::parse(env_text).ok_or_else(|| Error::AssemblyFormat {
                path: manifest_path.clone(),
                reason: format!(
                    "{}: must be aws://ACCOUNT/REGION with a concrete region, got {env_text:?}\nhint: give every stack an explicit region",
                    loc("environment")
                ),
            })?;
            let template_file = dir.join(&props.template_file);
            let template_body =
                std::fs::read_to_string(&template_file).map_err(|e| Error::AssemblyRead {
                    path: template_file.clone(),
                    reason: e.to_string(),
                })?;
            let template = Template::parse(&template_body).map_err(|e| Error::AssemblyFormat {
                path: template_file.clone(),
                reason: e.to_string(),
            })?;
            let mut depends_on = Vec::new();
            let mut assets = Vec::new();
            let mut bootstrap =
                props
                    .requires_bootstrap_stack_version
                    .map(|v| BootstrapRequirement {
                        min_version: v,
                        ssm_parameter: props
                            .bootstrap_stack_version_ssm_parameter
                            .clone()
                            .unwrap_or_else(|| crate::bootstrap::VERSION_PARAMETER.to_owned()),
                    });
            for dep in art
                .dependencies
                .iter()
                .chain(&props.additional_dependencies)
            {
                if stack_ids.contains(dep.as_str()) {
                    if !depends_on.contains(dep) {
                        depends_on.push(dep.clone());
                    }
                } else if let Some((files, req)) = asset_manifests.get(dep) {
                    for f in files {
                        if !assets.contains(f) {
                            assets.push(f.clone());
                        }
                    }
                    if bootstrap.is_none() {
                        bootstrap.clone_from(req);
                    }
                } else if !raw.artifacts.contains_key(dep) {
                    return Err(Error::AssemblyFormat {
                        path: manifest_path.clone(),
                        reason: format!(
                            "{}: {dep:?} is not an artifact of this assembly",
                            loc("dependencies")
                        ),
                    });
                }
            }
            stacks.push(Stack {
                id: id.clone(),
                stack_name: props.stack_name.clone().unwrap_or_else(|| id.clone()),
                display_name: art.display_name.clone().unwrap_or_else(|| id.clone()),
                environment,
                template_file,
                template,
                template_body,
                parameters: props.parameters,
                tags: props.tags,
                termination_protection: props.termination_protection,
                assume_role_arn: props.assume_role_arn,
                execution_role_arn: props.cloud_formation_execution_role_arn,
                template_asset_url: props.stack_template_asset_object_url,
                bootstrap,
                depends_on,
                assets,
                notification_arns: props.notification_arns,
            });
        }
        let assembly = Self {
            dir: dir.to_owned(),
            version: raw.version,
            stacks,
        };
        crate::plan::check_acyclic(&assembly)?;
        Ok(assembly)
    }

    /// The stack with this artifact id.
    pub fn stack(&self, id: &str) -> Option<&Stack> {
        self.stacks.iter().find(|s| s.id == id)
    }

    /// The stacks `patterns` name (artifact id, stack name or display name; `*` matches any
    /// run of characters), in manifest order; every stack when `patterns` is empty. A pattern
    /// that matches nothing is an error naming the stacks there are.
    pub fn select(&self, patterns: &[String]) -> Result<Vec<&Stack>, Error> {
        if patterns.is_empty() {
            return Ok(self.stacks.iter().collect());
        }
        for p in patterns {
            if !self.stacks.iter().any(|s| s.matches(p)) {
                return Err(Error::NoSuchStack {
                    pattern: p.clone(),
                    available: self
                        .stacks
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(self
            .stacks
            .iter()
            .filter(|s| patterns.iter().any(|p| s.matches(p)))
            .collect())
    }

    /// `stacks` plus every stack they depend on, transitively, in manifest order.
    pub fn with_dependencies<'a>(&'a self, stacks: &[&'a Stack]) -> Vec<&'a Stack> {
        let mut wanted: BTreeSet<&str> = stacks.iter().map(|s| s.id.as_str()).collect();
        let mut todo: Vec<&str> = wanted.iter().copied().collect();
        while let Some(id) = todo.pop() {
            if let Some(s) = self.stack(id) {
                for d in &s.depends_on {
                    if wanted.insert(d.as_str()) {
                        todo.push(d.as_str());
                    }
                }
            }
        }
        self.stacks
            .iter()
            .filter(|s| wanted.contains(s.id.as_str()))
            .collect()
    }

    /// The regions (with accounts) the assembly deploys to, sorted.
    pub fn environments(&self) -> Vec<Environment> {
        let set: BTreeSet<Environment> =
            self.stacks.iter().map(|s| s.environment.clone()).collect();
        set.into_iter().collect()
    }
}

impl Stack {
    /// Whether `pattern` names this stack.
    pub fn matches(&self, pattern: &str) -> bool {
        [&self.id, &self.stack_name, &self.display_name]
            .iter()
            .any(|name| glob(pattern, name))
    }
}

/// `*`-only glob matching.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

fn read_asset_manifest(dir: &Path, file: &Path) -> Result<Vec<FileAsset>, Error> {
    let raw: RawAssetManifest = read_json(file)?;
    if let Some(id) = raw.docker_images.keys().next() {
        return Err(Error::AssemblyFormat {
            path: file.to_owned(),
            reason: format!(
                "dockerImages.{id}: container image assets are not supported by banca deploy\nhint: package the function as a zip asset"
            ),
        });
    }
    let mut out = Vec::new();
    for (id, asset) in raw.files {
        let loc = format!("files.{id}.source");
        if asset.source.executable.is_some() {
            return Err(Error::AssemblyFormat {
                path: file.to_owned(),
                reason: format!(
                    "{loc}.executable: assets built by a command are not supported\nhint: have synth write the asset file"
                ),
            });
        }
        let Some(path) = asset.source.path else {
            return Err(Error::AssemblyFormat {
                path: file.to_owned(),
                reason: format!("{loc}.path: missing"),
            });
        };
        let full = dir.join(&path);
        match asset.source.packaging.as_deref().unwrap_or("file") {
            "file" => {}
            "zip" if full.is_file() => {}
            other => {
                return Err(Error::AssemblyFormat {
                    path: file.to_owned(),
                    reason: format!(
                        "{loc}.packaging: {other:?} of {path:?} is not supported; banca publishes files and ready-made zips\nhint: have synth write the zip (asset.<hash>.zip)"
                    ),
                });
            }
        }
        for dest in asset.destinations.into_values() {
            out.push(FileAsset {
                id: id.clone(),
                display_name: asset.display_name.clone(),
                path: full.clone(),
                bucket: dest.bucket_name,
                key: dest.object_key,
                region: dest.region,
                assume_role_arn: dest.assume_role_arn,
            });
        }
    }
    Ok(out)
}

/// Substitutes `${AWS::AccountId}`, `${AWS::Region}`, `${AWS::Partition}` and `${AWS::URLSuffix}`
/// in manifest strings (role ARNs, bucket names).
pub fn substitute(text: &str, account: &str, region: &str) -> String {
    let partition = partition_of(region);
    text.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", partition)
        .replace(
            "${AWS::URLSuffix}",
            if partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            },
        )
}

/// The partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_parse_and_reject_agnostic_regions() {
        assert_eq!(
            Environment::parse("aws://123456789012/us-east-1"),
            Some(Environment {
                account: Some("123456789012".into()),
                region: "us-east-1".into()
            })
        );
        assert_eq!(
            Environment::parse("aws://unknown-account/us-west-2").map(|e| e.account),
            Some(None)
        );
        assert_eq!(Environment::parse("aws://1/unknown-region"), None);
        assert_eq!(Environment::parse("us-east-1"), None);
    }

    #[test]
    fn globs_match_stars_only() {
        assert!(glob("banca-*", "banca-messaging"));
        assert!(glob("*-dr", "banca-data-dr"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abcd"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn placeholders_are_substituted_per_partition() {
        assert_eq!(
            substitute(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x-${AWS::Region}",
                "1",
                "cn-north-1"
            ),
            "arn:aws-cn:iam::1:role/x-cn-north-1"
        );
    }
}
