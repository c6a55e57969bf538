//! The construct tree: App -> Stage (account + region) -> Stack -> constructs.
//!
//! Every construct is a [`Scope`]: a path in one stack of one app. Resources are kept in
//! CloudFormation's generic form ([`ResourceEntry`]) so aspects and compliance rules read and
//! change them the way cdk-nag reads `CfnResource`s. Values that point at another resource are
//! [`Token`]s; [`App::synth`] resolves them per consuming stack (Ref/GetAtt, export/import, or
//! `Fn::GetStackOutput`) and derives the stack dependencies from them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;

use banca_model::template::{DeletionPolicy, Parameter, ResourceEntry};
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::aspects::{Aspect, AspectEntry, Check};
use crate::error::SynthError;

/// The CDK bootstrap qualifier the default `cdk bootstrap` stack uses; the asset bucket is
/// `cdk-<qualifier>-assets-<account>-<region>`.
pub const DEFAULT_QUALIFIER: &str = "hnb659fds";

/// The JSON key of an unresolved reference inside resource properties.
pub(crate) const TOKEN_KEY: &str = "Banca::Token";

/// Where a stage deploys: one account and one region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Environment {
    /// The 12-digit AWS account id.
    pub account: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
}

impl Environment {
    /// An environment of `account` in `region`.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }
}

/// A Lambda code asset: a zip the synth bundler built, named by its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LambdaAsset {
    /// The handler crate's binary name, e.g. `transfer-processor`.
    pub handler: String,
    /// Lowercase hex SHA-256 of the zip; the S3 key is `<sha256>.zip`.
    pub sha256: String,
}

impl LambdaAsset {
    /// An asset of `handler` whose zip hashes to `sha256` (64 lowercase hex digits).
    pub fn new(handler: impl Into<String>, sha256: impl Into<String>) -> Self {
        Self {
            handler: handler.into(),
            sha256: sha256.into(),
        }
    }

    /// The object key in the bootstrap asset bucket.
    pub fn s3_key(&self) -> String {
        format!("{}.zip", self.sha256)
    }
}

/// Options of a stack.
#[derive(Debug, Clone)]
pub struct StackProps {
    /// Shown in the console. Unset: `banca <stage> <id>`.
    pub description: Option<String>,
    /// Termination protection. Default: on, because every banca stack holds or fronts
    /// customer data or traffic; turn it off only for throw-away stacks.
    pub termination_protection: bool,
}

impl Default for StackProps {
    fn default() -> Self {
        Self {
            description: None,
            termination_protection: true,
        }
    }
}

/// A reference to a stack of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub(crate) usize);

/// A reference to a stage of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(pub(crate) usize);

/// A value that names an attribute of a resource (or the resource's `Ref`), resolved when the
/// app is synthesized according to where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token {
    pub(crate) stack: StackId,
    pub(crate) logical_id: String,
    /// `None` is `Ref`.
    pub(crate) attribute: Option<String>,
}

impl Token {
    /// The stack that owns the resource.
    pub fn stack(&self) -> StackId {
        self.stack
    }

    /// The resource's logical id in its stack.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// The attribute (`None` for `Ref`).
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }

    /// The placeholder stored in properties until synth.
    pub fn to_json(&self) -> Json {
        json!({ TOKEN_KEY: [self.stack.0, self.logical_id, self.attribute] })
    }

    pub(crate) fn from_json(v: &Json) -> Option<Token> {
        let arr = v.as_object()?.get(TOKEN_KEY)?.as_array()?;
        let [stack, id, attr] = arr.as_slice() else {
            return None;
        };
        Some(Token {
            stack: StackId(usize::try_from(stack.as_u64()?).ok()?),
            logical_id: id.as_str()?.to_owned(),
            attribute: attr.as_str().map(str::to_owned),
        })
    }
}

impl serde::Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl From<Token> for Json {
    fn from(t: Token) -> Json {
        t.to_json()
    }
}

impl From<&Token> for Json {
    fn from(t: &Token) -> Json {
        t.to_json()
    }
}

/// A resource of the tree, in CloudFormation's generic form.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceNode {
    /// The construct path, e.g. `banca/primary/messaging/Transfers/Resource`.
    pub path: String,
    /// The logical id in the stack's template.
    pub logical_id: String,
    /// Type, properties, policies, metadata.
    pub entry: ResourceEntry,
}

