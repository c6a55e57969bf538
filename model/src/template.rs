//! A CloudFormation template: parameters, mappings, conditions, resources (with DependsOn,
//! Condition, DeletionPolicy, UpdateReplacePolicy, Metadata) and outputs (with Export).
//!
//! Resources are stored in the generic form CloudFormation reads (type name + properties JSON),
//! so a template built from typed L1 structs and one parsed back from a deployed stack are the
//! same type, ready for diffing. Output is byte-identical for the same model: maps keep the
//! order things were added in (never hash order), and nothing time-dependent is written.

use std::collections::BTreeSet;
use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::intrinsic::{Expr, Intrinsic, Pseudo};
use crate::resource::{Handle, Resource};
use crate::validate::{Rules, Validator};
use crate::value::Json;

/// CloudFormation's quotas that a template itself can exceed.
pub mod limits {
    /// Resources per template.
    pub const MAX_RESOURCES: usize = 500;
    /// Parameters per template.
    pub const MAX_PARAMETERS: usize = 200;
    /// Outputs per template.
    pub const MAX_OUTPUTS: usize = 200;
    /// Mappings per template.
    pub const MAX_MAPPINGS: usize = 200;
    /// Template body passed through S3, in bytes (a body passed inline may have 51,200).
    pub const MAX_BODY_BYTES: usize = 1_048_576;
    /// Template body passed inline in the API call, in bytes.
    pub const MAX_INLINE_BODY_BYTES: usize = 51_200;
    /// Characters of a logical id.
    pub const MAX_LOGICAL_ID_CHARS: usize = 255;
}

/// What CloudFormation does with a resource when it is deleted or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeletionPolicy {
    /// Delete it (CloudFormation's default for most types).
    Delete,
    /// Keep it, outside the stack.
    Retain,
    /// Keep it only if it was created successfully before the failure.
    RetainExceptOnCreate,
    /// Keep a snapshot, then delete it (RDS, ElastiCache, EBS, Neptune, Redshift).
    Snapshot,
}

/// One resource of a template, in CloudFormation's generic form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourceEntry {
    /// `AWS::Service::Resource`.
    #[serde(rename = "Type")]
    pub type_name: String,
    /// The properties, as a JSON object.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub properties: Json,
    /// The condition that decides whether it is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Resources that must be created first, beyond those its references imply.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub depends_on: Vec<String>,
    /// What happens on stack deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// What happens to the old resource on replacement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<DeletionPolicy>,
    /// Free-form metadata (construct path, suppressed compliance rules, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Json>,
    /// `CreationPolicy` (Auto Scaling groups, wait conditions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_policy: Option<Json>,
    /// `UpdatePolicy` (Auto Scaling groups, ElastiCache, OpenSearch, Lambda aliases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<Json>,
}

fn empty_object() -> Json {
    Json::Object(serde_json::Map::new())
}

fn is_empty_object(v: &Json) -> bool {
    v.as_object().is_some_and(serde_json::Map::is_empty)
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl ResourceEntry {
    /// A resource of `type_name` with `properties` (a JSON object) and no options.
    pub fn new(type_name: impl Into<String>, properties: Json) -> Self {
        Self {
            type_name: type_name.into(),
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
            creation_policy: None,
            update_policy: None,
            properties,
        }
    }

    /// Sets both DeletionPolicy and UpdateReplacePolicy (what stateful resources want).
    pub fn retain(&mut self, policy: DeletionPolicy) -> &mut Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }
}

/// A template parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Parameter {
    /// `String`, `Number`, `List<Number>`, `CommaDelimitedList`, an AWS-specific type, or
    /// `AWS::SSM::Parameter::Value<...>`.
    #[serde(rename = "Type")]
    pub type_name: String,
    /// Shown in the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Used when no value is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    /// The only values accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<Json>,
    /// A regular expression the value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// Shown when a constraint is violated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    /// Minimum length (String).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Maximum length (String).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Minimum value (Number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<Json>,
    /// Maximum value (Number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<Json>,
    /// Mask the value in the console and API (secrets belong in dynamic references instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_echo: Option<bool>,
}

