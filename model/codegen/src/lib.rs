//! banca-codegen: turns the vendored CloudFormation registry schemas (`model/schemas/`) into the
//! Rust L1 types of `banca-model` (`model/src/l1/`).
//!
//! One module per service; per resource type a struct with every writable property (required
//! ones non-optional), its builder, its schema metadata (`ResourceInfo`), typed `Fn::GetAtt`
//! accessors, and a module of nested property types. Schema constructs and what they become:
//!
//! | schema | Rust |
//! |---|---|
//! | `$ref` to an object definition | a struct named after the definition |
//! | inline object with `properties` | a struct named after the property |
//! | string `enum` | an enum with `Unknown(String)` for values newer than the schema |
//! | `patternProperties` / schema-valued `additionalProperties` | `BTreeMap<String, Value<T>>` |
//! | object without properties | free-form [`Json`](serde_json::Value) |
//! | `oneOf`/`anyOf` of types | an untagged enum with one variant per type |
//! | `oneOf`/`anyOf` of objects or `required` sets | one struct, plus an "exactly/at least one of" check |
//! | `oneOf`/`anyOf` of formats only | the base type (the formats constrain values, not shape) |
//! | `["object","string"]` with properties | the struct (the string form is the legacy encoding) |
//! | `insertionOrder: false` | listed in `ResourceInfo::unordered_arrays` for diffing |
//! | ranges, lengths, patterns, item counts, `const` | `Rules` checked on literals at synth |
//!
//! Output is deterministic: the same schemas always give the same bytes.
#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value as Json;

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A schema file is not JSON.
    #[error("{path} is not valid JSON")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A schema has a shape the generator does not understand.
    #[error("{type_name}: {message}")]
    Schema {
        /// The resource type.
        type_name: String,
        /// What is wrong.
        message: String,
    },
    /// rustfmt failed on the generated code.
    #[error("rustfmt failed: {0}\nhint: rustup component add rustfmt")]
    Rustfmt(String),
}