impl ResourceNode {
    /// The resource's type name.
    pub fn type_name(&self) -> &str {
        &self.entry.type_name
    }

    /// A top-level property.
    pub fn prop(&self, name: &str) -> Option<&Json> {
        self.entry.properties.get(name)
    }
}

#[derive(Debug)]
pub(crate) struct StageData {
    pub(crate) id: String,
    pub(crate) env: Environment,
}

#[derive(Debug)]
pub(crate) struct StackData {
    pub(crate) stage: StageId,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) props: StackProps,
    pub(crate) resources: IndexMap<String, ResourceNode>,
    pub(crate) outputs: IndexMap<String, (Json, Option<String>)>,
    pub(crate) parameters: IndexMap<String, Parameter>,
    pub(crate) conditions: IndexMap<String, Json>,
    pub(crate) kept_exports: BTreeSet<Token>,
    pub(crate) assets: BTreeSet<LambdaAsset>,
    pub(crate) explicit_deps: BTreeSet<StackId>,
}

#[derive(Debug, Clone)]
pub(crate) struct Suppression {
    pub(crate) path: String,
    pub(crate) rule: String,
    pub(crate) reason: String,
}

pub(crate) struct AppState {
    pub(crate) id: String,
    pub(crate) qualifier: String,
    pub(crate) stages: Vec<StageData>,
    pub(crate) stacks: Vec<StackData>,
    /// Tags by path prefix; the longest prefix wins for a key.
    pub(crate) tags: Vec<(String, String, String)>,
    pub(crate) aspects: Vec<AspectEntry>,
    pub(crate) suppressions: Vec<Suppression>,
    /// Checks run after the tree is complete (e.g. a queue's visibility timeout vs its consumer).
    pub(crate) validations: Vec<Validation>,
    pub(crate) compliance: bool,
}

/// A deferred check of the finished tree, registered by constructs that can only judge their
/// configuration once everything is wired (a queue and the function consuming it).
pub(crate) type Validation = Box<dyn Fn(&AppState) -> Option<SynthError>>;

/// The root of a construct tree.
#[derive(Clone)]
pub struct App {
    pub(crate) state: Rc<RefCell<AppState>>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "App({})", self.state.borrow().id)
    }
}

impl App {
    /// An app; `id` prefixes every stack name (`banca` gives `banca-primary-network`).
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            state: Rc::new(RefCell::new(AppState {
                id: id.into(),
                qualifier: DEFAULT_QUALIFIER.to_owned(),
                stages: Vec::new(),
                stacks: Vec::new(),
                tags: Vec::new(),
                aspects: Vec::new(),
                suppressions: Vec::new(),
                validations: Vec::new(),
                compliance: true,
            })),
        }
    }

    /// Uses another CDK bootstrap qualifier for the asset bucket (default [`DEFAULT_QUALIFIER`]).
    pub fn with_qualifier(self, qualifier: impl Into<String>) -> Self {
        self.state.borrow_mut().qualifier = qualifier.into();
        self
    }

    /// The bootstrap qualifier.
    pub fn qualifier(&self) -> String {
        self.state.borrow().qualifier.clone()
    }

    /// The app as a scope (tags and aspects added here apply to every stack).
    pub fn root(&self) -> Scope {
        let id = self.state.borrow().id.clone();
        Scope {
            app: self.clone(),
            stack: None,
            path: id,
        }
    }

    /// Adds a stage: a copy of the system in one account and region.
    pub fn stage(&self, id: &str, env: Environment) -> Result<StageId, SynthError> {
        check_id("stage", id)?;
        let mut s = self.state.borrow_mut();
        if s.stages.iter().any(|st| st.id == id) {
            return Err(SynthError::DuplicateId {
                path: format!("{}/{id}", s.id),
            });
        }
        s.stages.push(StageData {
            id: id.to_owned(),
            env,
        });
        Ok(StageId(s.stages.len() - 1))
    }

    /// Adds a stack to a stage; its name is `<app>-<stage>-<id>`.
    pub fn stack(&self, stage: StageId, id: &str, props: StackProps) -> Result<Scope, SynthError> {
        check_id("stack", id)?;
        let mut s = self.state.borrow_mut();
        let Some(st) = s.stages.get(stage.0) else {
            return Err(SynthError::UnknownStage { index: stage.0 });
        };
        let name = format!("{}-{}-{id}", s.id, st.id);
        let path = format!("{}/{}/{id}", s.id, st.id);
        if s.stacks.iter().any(|x| x.path == path) {
            return Err(SynthError::DuplicateId { path });
        }
        s.stacks.push(StackData {
            stage,
            id: id.to_owned(),
            name,
            path: path.clone(),
            props,
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
            parameters: IndexMap::new(),
            conditions: IndexMap::new(),
            kept_exports: BTreeSet::new(),
            assets: BTreeSet::new(),
            explicit_deps: BTreeSet::new(),
        });
        let stack = StackId(s.stacks.len() - 1);
        drop(s);
        Ok(Scope {
            app: self.clone(),
            stack: Some(stack),
            path,
        })
    }

    /// The scope at `path` (a construct path such as a finding names), to tag or suppress it.
    pub fn scope_at(&self, path: &str) -> Result<Scope, SynthError> {
        let s = self.state.borrow();
        let stack = s
            .stacks
            .iter()
            .position(|st| path == st.path || path.starts_with(&format!("{}/", st.path)));
        if stack.is_none() && !(path == s.id || path.starts_with(&format!("{}/", s.id))) {
            return Err(SynthError::InvalidId {
                kind: "path",
                id: path.to_owned(),
                allowed: "a path of this app",
            });
        }
        Ok(Scope {
            app: self.clone(),
            stack: stack.map(StackId),
            path: path.to_owned(),
        })
    }

    /// Turns the compliance rules off (only for tests of other aspects).
    #[doc(hidden)]
    pub fn without_compliance(self) -> Self {
        self.state.borrow_mut().compliance = false;
        self
    }
}