impl Parameter {
    /// A parameter of that type.
    pub fn new(type_name: impl Into<String>) -> Self {
        Self {
            type_name: type_name.into(),
            description: None,
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
            no_echo: None,
        }
    }

    /// With a description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// With a default value.
    pub fn default_value(mut self, v: impl Into<Json>) -> Self {
        self.default = Some(v.into());
        self
    }

    /// With allowed values.
    pub fn allowed_values<V: Into<Json>>(mut self, v: impl IntoIterator<Item = V>) -> Self {
        self.allowed_values = v.into_iter().map(Into::into).collect();
        self
    }
}

/// The export of an output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Export {
    /// The export name, unique per account and region.
    pub name: Json,
}

/// A template output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Output {
    /// Shown in the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value.
    pub value: Json,
    /// Makes it importable with `Fn::ImportValue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// Only output when the condition holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl Output {
    /// An output of `value`.
    pub fn new(value: impl Into<Expr>) -> Self {
        Self {
            description: None,
            value: to_json(&value.into()),
            export: None,
            condition: None,
        }
    }

    /// With a description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Exported under `name`.
    pub fn export(mut self, name: impl Into<Expr>) -> Self {
        self.export = Some(Export {
            name: to_json(&name.into()),
        });
        self
    }
}

fn to_json<T: Serialize>(v: &T) -> Json {
    // Our own types serialize to JSON without fail: no maps with non-string keys, no NaN
    // (numbers come from schema-typed literals).
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// A problem that makes CloudFormation reject the template, found at synth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// Two resources, parameters or outputs with one logical id.
    #[error(
        "{kind} {id:?} is defined twice\nhint: construct ids must be unique within their scope"
    )]
    Duplicate {
        /// resource, parameter, output, mapping or condition.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A logical id CloudFormation does not accept.
    #[error("logical id {id:?} must be 1 to 255 ASCII letters and digits")]
    InvalidLogicalId {
        /// The id.
        id: String,
    },
    /// A literal property value the schema does not allow.
    #[error("Resources.{resource}.Properties.{path}: {message}")]
    InvalidProperty {
        /// Logical id.
        resource: String,
        /// Property path.
        path: String,
        /// What is wrong, with the value and what is allowed.
        message: String,
    },
    /// A Ref, GetAtt, Sub placeholder or DependsOn to something the template lacks.
    #[error(
        "{location}: {function} {target:?}, which is not a resource{params} of this template\nhint: add it, or reference another stack through an export or Fn::GetStackOutput"
    )]
    DanglingReference {
        /// Where the reference is.
        location: String,
        /// Ref, Fn::GetAtt, Fn::Sub, DependsOn.
        function: &'static str,
        /// What it names.
        target: String,
        /// ", parameter or pseudo parameter" when a parameter would also do.
        params: &'static str,
    },
    /// A GetAtt of an attribute the resource's type does not have.
    #[error(
        "{location}: Fn::GetAtt {resource}.{attribute}: {type_name} has no attribute {attribute:?}; it has {allowed}"
    )]
    UnknownAttribute {
        /// Where the GetAtt is.
        location: String,
        /// Logical id.
        resource: String,
        /// The resource's type.
        type_name: String,
        /// The attribute asked for.
        attribute: String,
        /// The attributes it has.
        allowed: String,
    },
    /// A condition, or a mapping, the template does not define.
    #[error("{location}: {kind} {name:?} is not defined in this template")]
    Undefined {
        /// Where it is used.
        location: String,
        /// condition or mapping.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A CloudFormation quota exceeded.
    #[error(
        "the template has {actual} {what}; CloudFormation allows at most {limit}\nhint: split the stack"
    )]
    LimitExceeded {
        /// resources, parameters, outputs, mappings, bytes.
        what: &'static str,
        /// The quota.
        limit: usize,
        /// What the template has.
        actual: usize,
    },
}

/// Every problem found in one template, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateErrors(pub Vec<TemplateError>);

impl fmt::Display for TemplateErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateErrors {}