/// The vendored schemas, as read from `model/schemas/`.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    /// Where the schemas came from (the `SOURCE` file).
    pub source: String,
    /// Resource schemas, sorted by type name.
    pub resources: Vec<Json>,
    /// Attributes `Fn::GetAtt` accepts, per type.
    pub getatts: BTreeMap<String, Vec<String>>,
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Json, Error> {
    serde_json::from_str(&read(path)?).map_err(|source| Error::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Reads `dir` (`model/schemas`): `SOURCE`, `getatts.json` and `resources/*/*.json`.
pub fn load(dir: &Path) -> Result<SchemaSet, Error> {
    let source = read(&dir.join("SOURCE"))?.trim().to_owned();
    let getatts =
        serde_json::from_value(read_json(&dir.join("getatts.json"))?).map_err(|source| {
            Error::Parse {
                path: dir.join("getatts.json"),
                source,
            }
        })?;
    let mut files = Vec::new();
    let res = dir.join("resources");
    let services = std::fs::read_dir(&res).map_err(|source| Error::Read {
        path: res.clone(),
        source,
    })?;
    for service in services {
        let service = service
            .map_err(|source| Error::Read {
                path: res.clone(),
                source,
            })?
            .path();
        let entries = std::fs::read_dir(&service).map_err(|source| Error::Read {
            path: service.clone(),
            source,
        })?;
        for e in entries {
            let p = e
                .map_err(|source| Error::Read {
                    path: service.clone(),
                    source,
                })?
                .path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    let mut resources = files
        .iter()
        .map(|p| read_json(p))
        .collect::<Result<Vec<_>, _>>()?;
    resources.sort_by(|a, b| type_name(a).cmp(type_name(b)));
    Ok(SchemaSet {
        source,
        resources,
        getatts,
    })
}

fn type_name(schema: &Json) -> &str {
    schema
        .get("typeName")
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// Generates every file of `model/src/l1/` (path relative to it -> rustfmt-ed source).
pub fn generate(set: &SchemaSet) -> Result<BTreeMap<String, String>, Error> {
    let raw = generate_unformatted(set)?;
    raw.into_iter()
        .map(|(path, code)| Ok((path, rustfmt(&code)?)))
        .collect()
}

/// Like [`generate`], without running rustfmt (for tests on the shape of the output).
pub fn generate_unformatted(set: &SchemaSet) -> Result<BTreeMap<String, String>, Error> {
    let mut by_service: BTreeMap<String, Vec<&Json>> = BTreeMap::new();
    for schema in &set.resources {
        let tn = type_name(schema);
        let service = tn.split("::").nth(1).ok_or_else(|| Error::Schema {
            type_name: tn.to_owned(),
            message: "typeName is not AWS::Service::Resource".into(),
        })?;
        by_service
            .entry(service.to_lowercase())
            .or_default()
            .push(schema);
    }
    let header = format!(
        "// Code generated by banca-codegen from model/schemas ({}). DO NOT EDIT.\n",
        set.source
    );
    let mut files = BTreeMap::new();
    let mut mod_rs = header.clone();
    mod_rs.push_str(
        "//! L1: one module per AWS service, one struct per CloudFormation resource type, generated\n\
         //! from the registry schemas. Complete and opinion-free; secure defaults live in L2.\n\n",
    );
    let mut registry = String::new();
    let mut all_types = String::new();
    for (service, schemas) in &by_service {
        writeln!(mod_rs, "pub mod {service};").ok();
        let mut code = header.clone();
        let names: Vec<&str> = schemas.iter().map(|s| type_name(s)).collect();
        writeln!(code, "//! Resource types of {}.", names.join(", ")).ok();
        code.push_str("#![allow(clippy::large_enum_variant, clippy::type_complexity)]\n\nuse crate::generated_support::*;\n\n");
        let mut builders = String::new();
        for schema in schemas {
            let tn = type_name(schema);
            let attrs = set.getatts.get(tn).cloned().unwrap_or_default();
            let out = ResourceGen::new(schema, tn)?.emit(&attrs)?;
            code.push_str(&out.code);
            builders.push_str(&out.builder);
            writeln!(
                registry,
                "        {tn:?} => Some(&{service}::{}::INFO),",
                out.module
            )
            .ok();
            writeln!(all_types, "    {tn:?},").ok();
        }
        writeln!(
            code,
            "/// Builders of this service's resource types.\npub mod builders {{\n    use super::*;\n{builders}}}"
        )
        .ok();
        files.insert(format!("{service}.rs"), code);
    }
    write!(
        mod_rs,
        "\nuse crate::resource::ResourceInfo;\n\n\
         /// Every resource type the model covers.\n\
         pub const RESOURCE_TYPES: &[&str] = &[\n{all_types}];\n\n\
         /// The schema metadata of a resource type (for templates read back from JSON).\n\
         pub fn resource_info(type_name: &str) -> Option<&'static ResourceInfo> {{\n    match type_name {{\n{registry}        _ => None,\n    }}\n}}\n"
    )
    .ok();
    files.insert("mod.rs".to_owned(), mod_rs);
    Ok(files)
}

/// Formats Rust source with the toolchain's rustfmt (edition 2024), so output is stable.
pub fn rustfmt(code: &str) -> Result<String, Error> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Rustfmt("no stdin".into()))?;
    let input = code.to_owned();
    // Write on another thread: rustfmt can fill its stdout pipe before reading all of stdin.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    writer
        .join()
        .map_err(|_| Error::Rustfmt("writer thread panicked".into()))?
        .map_err(|e| Error::Rustfmt(e.to_string()))?;
    if !out.status.success() {
        return Err(Error::Rustfmt(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| Error::Rustfmt(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Names

/// Names the generated code uses unqualified, which property types must not shadow.
const PRELUDE_NAMES: &[&str] = &[
    "Value",
    "Json",
    "Check",
    "Rules",
    "Validator",
    "Intrinsic",
    "Handle",
    "Resource",
    "ResourceInfo",
    "BuildError",
    "BTreeMap",
    "Serialize",
    "String",
    "Vec",
    "Option",
    "Box",
    "Result",
    "Self",
    "Default",
    "Some",
    "None",
    "Ok",
    "Err",
];

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "build", "builder",
];

/// `DBInstance` -> `db_instance`, `SSESpecification` -> `sse_specification`, `IPV6Enabled` ->
/// `ipv6_enabled`, `deadLetterTargetArn` -> `dead_letter_target_arn`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            // `CNAMEs`: a plural `s` after an acronym is part of it, not the start of a word.
            let plural_s = chars.get(i + 1) == Some(&'s')
                && chars.get(i + 2).is_none_or(|n| !n.is_ascii_lowercase());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()) && !plural_s;
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    let out = out
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{out}")
    } else {
        out
    }
}

/// `db_instance` / `DBInstance` -> `DbInstance`.
pub fn pascal(name: &str) -> String {
    snake(name)
        .split('_')
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn field_name(json_name: &str) -> String {
    let s = snake(json_name);
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// An enum value as a variant name: `provided.al2023` -> `ProvidedAl2023`, `aws:kms` -> `AwsKms`.
pub fn variant_name(value: &str) -> String {
    let words: Vec<String> = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // An all-caps word (`AES256`, `PAY`) reads as a word, not an acronym per letter.
            let w = if w.chars().all(|c| !c.is_ascii_lowercase()) {
                w.to_ascii_lowercase()
            } else {
                w.to_owned()
            };
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect();
    let name = words.concat();
    if name.is_empty() {
        "Empty".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{name}")
    } else {
        name
    }
}

fn singular(name: &str) -> String {
    if let Some(s) = name.strip_suffix("ies") {
        format!("{s}y")
    } else if name.ends_with("ses") || name.ends_with("xes") {
        name[..name.len() - 2].to_owned()
    } else if let Some(s) = name.strip_suffix('s')
        && !name.ends_with("ss")
        && !s.is_empty()
    {
        s.to_owned()
    } else {
        format!("{name}Item")
    }
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

// ---------------------------------------------------------------------------------------------
// Types

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Ty {
    Str,
    Int,
    Num,
    Bool,
    Json,
    Named(String),
    List(Box<Ty>),
    Map(Box<Ty>),
}

impl Ty {
    /// The Rust type, with `prefix` before names of this resource's nested types.
    fn rust(&self, prefix: &str) -> String {
        match self {
            Ty::Str => "String".into(),
            Ty::Int => "i64".into(),
            Ty::Num => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::Json => "Json".into(),
            Ty::Named(n) => format!("{prefix}{n}"),
            Ty::List(t) => format!("Vec<Value<{}>>", t.rust(prefix)),
            Ty::Map(t) => format!("BTreeMap<String, Value<{}>>", t.rust(prefix)),
        }
    }

    fn variant(&self) -> String {
        match self {
            Ty::Str => "String".into(),
            Ty::Int => "Integer".into(),
            Ty::Num => "Number".into(),
            Ty::Bool => "Boolean".into(),
            Ty::Json => "Json".into(),
            Ty::Named(n) => n.clone(),
            Ty::List(_) => "List".into(),
            Ty::Map(_) => "Map".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RulesSpec {
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<String>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    constant: Option<String>,
    items: Option<Box<RulesSpec>>,
}

impl RulesSpec {
    fn is_empty(&self) -> bool {
        *self == RulesSpec::default()
    }

    fn merge(&mut self, other: RulesSpec) {
        macro_rules! take {
            ($($f:ident),*) => {$( if other.$f.is_some() { self.$f = other.$f; } )*};
        }
        take!(
            minimum, maximum, min_length, max_length, pattern, min_items, max_items, constant,
            items
        );
    }

    fn emit(&self) -> String {
        if self.is_empty() {
            return "&Rules::NONE".into();
        }
        let mut parts = Vec::new();
        let f = |x: f64| {
            let s = format!("{x:?}");
            if s.contains('.') || s.contains('e') {
                s
            } else {
                format!("{s}.0")
            }
        };
        if let Some(x) = self.minimum {
            parts.push(format!("minimum: Some({})", f(x)));
        }
        if let Some(x) = self.maximum {
            parts.push(format!("maximum: Some({})", f(x)));
        }
        if let Some(x) = self.min_length {
            parts.push(format!("min_length: Some({x})"));
        }
        if let Some(x) = self.max_length {
            parts.push(format!("max_length: Some({x})"));
        }
        if let Some(x) = &self.pattern {
            parts.push(format!("pattern: Some({})", rust_str(x)));
        }
        if let Some(x) = self.min_items {
            parts.push(format!("min_items: Some({x})"));
        }
        if let Some(x) = self.max_items {
            parts.push(format!("max_items: Some({x})"));
        }
        if let Some(x) = &self.constant {
            parts.push(format!("constant: Some({})", rust_str(x)));
        }
        if let Some(x) = &self.items {
            parts.push(format!("items: Some({})", x.emit()));
        }
        format!("&Rules {{ {}, ..Rules::NONE }}", parts.join(", "))
    }
}

fn rules_of(node: &Json) -> RulesSpec {
    let num = |k: &str| node.get(k).and_then(Json::as_f64);
    let int = |k: &str| node.get(k).and_then(Json::as_u64);
    let mut r = RulesSpec {
        minimum: num("minimum"),
        maximum: num("maximum"),
        min_length: int("minLength"),
        max_length: int("maxLength"),
        pattern: node
            .get("pattern")
            .and_then(Json::as_str)
            .map(str::to_owned),
        min_items: int("minItems").or_else(|| int("minProperties")),
        max_items: int("maxItems").or_else(|| int("maxProperties")),
        constant: node.get("const").and_then(Json::as_str).map(str::to_owned),
        items: None,
    };
    if let Some(items) = node.get("items") {
        let ir = rules_of(items);
        if !ir.is_empty() {
            r.items = Some(Box::new(ir));
        }
    }
    r
}

#[derive(Debug, Clone)]
struct Field {
    json_name: String,
    rust_name: String,
    ty: Ty,
    required: bool,
    boxed: bool,
    rules: RulesSpec,
    doc: String,
}

#[derive(Debug, Clone)]
struct StructDef {
    name: String,
    label: String,
    fields: Vec<Field>,
    /// Groups of properties of which exactly one (true) or at least one (false) must be set.
    one_of: Vec<(Vec<String>, bool)>,
}

#[derive(Debug, Clone)]
enum Item {
    Struct(StructDef),
    Enum {
        name: String,
        values: Vec<String>,
    },
    Union {
        name: String,
        variants: Vec<(String, Ty)>,
    },
}

impl Item {
    fn name(&self) -> &str {
        match self {
            Item::Struct(s) => &s.name,
            Item::Enum { name, .. } | Item::Union { name, .. } => name,
        }
    }
}

fn types_of(node: &Json) -> Vec<String> {
    match node.get("type") {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

fn has_shape(alt: &Json) -> bool {
    ["type", "$ref", "properties", "items", "enum"]
        .iter()
        .any(|k| alt.get(*k).is_some())
        && alt.get("format").and_then(Json::as_str) != Some("json")
}

fn alternatives(node: &Json) -> Option<(&Vec<Json>, bool)> {
    if let Some(Json::Array(a)) = node.get("oneOf") {
        return Some((a, true));
    }
    if let Some(Json::Array(a)) = node.get("anyOf") {
        return Some((a, false));
    }
    None
}

/// Generates one resource type.
struct ResourceGen<'a> {
    root: &'a Json,
    type_name: &'a str,
    resource_name: String,
    module: String,
    items: Vec<Item>,
    taken: HashSet<String>,
    reserved: HashSet<String>,
    defs: HashMap<String, Ty>,
    enums_by_values: HashMap<Vec<String>, String>,
}

struct Emitted {
    code: String,
    builder: String,
    module: String,
}

impl<'a> ResourceGen<'a> {
    fn new(root: &'a Json, type_name: &'a str) -> Result<Self, Error> {
        let resource = type_name.rsplit("::").next().unwrap_or(type_name);
        let mut reserved = HashSet::new();
        if let Some(Json::Object(defs)) = root.get("definitions") {
            for (name, def) in defs {
                let t = types_of(def);
                if def.get("properties").is_some()
                    || def.get("enum").is_some()
                    || t.iter().any(|t| t == "object")
                {
                    reserved.insert(pascal(name));
                }
            }
        }
        Ok(Self {
            root,
            type_name,
            resource_name: pascal(resource),
            module: snake(resource),
            items: Vec::new(),
            // Names the generated code uses unqualified.
            taken: PRELUDE_NAMES.iter().map(|n| (*n).to_owned()).collect(),
            reserved,
            defs: HashMap::new(),
            enums_by_values: HashMap::new(),
        })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Schema {
            type_name: self.type_name.to_owned(),
            message: message.into(),
        }
    }

    fn unique(&mut self, hint: &str, parent: &str, is_def: bool) -> String {
        let base = pascal(hint);
        let base = if base.is_empty() {
            "Value".to_owned()
        } else {
            base
        };
        let free = |s: &Self, n: &str| {
            !s.taken.contains(n) && (is_def || !s.reserved.contains(n)) && n != s.resource_name
        };
        if free(self, &base) {
            self.taken.insert(base.clone());
            return base;
        }
        let with_parent = format!("{parent}{base}");
        if free(self, &with_parent) {
            self.taken.insert(with_parent.clone());
            return with_parent;
        }
        let mut i = 2;
        loop {
            let n = format!("{with_parent}{i}");
            if free(self, &n) {
                self.taken.insert(n.clone());
                return n;
            }
            i += 1;
        }
    }

    fn definition(&self, reference: &str) -> Result<(String, &'a Json), Error> {
        let name = reference
            .strip_prefix("#/definitions/")
            .ok_or_else(|| self.err(format!("unsupported $ref {reference}")))?;
        let def = self
            .root
            .get("definitions")
            .and_then(|d| d.get(name))
            .ok_or_else(|| self.err(format!("$ref to missing definition {name}")))?;
        Ok((name.to_owned(), def))
    }

    fn rules(&self, node: &Json) -> RulesSpec {
        let mut r = RulesSpec::default();
        if let Some(reference) = node.get("$ref").and_then(Json::as_str)
            && let Ok((_, def)) = self.definition(reference)
        {
            r = self.rules(def);
        }
        r.merge(rules_of(node));
        if let Some((alts, _)) = alternatives(node) {
            let shaped: Vec<&Json> = alts.iter().filter(|a| has_shape(a)).collect();
            if let [only] = shaped.as_slice() {
                r.merge(self.rules(only));
            }
        }
        r
    }

    fn resolve(&mut self, node: &Json, hint: &str, parent: &str) -> Result<Ty, Error> {
        if let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            let (name, def) = self.definition(reference)?;
            if let Some(t) = self.defs.get(&name) {
                return Ok(t.clone());
            }
            let ty = self.resolve_node(def, &name, "", true)?;
            self.defs.insert(name, ty.clone());
            return Ok(ty);
        }
        self.resolve_node(node, hint, parent, false)
    }

    fn resolve_node(
        &mut self,
        node: &Json,
        hint: &str,
        parent: &str,
        is_def: bool,
    ) -> Result<Ty, Error> {
        let types = types_of(node);
        let has_props = node
            .get("properties")
            .and_then(Json::as_object)
            .is_some_and(|p| !p.is_empty());
        if let Some((alts, _)) = alternatives(node) {
            let shaped: Vec<&Json> = alts.iter().filter(|a| has_shape(a)).collect();
            let object_alts = shaped
                .iter()
                .all(|a| a.get("properties").is_some() && a.get("$ref").is_none());
            if !shaped.is_empty()
                && !(object_alts && (has_props || types.iter().any(|t| t == "object")))
            {
                if shaped.len() == 1 {
                    return self.resolve(shaped[0], hint, parent);
                }
                return self.union(&shaped, &types, hint, parent);
            }
        }
        let alt_props = alternatives(node)
            .is_some_and(|(alts, _)| alts.iter().any(|a| a.get("properties").is_some()));
        if types.len() > 1 {
            if types.iter().any(|t| t == "object") && (has_props || alt_props) {
                return self.structure(node, hint, parent, is_def);
            }
            if types.iter().any(|t| t == "array") && !types.iter().any(|t| t == "object") {
                let items = node.get("items").unwrap_or(&Json::Null);
                let item = if items.is_null() {
                    Ty::Str
                } else {
                    self.resolve(items, &singular(hint), parent)?
                };
                let name = self.unique(&format!("{hint}Value"), parent, false);
                let item_rust = item.clone();
                self.items.push(Item::Union {
                    name: name.clone(),
                    variants: vec![
                        ("String".into(), Ty::Str),
                        ("List".into(), Ty::List(Box::new(item_rust))),
                    ],
                });
                return Ok(Ty::Named(name));
            }
            return Ok(Ty::Json);
        }
        match types.first().map(String::as_str) {
            Some("string") => match node.get("enum").and_then(Json::as_array) {
                Some(values) => self.enumeration(values, hint, parent, is_def),
                None => Ok(Ty::Str),
            },
            Some("integer") => Ok(Ty::Int),
            Some("number") => Ok(Ty::Num),
            Some("boolean") => Ok(Ty::Bool),
            Some("array") => {
                let items = node
                    .get("items")
                    .or_else(|| node.get("prefixItems").and_then(|p| p.get(0)))
                    .unwrap_or(&Json::Null);
                if items.is_null() {
                    return Ok(Ty::List(Box::new(Ty::Json)));
                }
                let item = self.resolve(items, &singular(hint), parent)?;
                Ok(Ty::List(Box::new(item)))
            }
            Some("object") | None => {
                if has_props || alt_props {
                    return self.structure(node, hint, parent, is_def);
                }
                if let Some(Json::Object(pp)) = node.get("patternProperties")
                    && let Some((_, v)) = pp.iter().next()
                {
                    let t = self.resolve(v, &singular(hint), parent)?;
                    return Ok(Ty::Map(Box::new(t)));
                }
                if let Some(ap @ Json::Object(_)) = node.get("additionalProperties") {
                    let t = self.resolve(ap, &singular(hint), parent)?;
                    return Ok(Ty::Map(Box::new(t)));
                }
                if types.is_empty()
                    && let Some(values) = node.get("enum").and_then(Json::as_array)
                {
                    return self.enumeration(values, hint, parent, is_def);
                }
                if node.get("additionalProperties") == Some(&Json::Bool(false)) && !types.is_empty()
                {
                    return self.structure(node, hint, parent, is_def);
                }
                Ok(Ty::Json)
            }
            Some(other) => Err(self.err(format!("unsupported type {other} at {hint}"))),
        }
    }

    fn enumeration(
        &mut self,
        values: &[Json],
        hint: &str,
        parent: &str,
        is_def: bool,
    ) -> Result<Ty, Error> {
        let values: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if values.is_empty() {
            return Ok(Ty::Str);
        }
        if let Some(existing) = self.enums_by_values.get(&values)
            && pascal(hint) == *existing
        {
            return Ok(Ty::Named(existing.clone()));
        }
        let name = self.unique(hint, parent, is_def);
        self.enums_by_values.insert(values.clone(), name.clone());
        self.items.push(Item::Enum {
            name: name.clone(),
            values,
        });
        Ok(Ty::Named(name))
    }

    fn union(
        &mut self,
        alts: &[&Json],
        outer: &[String],
        hint: &str,
        parent: &str,
    ) -> Result<Ty, Error> {
        let name = self.unique(&format!("{hint}Value"), parent, false);
        let mut variants: Vec<(String, Ty)> = Vec::new();
        for alt in alts {
            let ty = if alt.get("type").is_none() && alt.get("$ref").is_none() && outer.len() == 1 {
                let mut merged = (*alt).clone();
                merged["type"] = Json::String(outer[0].clone());
                self.resolve(&merged, hint, parent)?
            } else {
                self.resolve(alt, hint, parent)?
            };
            if variants.iter().any(|(_, t)| *t == ty) {
                continue;
            }
            let mut vname = ty.variant();
            while variants.iter().any(|(n, _)| *n == vname) {
                vname.push('2');
            }
            variants.push((vname, ty));
        }
        self.items.push(Item::Union {
            name: name.clone(),
            variants,
        });
        Ok(Ty::Named(name))
    }

    fn structure(
        &mut self,
        node: &Json,
        hint: &str,
        parent: &str,
        is_def: bool,
    ) -> Result<Ty, Error> {
        let name = self.unique(hint, parent, is_def);
        if is_def {
            self.defs.insert(hint.to_owned(), Ty::Named(name.clone()));
        }
        let label = format!("{}.{}", self.type_name, name);
        let def = self.struct_def(node, &name, &label, &[])?;
        self.items.push(Item::Struct(def));
        Ok(Ty::Named(name))
    }

    fn struct_def(
        &mut self,
        node: &Json,
        name: &str,
        label: &str,
        skip: &[String],
    ) -> Result<StructDef, Error> {
        let mut props: BTreeMap<&str, &Json> = BTreeMap::new();
        let mut one_of = Vec::new();
        if let Some(Json::Object(p)) = node.get("properties") {
            props.extend(p.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some((alts, exactly)) = alternatives(node) {
            let mut group = Vec::new();
            for alt in alts {
                if let Some(Json::Object(p)) = alt.get("properties") {
                    for (k, v) in p {
                        props.entry(k.as_str()).or_insert(v);
                    }
                }
                if let Some(first) = alt
                    .get("required")
                    .and_then(|r| r.get(0))
                    .and_then(Json::as_str)
                {
                    group.push(first.to_owned());
                }
            }
            if group.len() == alts.len() && group.len() > 1 {
                one_of.push((group, exactly));
            }
        }
        if let Some(Json::Array(xor)) = node.get("requiredXor") {
            one_of.push((
                xor.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                true,
            ));
        }
        let required: BTreeSet<&str> = node
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        let mut used = HashSet::new();
        for (json_name, schema) in props {
            if skip.iter().any(|s| s == json_name) {
                continue;
            }
            let ty = self.resolve(schema, json_name, name)?;
            let mut rust_name = field_name(json_name);
            while !used.insert(rust_name.clone()) {
                rust_name.push_str("_2");
            }
            let rules = self.rules(schema);
            fields.push(Field {
                json_name: json_name.to_owned(),
                rust_name,
                ty,
                required: required.contains(json_name),
                boxed: false,
                rules,
                doc: String::new(),
            });
        }
        one_of.retain(|(group, _)| {
            group
                .iter()
                .all(|g| fields.iter().any(|f| f.json_name == *g && !f.required))
        });
        Ok(StructDef {
            name: name.to_owned(),
            label: label.to_owned(),
            fields,
            one_of,
        })
    }

    /// Boxes struct fields that would otherwise make a type contain itself.
    fn box_cycles(&mut self) {
        let direct: HashMap<String, Vec<String>> = self
            .items
            .iter()
            .map(|it| {
                let edges = match it {
                    Item::Struct(s) => s
                        .fields
                        .iter()
                        .filter_map(|f| match &f.ty {
                            Ty::Named(n) => Some(n.clone()),
                            _ => None,
                        })
                        .collect(),
                    Item::Union { variants, .. } => variants
                        .iter()
                        .filter_map(|(_, t)| match t {
                            Ty::Named(n) => Some(n.clone()),
                            _ => None,
                        })
                        .collect(),
                    Item::Enum { .. } => vec![],
                };
                (it.name().to_owned(), edges)
            })
            .collect();
        let reaches = |from: &str, to: &str| {
            let mut stack = vec![from.to_owned()];
            let mut seen = HashSet::new();
            while let Some(n) = stack.pop() {
                if n == to {
                    return true;
                }
                if seen.insert(n.clone())
                    && let Some(e) = direct.get(&n)
                {
                    stack.extend(e.iter().cloned());
                }
            }
            false
        };
        for it in &mut self.items {
            if let Item::Struct(s) = it {
                for f in &mut s.fields {
                    if let Ty::Named(n) = &f.ty {
                        f.boxed = reaches(n, &s.name);
                    }
                }
            }
        }
    }

    fn emit(mut self, attrs: &[String]) -> Result<Emitted, Error> {
        let root = self.root;
        let read_only = pointers(root, "readOnlyProperties");
        let mut skip = Vec::new();
        if let Some(Json::Object(props)) = root.get("properties") {
            for (name, schema) in props {
                let p = format!("/properties/{name}");
                let nested_all_ro = schema
                    .get("properties")
                    .and_then(Json::as_object)
                    .is_some_and(|sub| {
                        !sub.is_empty()
                            && sub.keys().all(|k| read_only.contains(&format!("{p}/{k}")))
                    });
                if read_only.contains(&p) || nested_all_ro {
                    skip.push(name.clone());
                }
            }
        }
        let rname = self.resource_name.clone();
        self.taken.insert(rname.clone());
        let mut resource = self.struct_def(root, &rname, self.type_name, &skip)?;
        self.box_cycles();
        let create_only = pointers(root, "createOnlyProperties");
        let write_only = pointers(root, "writeOnlyProperties");
        for f in &mut resource.fields {
            let p = format!("/properties/{}", f.json_name);
            let mut notes = vec![if f.required { "required" } else { "optional" }.to_owned()];
            if create_only
                .iter()
                .any(|c| *c == p || c.starts_with(&format!("{p}/")))
            {
                notes.push("changing it replaces the resource".into());
            }
            if write_only.contains(&p) {
                notes.push("write-only: never returned, so drift cannot compare it".into());
            }
            f.doc = notes.join("; ");
        }

        let m = self.module.clone();
        let mut code = String::new();
        // The resource struct.
        let description = root.get("description").and_then(Json::as_str).unwrap_or("");
        let first_sentence = description
            .split(". ")
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches('.');
        writeln!(
            code,
            "/// `{}`{}",
            self.type_name,
            if first_sentence.is_empty() {
                ".".to_owned()
            } else {
                format!(": {}.", doc_escape(first_sentence))
            }
        )
        .ok();
        writeln!(
            code,
            "///\n/// Build it with [`{rname}::builder`]; nested property types are in [`{m}`]."
        )
        .ok();
        emit_struct(&mut code, &resource, &format!("{m}::"));
        writeln!(
            code,
            "impl {rname} {{\n    /// A builder of this resource.\n    pub fn builder() -> builders::{rname}Builder {{\n        builders::{rname}Builder::default()\n    }}\n}}\n\
             impl Resource for {rname} {{\n    const TYPE_NAME: &'static str = {tn:?};\n    fn info() -> &'static ResourceInfo {{\n        &{m}::INFO\n    }}\n}}\n",
            tn = self.type_name
        )
        .ok();
        // Typed GetAtt.
        writeln!(code, "impl Handle<{rname}> {{").ok();
        let mut seen = HashSet::new();
        for a in attrs {
            let mut method = format!("attr_{}", snake(&a.replace('.', "_")));
            while !seen.insert(method.clone()) {
                method.push_str("_2");
            }
            writeln!(code, "    /// `Fn::GetAtt` of `{a}`.\n    pub fn {method}(&self) -> Intrinsic {{\n        self.get_att({a:?})\n    }}").ok();
        }
        writeln!(code, "}}\n").ok();

        // Nested module.
        writeln!(code, "/// Property types and schema metadata of [`{rname}`].\npub mod {m} {{\n    use crate::generated_support::*;\n").ok();
        let info = format!(
            "    /// Schema metadata of `{tn}`.\n    pub static INFO: ResourceInfo = ResourceInfo {{\n        type_name: {tn:?},\n        attributes: &{attrs:?},\n        create_only: &{co:?},\n        conditional_create_only: &{cco:?},\n        write_only: &{wo:?},\n        read_only: &{ro:?},\n        primary_identifier: &{pi:?},\n        unordered_arrays: &{ua:?},\n        taggable: {tg},\n        tag_property: {tp},\n    }};\n",
            tn = self.type_name,
            co = create_only,
            cco = pointers(root, "conditionalCreateOnlyProperties"),
            wo = write_only,
            ro = read_only,
            pi = pointers(root, "primaryIdentifier"),
            ua = self.unordered(),
            tg = root
                .pointer("/tagging/taggable")
                .and_then(Json::as_bool)
                .unwrap_or(root.get("tagging").is_some()),
            tp = match root.pointer("/tagging/tagProperty").and_then(Json::as_str) {
                Some(p) => format!("Some({p:?})"),
                None => "None".into(),
            },
        );
        code.push_str(&info);
        let mut literal_from = Vec::new();
        let mut nested_builders = String::new();
        let items = std::mem::take(&mut self.items);
        for it in &items {
            match it {
                Item::Struct(s) => {
                    writeln!(code, "/// `{}` property type.", s.label).ok();
                    emit_struct(&mut code, s, "");
                    writeln!(code, "impl {n} {{\n    /// A builder of this property type.\n    pub fn builder() -> builders::{n}Builder {{\n        builders::{n}Builder::default()\n    }}\n}}", n = s.name).ok();
                    nested_builders.push_str(&emit_builder(s, "super::", "super::"));
                    literal_from.push(s.name.clone());
                }
                Item::Enum { name, values } => {
                    writeln!(code, "crate::string_enum! {{\n    /// Allowed values of `{name}` (`{}`).\n    {name} {{", self.type_name).ok();
                    let mut used = HashSet::new();
                    for v in values {
                        let mut vn = variant_name(v);
                        if vn == "Unknown" {
                            vn = "UnknownValue".into();
                        }
                        while !used.insert(vn.clone()) {
                            vn.push('2');
                        }
                        writeln!(
                            code,
                            "        /// `{}`\n        {vn} = {},",
                            doc_escape(v),
                            rust_str(v)
                        )
                        .ok();
                    }
                    writeln!(code, "    }}\n}}").ok();
                }
                Item::Union { name, variants } => {
                    writeln!(code, "/// One of several shapes the schema allows here (`{}`).\n#[derive(Debug, Clone, PartialEq, Serialize)]\n#[serde(untagged)]\n#[non_exhaustive]\npub enum {name} {{", self.type_name).ok();
                    for (vn, ty) in variants {
                        writeln!(
                            code,
                            "    /// The {} form.\n    {vn}({}),",
                            vn.to_lowercase(),
                            ty.rust("")
                        )
                        .ok();
                    }
                    writeln!(code, "}}\nimpl Check for {name} {{\n    fn check(&self, v: &mut Validator, rules: &Rules) {{\n        match self {{").ok();
                    for (vn, _) in variants {
                        writeln!(code, "            Self::{vn}(x) => x.check(v, rules),").ok();
                    }
                    writeln!(code, "        }}\n    }}\n}}").ok();
                    for (vn, ty) in variants {
                        let t = ty.rust("");
                        writeln!(code, "impl From<{t}> for {name} {{\n    fn from(x: {t}) -> Self {{\n        Self::{vn}(x)\n    }}\n}}\nimpl From<{t}> for Value<{name}> {{\n    fn from(x: {t}) -> Self {{\n        Value::Literal({name}::{vn}(x))\n    }}\n}}").ok();
                    }
                    literal_from.push(name.clone());
                }
            }
        }
        if !literal_from.is_empty() {
            writeln!(code, "crate::__literal_from!({});", literal_from.join(", ")).ok();
        }
        if !nested_builders.is_empty() {
            writeln!(code, "/// Builders of the property types.\npub mod builders {{\n    use super::*;\n{nested_builders}}}").ok();
        }
        writeln!(code, "}}\n").ok();
        let builder = emit_builder(&resource, &format!("super::{m}::"), "super::");
        Ok(Emitted {
            code,
            builder,
            module: m,
        })
    }

    fn unordered(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut visiting = Vec::new();
        if let Some(Json::Object(props)) = self.root.get("properties") {
            for (k, v) in props {
                self.walk_unordered(v, &format!("/properties/{k}"), &mut out, &mut visiting);
            }
        }
        out.sort();
        out
    }

    fn walk_unordered(
        &self,
        node: &Json,
        path: &str,
        out: &mut Vec<String>,
        visiting: &mut Vec<String>,
    ) {
        if let Some(r) = node.get("$ref").and_then(Json::as_str) {
            if visiting.iter().any(|v| v == r) || visiting.len() > 8 {
                return;
            }
            if let Ok((_, def)) = self.definition(r) {
                visiting.push(r.to_owned());
                self.walk_unordered(def, path, out, visiting);
                visiting.pop();
            }
            return;
        }
        if node.get("insertionOrder") == Some(&Json::Bool(false)) {
            out.push(path.to_owned());
        }
        if let Some(items) = node.get("items") {
            self.walk_unordered(items, &format!("{path}/*"), out, visiting);
        }
        if let Some(Json::Object(props)) = node.get("properties") {
            for (k, v) in props {
                self.walk_unordered(v, &format!("{path}/{k}"), out, visiting);
            }
        }
    }
}

fn pointers(root: &Json, key: &str) -> Vec<String> {
    root.get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn doc_escape(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

fn field_ty(f: &Field, prefix: &str) -> String {
    let inner = f.ty.rust(prefix);
    let inner = if f.boxed {
        format!("Box<{inner}>")
    } else {
        inner
    };
    if f.required {
        format!("Value<{inner}>")
    } else {
        format!("Option<Value<{inner}>>")
    }
}

fn emit_struct(code: &mut String, s: &StructDef, prefix: &str) {
    let all_optional = s.fields.iter().all(|f| !f.required);
    let default = if all_optional { ", Default" } else { "" };
    writeln!(code, "#[derive(Debug, Clone, PartialEq, Serialize{default})]\n#[non_exhaustive]\npub struct {} {{", s.name).ok();
    for f in &s.fields {
        let doc = if f.doc.is_empty() {
            if f.required { "required" } else { "optional" }
        } else {
            &f.doc
        };
        let skip = if f.required {
            String::new()
        } else {
            ", skip_serializing_if = \"Option::is_none\"".into()
        };
        writeln!(
            code,
            "    /// `{}` ({doc}).\n    #[serde(rename = {:?}{skip})]\n    pub {}: {},",
            f.json_name,
            f.json_name,
            f.rust_name,
            field_ty(f, prefix)
        )
        .ok();
    }
    writeln!(code, "}}").ok();
    let checked: Vec<&Field> = s
        .fields
        .iter()
        .filter(|f| !f.rules.is_empty() || matches!(f.ty, Ty::Named(_) | Ty::List(_) | Ty::Map(_)))
        .collect();
    let v = if checked.is_empty() && s.one_of.is_empty() {
        "_v"
    } else {
        "v"
    };
    writeln!(
        code,
        "impl Check for {} {{\n    fn check(&self, {v}: &mut Validator, _: &Rules) {{",
        s.name
    )
    .ok();
    for f in checked {
        writeln!(
            code,
            "        v.field({:?}, &self.{}, {});",
            f.json_name,
            f.rust_name,
            f.rules.emit()
        )
        .ok();
    }
    for (group, exactly) in &s.one_of {
        let sets: Vec<String> = group
            .iter()
            .filter_map(|g| s.fields.iter().find(|f| f.json_name == *g))
            .map(|f| format!("self.{}.is_some()", f.rust_name))
            .collect();
        writeln!(
            code,
            "        v.require_one_of(&{group:?}, [{}].iter().filter(|x| **x).count(), {exactly});",
            sets.join(", ")
        )
        .ok();
    }
    writeln!(code, "    }}\n}}").ok();
}

fn emit_builder(s: &StructDef, prefix: &str, target: &str) -> String {
    let mut code = String::new();
    let n = &s.name;
    writeln!(
        code,
        "/// Builder of [`{n}`].\n#[derive(Debug, Clone, Default)]\npub struct {n}Builder {{"
    )
    .ok();
    for f in &s.fields {
        let inner = f.ty.rust(prefix);
        let inner = if f.boxed {
            format!("Box<{inner}>")
        } else {
            inner
        };
        writeln!(code, "    {}: Option<Value<{inner}>>,", f.rust_name).ok();
    }
    writeln!(code, "}}\nimpl {n}Builder {{").ok();
    for f in &s.fields {
        let inner = f.ty.rust(prefix);
        let assign = if f.boxed {
            "value.into().boxed()"
        } else {
            "value.into()"
        };
        writeln!(code, "    /// Sets `{}`.\n    pub fn {}(mut self, value: impl Into<Value<{inner}>>) -> Self {{\n        self.{} = Some({assign});\n        self\n    }}", f.json_name, f.rust_name, f.rust_name).ok();
    }
    let fallible = s.fields.iter().any(|f| f.required);
    let mut init = String::new();
    for f in &s.fields {
        if f.required {
            writeln!(init, "            {r}: self.{r}.ok_or(BuildError {{ type_name: {l:?}, property: {j:?}, setter: {r:?} }})?,", r = f.rust_name, l = s.label, j = f.json_name).ok();
        } else {
            writeln!(init, "            {r}: self.{r},", r = f.rust_name).ok();
        }
    }
    if fallible {
        writeln!(code, "    /// Builds it; fails naming the first required property left unset.\n    pub fn build(self) -> Result<{target}{n}, BuildError> {{\n        Ok({target}{n} {{\n{init}        }})\n    }}\n}}").ok();
    } else {
        writeln!(code, "    /// Builds it.\n    pub fn build(self) -> {target}{n} {{\n        {target}{n} {{\n{init}        }}\n    }}\n}}").ok();
    }
    code
}

#[cfg(test)]
mod tests;