fn check_id(kind: &'static str, id: &str) -> Result<(), SynthError> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SynthError::InvalidId {
            kind,
            id: id.to_owned(),
            allowed: "lowercase letters, digits and '-' (it becomes part of the stack name)",
        })
    }
}

/// A node of the tree: a path in one stack (or the app root). Constructs take a scope and an id.
#[derive(Clone)]
pub struct Scope {
    pub(crate) app: App,
    pub(crate) stack: Option<StackId>,
    pub(crate) path: String,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.path)
    }
}

impl Scope {
    /// The construct path, `app/stage/stack/Construct/Child`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The app.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The stack this scope is in.
    pub fn stack_id(&self) -> Result<StackId, SynthError> {
        self.stack.ok_or_else(|| SynthError::NotInStack {
            path: self.path.clone(),
        })
    }

    /// A child scope `id` (a construct id: letters and digits, unique in its parent).
    pub fn child(&self, id: &str) -> Result<Scope, SynthError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(SynthError::InvalidId {
                kind: "construct",
                id: id.to_owned(),
                allowed: "ASCII letters, digits and '-'",
            });
        }
        Ok(Scope {
            app: self.app.clone(),
            stack: self.stack,
            path: format!("{}/{id}", self.path),
        })
    }

    /// The parent scope (the scope itself at the root).
    pub fn parent(&self) -> Scope {
        let path = match self.path.rsplit_once('/') {
            Some((p, _)) => p.to_owned(),
            None => self.path.clone(),
        };
        Scope {
            app: self.app.clone(),
            stack: self.stack,
            path,
        }
    }

    /// The environment (account, region) of this scope's stack.
    pub fn env(&self) -> Result<Environment, SynthError> {
        let stack = self.stack_id()?;
        let s = self.app.state.borrow();
        let stage = s.stacks[stack.0].stage;
        Ok(s.stages[stage.0].env.clone())
    }

    /// The stack's name (`banca-primary-network`).
    pub fn stack_name(&self) -> Result<String, SynthError> {
        let stack = self.stack_id()?;
        Ok(self.app.state.borrow().stacks[stack.0].name.clone())
    }

    /// The stage's id (`primary`).
    pub fn stage_id(&self) -> Result<String, SynthError> {
        let stack = self.stack_id()?;
        let s = self.app.state.borrow();
        let stage = s.stacks[stack.0].stage;
        Ok(s.stages[stage.0].id.clone())
    }

    /// Adds a resource at `self/id` and returns its logical id. Properties may hold [`Token`]s.
    pub fn add_resource(
        &self,
        id: &str,
        type_name: &str,
        properties: Json,
    ) -> Result<ResourceRef, SynthError> {
        self.add_entry(id, ResourceEntry::new(type_name, properties))
    }

    /// Adds a typed L1 resource at `self/id` (an escape hatch for what no L2 covers).
    pub fn add_l1<R: banca_model::resource::Resource>(
        &self,
        id: &str,
        resource: R,
    ) -> Result<ResourceRef, SynthError> {
        let props = serde_json::to_value(&resource).map_err(|e| SynthError::Serialize {
            path: format!("{}/{id}", self.path),
            message: e.to_string(),
        })?;
        self.add_resource(id, R::TYPE_NAME, props)
    }

    /// Adds a resource in generic form at `self/id`.
    pub fn add_entry(&self, id: &str, entry: ResourceEntry) -> Result<ResourceRef, SynthError> {
        let stack = self.stack_id()?;
        let node = self.child(id)?;
        let mut s = self.app.state.borrow_mut();
        let stack_path = s.stacks[stack.0].path.clone();
        let logical_id = logical_id(&stack_path, &node.path);
        let data = &mut s.stacks[stack.0];
        if data.resources.contains_key(&logical_id)
            || data.resources.values().any(|r| r.path == node.path)
        {
            return Err(SynthError::DuplicateId { path: node.path });
        }
        let type_name = entry.type_name.clone();
        data.resources.insert(
            logical_id.clone(),
            ResourceNode {
                path: node.path.clone(),
                logical_id: logical_id.clone(),
                entry,
            },
        );
        Ok(ResourceRef {
            scope: node,
            stack,
            logical_id,
            type_name,
        })
    }

    /// Tags every taggable resource under this scope (and the stack itself when this is a stack
    /// or the app). A tag set deeper in the tree wins over the same key set higher up.
    pub fn add_tag(&self, key: &str, value: &str) {
        self.app.state.borrow_mut().tags.push((
            self.path.clone(),
            key.to_owned(),
            value.to_owned(),
        ));
    }

    /// Adds a mutating aspect to this scope's subtree. Lower priority runs first; every
    /// mutating aspect runs before every read-only one.
    pub fn add_aspect(&self, priority: i32, aspect: impl Aspect + 'static) {
        self.app
            .state
            .borrow_mut()
            .aspects
            .push(AspectEntry::mutating(self.path.clone(), priority, aspect));
    }

    /// Adds a read-only aspect (a check that reports findings) to this scope's subtree.
    pub fn add_check(&self, priority: i32, check: impl Check + 'static) {
        self.app
            .state
            .borrow_mut()
            .aspects
            .push(AspectEntry::read_only(self.path.clone(), priority, check));
    }

    /// Suppresses compliance rule `rule` (e.g. `AwsSolutions-SQS3`) on every resource under this
    /// scope. The reason is required, at least 10 characters, and written to the resources'
    /// `Metadata.cdk_nag.rules_to_suppress` for other tools.
    pub fn suppress(&self, rule: &str, reason: &str) {
        self.app.state.borrow_mut().suppressions.push(Suppression {
            path: self.path.clone(),
            rule: rule.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Adds a parameter to this scope's stack, once: a second call with the same name and the
    /// same definition is a no-op (several constructs may share one switch), a different
    /// definition is an error. Returns its `Ref`.
    pub fn add_parameter(&self, name: &str, parameter: Parameter) -> Result<Json, SynthError> {
        let stack = self.stack_id()?;
        let mut s = self.app.state.borrow_mut();
        let data = &mut s.stacks[stack.0];
        match data.parameters.get(name) {
            Some(p) if *p != parameter => {
                return Err(SynthError::DuplicateId {
                    path: format!("{}/{name}", data.path),
                });
            }
            Some(_) => {}
            None => {
                data.parameters.insert(name.to_owned(), parameter);
            }
        }
        Ok(json!({ "Ref": name }))
    }

    /// Adds a condition (`Fn::Equals`, `Fn::And`, ...) to this scope's stack, once, like
    /// [`Scope::add_parameter`]; use its name in `Fn::If` or a resource's `Condition`.
    pub fn add_condition(&self, name: &str, condition: Json) -> Result<(), SynthError> {
        let stack = self.stack_id()?;
        let mut s = self.app.state.borrow_mut();
        let data = &mut s.stacks[stack.0];
        match data.conditions.get(name) {
            Some(c) if *c != condition => Err(SynthError::DuplicateId {
                path: format!("{}/{name}", data.path),
            }),
            Some(_) => Ok(()),
            None => {
                data.conditions.insert(name.to_owned(), condition);
                Ok(())
            }
        }
    }

    /// Adds an output to this scope's stack (not exported). Use [`Scope::export_value`] for
    /// values other stacks need; references between stacks create their own outputs.
    pub fn add_output(
        &self,
        name: &str,
        value: impl Into<Json>,
        description: Option<&str>,
    ) -> Result<(), SynthError> {
        let stack = self.stack_id()?;
        let mut s = self.app.state.borrow_mut();
        let data = &mut s.stacks[stack.0];
        if data.outputs.contains_key(name) {
            return Err(SynthError::DuplicateId {
                path: format!("{}/{name}", data.path),
            });
        }
        data.outputs.insert(
            name.to_owned(),
            (value.into(), description.map(str::to_owned)),
        );
        Ok(())
    }

    /// Keeps the export of `token` in its stack even when no stack imports it any more.
    ///
    /// This is the way out of the "deadly embrace": when a consumer stops using an export,
    /// CloudFormation refuses to update the producer (removing the export) before the consumer
    /// (which still imports it) — keep the export for one deployment, deploy the consumer, then
    /// remove this call.
    pub fn export_value(&self, token: &Token) {
        let mut s = self.app.state.borrow_mut();
        if let Some(data) = s.stacks.get_mut(token.stack.0) {
            data.kept_exports.insert(token.clone());
        }
    }

    /// Makes this scope's stack deploy after `other` without a reference between them.
    pub fn add_dependency(&self, other: StackId) -> Result<(), SynthError> {
        let stack = self.stack_id()?;
        self.app.state.borrow_mut().stacks[stack.0]
            .explicit_deps
            .insert(other);
        Ok(())
    }

    pub(crate) fn add_asset(&self, asset: LambdaAsset) -> Result<(), SynthError> {
        let stack = self.stack_id()?;
        self.app.state.borrow_mut().stacks[stack.0]
            .assets
            .insert(asset);
        Ok(())
    }

    pub(crate) fn add_validation(&self, v: Validation) {
        self.app.state.borrow_mut().validations.push(v);
    }
}

/// A resource added to the tree.
#[derive(Debug, Clone)]
pub struct ResourceRef {
    scope: Scope,
    stack: StackId,
    logical_id: String,
    type_name: String,
}

impl PartialEq for ResourceRef {
    fn eq(&self, other: &Self) -> bool {
        self.stack == other.stack && self.logical_id == other.logical_id
    }
}

impl ResourceRef {
    /// The resource's scope (its path ends in its id).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Its logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// Its stack.
    pub fn stack(&self) -> StackId {
        self.stack
    }

    /// Its type name.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// `Ref`.
    pub fn reference(&self) -> Token {
        Token {
            stack: self.stack,
            logical_id: self.logical_id.clone(),
            attribute: None,
        }
    }

    /// `Fn::GetAtt` of `attribute` (checked against the type's attributes at synth).
    pub fn get_att(&self, attribute: &str) -> Token {
        Token {
            stack: self.stack,
            logical_id: self.logical_id.clone(),
            attribute: Some(attribute.to_owned()),
        }
    }

    /// Changes the resource's entry (properties, policies, DependsOn, metadata).
    pub fn with_entry<T>(&self, f: impl FnOnce(&mut ResourceEntry) -> T) -> T {
        let mut s = self.scope.app.state.borrow_mut();
        let entry = &mut s.stacks[self.stack.0]
            .resources
            .get_mut(&self.logical_id)
            .map(|n| &mut n.entry);
        match entry {
            Some(e) => f(e),
            // A ResourceRef is only made by add_entry, and nodes are never removed.
            None => f(&mut ResourceEntry::new(self.type_name.clone(), json!({}))),
        }
    }

    /// Sets a top-level property (an override, like CDK's `addPropertyOverride`).
    pub fn set_property(&self, name: &str, value: impl Into<Json>) {
        let value = value.into();
        self.with_entry(|e| {
            if let Some(obj) = e.properties.as_object_mut() {
                obj.insert(name.to_owned(), value);
            }
        });
    }

    /// Removes a top-level property.
    pub fn remove_property(&self, name: &str) {
        self.with_entry(|e| {
            if let Some(obj) = e.properties.as_object_mut() {
                obj.remove(name);
            }
        });
    }

    /// A top-level property's current value.
    pub fn property(&self, name: &str) -> Option<Json> {
        self.with_entry(|e| e.properties.get(name).cloned())
    }

    /// Sets DeletionPolicy and UpdateReplacePolicy.
    pub fn apply_removal_policy(&self, policy: DeletionPolicy) {
        self.with_entry(|e| {
            e.retain(policy);
        });
    }

    /// Adds a DependsOn on another resource of the same stack.
    pub fn add_depends_on(&self, other: &ResourceRef) {
        if other.stack != self.stack {
            return;
        }
        let id = other.logical_id.clone();
        self.with_entry(|e| {
            if !e.depends_on.contains(&id) {
                e.depends_on.push(id);
            }
        });
    }

    /// Suppresses a compliance rule on this resource only (reason >= 10 characters).
    pub fn suppress(&self, rule: &str, reason: &str) {
        self.scope.suppress(rule, reason);
    }
}

/// A stable, readable logical id: the path below the stack with non-alphanumerics removed,
/// plus 8 hex digits of a hash of the full path, like CDK's `makeUniqueId`. A top-level id
/// (one component) is used as is, so hand-written ids stay readable.
pub fn logical_id(stack_path: &str, path: &str) -> String {
    let rel = path
        .strip_prefix(stack_path)
        .unwrap_or(path)
        .trim_start_matches('/');
    let mut parts: Vec<&str> = rel.split('/').filter(|p| *p != "Default").collect();
    if parts.len() > 1 && parts.last() == Some(&"Resource") {
        parts.pop();
    }
    let clean = |s: &str| -> String { s.chars().filter(char::is_ascii_alphanumeric).collect() };
    if parts.len() == 1 {
        return clean(parts[0]);
    }
    // CDK hashes the components (Default removed) so two paths that read the same still differ.
    let hashed: Vec<&str> = rel.split('/').filter(|p| *p != "Default").collect();
    let digest = Sha256::digest(hashed.join("/").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02X}")).collect();
    let mut human = String::new();
    let mut last = String::new();
    for p in &parts {
        let c = clean(p);
        // Repeated components (Api/Api) read once, as in CDK's removeDupes.
        if c != last {
            human.push_str(&c);
        }
        last = c;
    }
    let max = banca_model::template::limits::MAX_LOGICAL_ID_CHARS - hash.len();
    if human.len() > max {
        human.truncate(max);
    }
    format!("{human}{hash}")
}

/// Every logical id of `stack` that `v` references, by token or by Ref/GetAtt: exactly the ids
/// for which [`references`] is true.
pub fn collect_references(v: &Json, stack: StackId, out: &mut std::collections::BTreeSet<String>) {
    if let Some(t) = Token::from_json(v) {
        if t.stack == stack {
            out.insert(t.logical_id.clone());
        }
        return;
    }
    match v {
        Json::Array(a) => a.iter().for_each(|x| collect_references(x, stack, out)),
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("Ref") {
                out.insert(r.clone());
            }
            if let Some(Json::Array(a)) = m.get("Fn::GetAtt")
                && let Some(r) = a.first().and_then(Json::as_str)
            {
                out.insert(r.to_owned());
            }
            m.values().for_each(|x| collect_references(x, stack, out));
        }
        _ => {}
    }
}

/// Whether `v` references the resource `logical_id` of `stack`, by token or by Ref/GetAtt.
pub fn references(v: &Json, stack: StackId, logical_id: &str) -> bool {
    if let Some(t) = Token::from_json(v) {
        return t.stack == stack && t.logical_id == logical_id;
    }
    match v {
        Json::Array(a) => a.iter().any(|x| references(x, stack, logical_id)),
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("Ref")
                && r == logical_id
            {
                return true;
            }
            if let Some(Json::Array(a)) = m.get("Fn::GetAtt")
                && a.first().and_then(Json::as_str) == Some(logical_id)
            {
                return true;
            }
            m.values().any(|x| references(x, stack, logical_id))
        }
        _ => false,
    }
}

/// The tags that apply to `path`: every tag set on a prefix of it, deeper ones winning.
pub(crate) fn tags_for(tags: &[(String, String, String)], path: &str) -> BTreeMap<String, String> {
    let mut matched: Vec<&(String, String, String)> = tags
        .iter()
        .filter(|(p, _, _)| path == p || path.starts_with(&format!("{p}/")))
        .collect();
    // Stable sort by depth: same-depth tags keep the order they were added in (later wins).
    matched.sort_by_key(|(p, _, _)| p.matches('/').count());
    matched
        .into_iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect()
}