/// Why a template could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not JSON.
    #[error("the template is not valid JSON: {0}")]
    Json(String),
    /// Not YAML.
    #[error("the template is not valid YAML: {0}")]
    Yaml(String),
    /// Valid JSON/YAML that is not a template.
    #[error("the template's structure is wrong: {0}")]
    Structure(String),
}

/// A CloudFormation template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Template {
    /// Always `2010-09-09`.
    #[serde(rename = "AWSTemplateFormatVersion", default = "format_version")]
    pub format_version: String,
    /// Shown in the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Macros to run (e.g. `AWS::LanguageExtensions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<Json>,
    /// Template metadata.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metadata: IndexMap<String, Json>,
    /// Parameters.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, Parameter>,
    /// Mappings: name -> top-level key -> second-level key -> value.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub mappings: IndexMap<String, IndexMap<String, IndexMap<String, Json>>>,
    /// Conditions, as condition functions.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub conditions: IndexMap<String, Json>,
    /// Resources by logical id.
    #[serde(default)]
    pub resources: IndexMap<String, ResourceEntry>,
    /// Outputs by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Output>,
    /// Property violations found when typed resources were added.
    #[serde(skip)]
    pending: Vec<TemplateError>,
}

fn format_version() -> String {
    "2010-09-09".to_owned()
}

fn valid_logical_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::MAX_LOGICAL_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Template {
    /// An empty template.
    pub fn new() -> Self {
        Self {
            format_version: format_version(),
            ..Self::default()
        }
    }

    /// With a description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Adds a typed resource. Its literal property values are checked against the schema's
    /// rules now and reported by [`Template::validate`].
    pub fn add<R: Resource>(
        &mut self,
        logical_id: &str,
        resource: R,
    ) -> Result<Handle<R>, TemplateError> {
        let mut v = Validator::new();
        resource.check(&mut v, &Rules::NONE);
        self.add_entry(
            logical_id,
            ResourceEntry::new(R::TYPE_NAME, to_json(&resource)),
        )?;
        self.pending
            .extend(
                v.into_violations()
                    .into_iter()
                    .map(|x| TemplateError::InvalidProperty {
                        resource: logical_id.to_owned(),
                        path: x.path,
                        message: x.message,
                    }),
            );
        Ok(Handle::new(logical_id))
    }

    /// Adds a resource in generic form (a type the model does not cover, e.g. `Custom::*`).
    pub fn add_entry(
        &mut self,
        logical_id: &str,
        entry: ResourceEntry,
    ) -> Result<(), TemplateError> {
        if !valid_logical_id(logical_id) {
            return Err(TemplateError::InvalidLogicalId {
                id: logical_id.to_owned(),
            });
        }
        if self.resources.contains_key(logical_id) {
            return Err(TemplateError::Duplicate {
                kind: "resource",
                id: logical_id.to_owned(),
            });
        }
        self.resources.insert(logical_id.to_owned(), entry);
        Ok(())
    }

    /// The entry of a resource, to set DependsOn, policies, Condition or Metadata.
    pub fn entry_mut<R>(&mut self, handle: &Handle<R>) -> Option<&mut ResourceEntry> {
        self.resources.get_mut(handle.logical_id())
    }

    /// Adds a parameter; `Ref` it with [`Intrinsic::reference`].
    pub fn add_parameter(&mut self, name: &str, p: Parameter) -> Result<Intrinsic, TemplateError> {
        if !valid_logical_id(name) {
            return Err(TemplateError::InvalidLogicalId {
                id: name.to_owned(),
            });
        }
        if self.parameters.contains_key(name) {
            return Err(TemplateError::Duplicate {
                kind: "parameter",
                id: name.to_owned(),
            });
        }
        self.parameters.insert(name.to_owned(), p);
        Ok(Intrinsic::reference(name))
    }

    /// Adds a condition (`Fn::Equals`, `Fn::And`, ...); use its name in `Fn::If` or `Condition`.
    pub fn add_condition(&mut self, name: &str, condition: Intrinsic) -> Result<(), TemplateError> {
        if !valid_logical_id(name) {
            return Err(TemplateError::InvalidLogicalId {
                id: name.to_owned(),
            });
        }
        if self.conditions.contains_key(name) {
            return Err(TemplateError::Duplicate {
                kind: "condition",
                id: name.to_owned(),
            });
        }
        self.conditions.insert(name.to_owned(), to_json(&condition));
        Ok(())
    }

    /// Adds a mapping.
    pub fn add_mapping(
        &mut self,
        name: &str,
        map: IndexMap<String, IndexMap<String, Json>>,
    ) -> Result<(), TemplateError> {
        if !valid_logical_id(name) {
            return Err(TemplateError::InvalidLogicalId {
                id: name.to_owned(),
            });
        }
        if self.mappings.contains_key(name) {
            return Err(TemplateError::Duplicate {
                kind: "mapping",
                id: name.to_owned(),
            });
        }
        self.mappings.insert(name.to_owned(), map);
        Ok(())
    }

    /// Adds an output.
    pub fn add_output(&mut self, name: &str, output: Output) -> Result<(), TemplateError> {
        if !valid_logical_id(name) {
            return Err(TemplateError::InvalidLogicalId {
                id: name.to_owned(),
            });
        }
        if self.outputs.contains_key(name) {
            return Err(TemplateError::Duplicate {
                kind: "output",
                id: name.to_owned(),
            });
        }
        self.outputs.insert(name.to_owned(), output);
        Ok(())
    }

    /// Every problem CloudFormation would reject the template for that synth can know:
    /// property values, references, conditions, mappings, quotas.
    pub fn validate(&self) -> Result<(), TemplateErrors> {
        let mut errors = self.pending.clone();
        let counts = [
            ("resources", self.resources.len(), limits::MAX_RESOURCES),
            ("parameters", self.parameters.len(), limits::MAX_PARAMETERS),
            ("outputs", self.outputs.len(), limits::MAX_OUTPUTS),
            ("mappings", self.mappings.len(), limits::MAX_MAPPINGS),
        ];
        for (what, actual, limit) in counts {
            if actual > limit {
                errors.push(TemplateError::LimitExceeded {
                    what,
                    limit,
                    actual,
                });
            }
        }
        let refs = RefChecker { template: self };
        for (id, r) in &self.resources {
            let loc = format!("Resources.{id}");
            refs.walk(&r.properties, &format!("{loc}.Properties"), &mut errors);
            for d in &r.depends_on {
                if !self.resources.contains_key(d) {
                    errors.push(TemplateError::DanglingReference {
                        location: format!("{loc}.DependsOn"),
                        function: "DependsOn",
                        target: d.clone(),
                        params: "",
                    });
                }
            }
            if let Some(c) = &r.condition {
                refs.condition(c, &format!("{loc}.Condition"), &mut errors);
            }
            for (name, v) in [
                ("CreationPolicy", &r.creation_policy),
                ("UpdatePolicy", &r.update_policy),
            ] {
                if let Some(v) = v {
                    refs.walk(v, &format!("{loc}.{name}"), &mut errors);
                }
            }
        }
        for (name, c) in &self.conditions {
            refs.walk(c, &format!("Conditions.{name}"), &mut errors);
        }
        for (name, o) in &self.outputs {
            refs.walk(&o.value, &format!("Outputs.{name}.Value"), &mut errors);
            if let Some(e) = &o.export {
                refs.walk(&e.name, &format!("Outputs.{name}.Export.Name"), &mut errors);
            }
            if let Some(c) = &o.condition {
                refs.condition(c, &format!("Outputs.{name}.Condition"), &mut errors);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TemplateErrors(errors))
        }
    }

    /// The template as CloudFormation JSON (pretty, 1-space indent like `cdk synth`), after
    /// [`Template::validate`] and the body-size quota.
    pub fn to_json(&self) -> Result<String, TemplateErrors> {
        self.validate()?;
        let body = self.to_json_unchecked();
        if body.len() > limits::MAX_BODY_BYTES {
            return Err(TemplateErrors(vec![TemplateError::LimitExceeded {
                what: "bytes",
                limit: limits::MAX_BODY_BYTES,
                actual: body.len(),
            }]));
        }
        Ok(body)
    }

    /// The JSON without checks (for showing a template that failed them).
    pub fn to_json_unchecked(&self) -> String {
        let mut out = Vec::with_capacity(4096);
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        // Serializing our own types into memory cannot fail (see `to_json`).
        if self.serialize(&mut ser).is_err() {
            return String::new();
        }
        out.push(b'\n');
        String::from_utf8(out).unwrap_or_default()
    }

    /// The template as YAML (long-form intrinsics, which every tool reads), after validation.
    pub fn to_yaml(&self) -> Result<String, TemplateErrors> {
        self.validate()?;
        Ok(serde_norway::to_string(self).unwrap_or_default())
    }

    /// Reads a template back (JSON), e.g. a deployed stack's from GetTemplate.
    pub fn from_json(body: &str) -> Result<Self, ParseError> {
        let v: Json = serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
        serde_json::from_value(v).map_err(|e| ParseError::Structure(e.to_string()))
    }

    /// Reads a template back from YAML in long form. Short-form tags (`!Ref`, `!Sub`) are
    /// rewritten to their long form first.
    pub fn from_yaml(body: &str) -> Result<Self, ParseError> {
        let v: serde_norway::Value =
            serde_norway::from_str(body).map_err(|e| ParseError::Yaml(e.to_string()))?;
        let v = long_form(v).map_err(ParseError::Structure)?;
        serde_json::from_value(v).map_err(|e| ParseError::Structure(e.to_string()))
    }

    /// Reads JSON or YAML, whichever the body is.
    pub fn parse(body: &str) -> Result<Self, ParseError> {
        if body.trim_start().starts_with('{') {
            Self::from_json(body)
        } else {
            Self::from_yaml(body)
        }
    }
}

/// YAML -> JSON, turning `!Ref x` into `{"Ref": x}` and `!Sub s` into `{"Fn::Sub": s}`.
fn long_form(v: serde_norway::Value) -> Result<Json, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Json::Null,
        Y::Bool(b) => Json::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Json::String(s),
        Y::Sequence(items) => {
            Json::Array(items.into_iter().map(long_form).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => return Err(format!("mapping key {other:?} is not a string")),
                };
                out.insert(key, long_form(v)?);
            }
            Json::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let fn_name = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ => format!("Fn::{name}"),
            };
            let value = long_form(t.value)?;
            // `!GetAtt a.b` is the one short form with a different argument shape.
            let value = match (name, value) {
                ("GetAtt", Json::String(s)) => match s.split_once('.') {
                    Some((a, b)) => {
                        Json::Array(vec![Json::String(a.into()), Json::String(b.into())])
                    }
                    None => Json::String(s),
                },
                (_, v) => v,
            };
            let mut out = serde_json::Map::new();
            out.insert(fn_name, value);
            Json::Object(out)
        }
    })
}

struct RefChecker<'a> {
    template: &'a Template,
}

impl RefChecker<'_> {
    fn is_ref_target(&self, name: &str) -> bool {
        self.template.resources.contains_key(name)
            || self.template.parameters.contains_key(name)
            || Pseudo::from_name(name).is_some()
    }

    fn condition(&self, name: &str, location: &str, errors: &mut Vec<TemplateError>) {
        if !self.template.conditions.contains_key(name) {
            errors.push(TemplateError::Undefined {
                location: location.to_owned(),
                kind: "condition",
                name: name.to_owned(),
            });
        }
    }

    fn get_att(
        &self,
        resource: &str,
        attribute: &str,
        location: &str,
        errors: &mut Vec<TemplateError>,
    ) {
        let Some(entry) = self.template.resources.get(resource) else {
            errors.push(TemplateError::DanglingReference {
                location: location.to_owned(),
                function: "Fn::GetAtt",
                target: resource.to_owned(),
                params: "",
            });
            return;
        };
        if let Some(info) = crate::l1::resource_info(&entry.type_name)
            && !info.has_attribute(attribute)
        {
            errors.push(TemplateError::UnknownAttribute {
                location: location.to_owned(),
                resource: resource.to_owned(),
                type_name: entry.type_name.clone(),
                attribute: attribute.to_owned(),
                allowed: info.attributes.join(", "),
            });
        }
    }

    fn walk(&self, v: &Json, location: &str, errors: &mut Vec<TemplateError>) {
        match v {
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(item, &format!("{location}[{i}]"), errors);
                }
            }
            Json::Object(map) if map.len() == 1 => {
                let Some((k, arg)) = map.iter().next() else {
                    return;
                };
                self.function(k, arg, location, errors);
            }
            Json::Object(map) => {
                for (k, item) in map {
                    self.walk(item, &format!("{location}.{k}"), errors);
                }
            }
            _ => {}
        }
    }

    fn function(&self, name: &str, arg: &Json, location: &str, errors: &mut Vec<TemplateError>) {
        match (name, arg) {
            ("Ref", Json::String(target)) => {
                if !self.is_ref_target(target) {
                    errors.push(TemplateError::DanglingReference {
                        location: location.to_owned(),
                        function: "Ref",
                        target: target.clone(),
                        params: ", parameter or pseudo parameter",
                    });
                }
            }
            ("Fn::GetAtt", Json::Array(a)) => {
                if let [Json::String(r), attr] = a.as_slice() {
                    match attr {
                        Json::String(attr) => self.get_att(r, attr, location, errors),
                        other => {
                            self.get_att_resource_only(r, location, errors);
                            self.walk(other, location, errors);
                        }
                    }
                }
            }
            ("Fn::GetAtt", Json::String(s)) => {
                if let Some((r, attr)) = s.split_once('.') {
                    self.get_att(r, attr, location, errors);
                }
            }
            ("Fn::Sub", Json::String(s)) => self.sub(s, &BTreeSet::new(), location, errors),
            ("Fn::Sub", Json::Array(a)) => {
                if let [Json::String(s), Json::Object(vars)] = a.as_slice() {
                    let local: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
                    self.sub(s, &local, location, errors);
                    for (k, item) in vars {
                        self.walk(item, &format!("{location}.{k}"), errors);
                    }
                }
            }
            ("Fn::If", Json::Array(a)) => {
                if let Some(Json::String(c)) = a.first() {
                    self.condition(c, location, errors);
                }
                for item in a.iter().skip(1) {
                    self.walk(item, location, errors);
                }
            }
            ("Condition", Json::String(c)) => self.condition(c, location, errors),
            ("Fn::FindInMap", Json::Array(a)) => {
                if let Some(Json::String(m)) = a.first()
                    && !self.template.mappings.contains_key(m)
                {
                    errors.push(TemplateError::Undefined {
                        location: location.to_owned(),
                        kind: "mapping",
                        name: m.clone(),
                    });
                }
                for item in a.iter().skip(1) {
                    self.walk(item, location, errors);
                }
            }
            (_, other) => self.walk(other, &format!("{location}.{name}"), errors),
        }
    }

    fn get_att_resource_only(&self, r: &str, location: &str, errors: &mut Vec<TemplateError>) {
        if !self.template.resources.contains_key(r) {
            errors.push(TemplateError::DanglingReference {
                location: location.to_owned(),
                function: "Fn::GetAtt",
                target: r.to_owned(),
                params: "",
            });
        }
    }

    fn sub(
        &self,
        s: &str,
        local: &BTreeSet<&str>,
        location: &str,
        errors: &mut Vec<TemplateError>,
    ) {
        for name in sub_placeholders(s) {
            if local.contains(name) {
                continue;
            }
            match name.split_once('.') {
                Some((r, attr)) if !name.starts_with("AWS::") => {
                    self.get_att(r, attr, location, errors)
                }
                _ if self.is_ref_target(name) => {}
                _ => errors.push(TemplateError::DanglingReference {
                    location: location.to_owned(),
                    function: "Fn::Sub",
                    target: name.to_owned(),
                    params: ", parameter or pseudo parameter",
                }),
            }
        }
    }
}

/// The `${Name}` placeholders of an `Fn::Sub` string (`${!Literal}` is an escape, not one).
pub fn sub_placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim();
        if !name.starts_with('!') && !name.is_empty() {
            out.push(name);
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests;
