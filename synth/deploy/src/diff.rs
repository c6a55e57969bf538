//! The diff engine: a deployed template against a synthesized one, per resource, with the
//! replacement CloudFormation will do predicted from the registry schemas (createOnly
//! properties replace; conditionalCreateOnly ones may), and the security-relevant changes (IAM
//! statements, security-group rules) as tables, with **broadening** flagged.
//!
//! Pure: it compares two [`Template`]s and knows nothing of AWS.

use std::collections::BTreeSet;

use banca_model::l1::resource_info;
use banca_model::template::{DeletionPolicy, ResourceEntry, Template};
use serde::Serialize;
use serde_json::Value as Json;

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created.
    Add,
    /// Deleted (or, with DeletionPolicy Retain, removed from the stack but kept).
    Remove,
    /// Updated (in place or by replacement).
    Modify,
}

/// Whether an update replaces the resource (a new physical resource, the old one deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// Updated in place.
    Never,
    /// May be replaced, depending on the values (conditionalCreateOnly properties).
    Conditional,
    /// Replaced (a createOnly property, or the type, changed).
    Always,
}

/// One changed value inside a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    /// `Properties.QueueName`, `Properties.KeySchema[0].AttributeName`, `DeletionPolicy`.
    pub path: String,
    /// The deployed value (`None`: not set).
    pub old: Option<Json>,
    /// The synthesized value (`None`: not set).
    pub new: Option<Json>,
    /// What this change alone does to the resource.
    pub replacement: Replacement,
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    /// Logical id.
    pub logical_id: String,
    /// `AWS::Service::Resource` (the new one for a modified resource).
    pub type_name: String,
    /// Added, removed or modified.
    pub action: Action,
    /// For modifications: the worst of its property changes.
    pub replacement: Replacement,
    /// For removals: whether the resource is kept (DeletionPolicy Retain/RetainExceptOnCreate).
    pub retained: bool,
    /// The changed values (modifications only).
    pub changes: Vec<PropertyChange>,
}

/// An IAM policy statement, with values rendered for reading (`${Role.Arn}` for intrinsics).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Statement {
    /// Allow or Deny.
    pub effect: String,
    /// Who: the principal of a resource/trust policy, or the identity a policy is attached to.
    pub principal: String,
    /// Actions (or `NOT ` + NotActions).
    pub actions: Vec<String>,
    /// Resources (or `NOT ` + NotResources).
    pub resources: Vec<String>,
    /// The condition, as compact JSON.
    pub condition: Option<String>,
}

/// An added or removed IAM statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamChange {
    /// The resource holding the policy.
    pub resource: String,
    /// Add or Remove.
    pub action: Action,
    /// The statement.
    pub statement: Statement,
    /// Whether it grants more than before (an added Allow, a removed Deny).
    pub broadening: bool,
}

/// A security-group rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecurityGroupRule {
    /// The group.
    pub group: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp`, `all`.
    pub protocol: String,
    /// `443`, `1024-65535`, `all`.
    pub ports: String,
    /// A CIDR, a prefix list or another group.
    pub peer: String,
}

/// An added or removed security-group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroupChange {
    /// The resource holding the rule.
    pub resource: String,
    /// Add or Remove.
    pub action: Action,
    /// The rule.
    pub rule: SecurityGroupRule,
    /// Whether it opens more than before (any added rule).
    pub broadening: bool,
}

/// An output's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputChange {
    /// Output name.
    pub name: String,
    /// What happened.
    pub action: Action,
    /// The deployed value.
    pub old: Option<Json>,
    /// The synthesized value.
    pub new: Option<Json>,
}

/// Everything that differs between a deployed and a synthesized template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackDiff {
    /// Resource changes, in template order (new template first, then removals).
    pub resources: Vec<ResourceChange>,
    /// IAM statement changes.
    pub iam: Vec<IamChange>,
    /// Security-group rule changes.
    pub security_groups: Vec<SecurityGroupChange>,
    /// Output changes.
    pub outputs: Vec<OutputChange>,
    /// Other top-level sections that changed (Parameters, Conditions, Mappings, ...).
    pub other: Vec<String>,
}

impl StackDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty() && self.other.is_empty()
    }

    /// Whether any IAM or security-group change broadens access.
    pub fn is_broadening(&self) -> bool {
        self.iam.iter().any(|c| c.broadening) || self.security_groups.iter().any(|c| c.broadening)
    }

    /// How many resources are replaced (always, then conditionally).
    pub fn replacements(&self) -> (usize, usize) {
        let count = |r: Replacement| {
            self.resources
                .iter()
                .filter(|c| c.action == Action::Modify && c.replacement == r)
                .count()
        };
        (count(Replacement::Always), count(Replacement::Conditional))
    }
}

/// Compares the deployed template `old` (`None`: the stack does not exist) with `new`.
pub fn diff_templates(old: Option<&Template>, new: &Template) -> StackDiff {
    let empty = Template::new();
    let old = old.unwrap_or(&empty);
    let mut resources = Vec::new();
    for (id, n) in &new.resources {
        match old.resources.get(id) {
            None => resources.push(ResourceChange {
                logical_id: id.clone(),
                type_name: n.type_name.clone(),
                action: Action::Add,
                replacement: Replacement::Never,
                retained: false,
                changes: Vec::new(),
            }),
            Some(o) => {
                if let Some(c) = diff_resource(id, o, n) {
                    resources.push(c);
                }
            }
        }
    }
    for (id, o) in &old.resources {
        if !new.resources.contains_key(id) {
            resources.push(ResourceChange {
                logical_id: id.clone(),
                type_name: o.type_name.clone(),
                action: Action::Remove,
                replacement: Replacement::Never,
                retained: matches!(
                    o.deletion_policy,
                    Some(DeletionPolicy::Retain | DeletionPolicy::RetainExceptOnCreate)
                ),
                changes: Vec::new(),
            });
        }
    }
    let mut outputs = Vec::new();
    for (name, n) in &new.outputs {
        let new_v = serde_json::to_value(n).ok();
        match old.outputs.get(name) {
            None => outputs.push(OutputChange {
                name: name.clone(),
                action: Action::Add,
                old: None,
                new: new_v,
            }),
            Some(o) if o != n => outputs.push(OutputChange {
                name: name.clone(),
                action: Action::Modify,
                old: serde_json::to_value(o).ok(),
                new: new_v,
            }),
            Some(_) => {}
        }
    }
    for (name, o) in &old.outputs {
        if !new.outputs.contains_key(name) {
            outputs.push(OutputChange {
                name: name.clone(),
                action: Action::Remove,
                old: serde_json::to_value(o).ok(),
                new: None,
            });
        }
    }
    let mut other = Vec::new();
    if old.parameters != new.parameters {
        other.push("Parameters".to_owned());
    }
    if old.conditions != new.conditions {
        other.push("Conditions".to_owned());
    }
    if old.mappings != new.mappings {
        other.push("Mappings".to_owned());
    }
    if old.transform != new.transform {
        other.push("Transform".to_owned());
    }
    let mut iam: Vec<IamChange> = set_changes(&iam_statements(old), &iam_statements(new), |s| {
        s.effect == "Allow"
    })
    .into_iter()
    .map(|(resource, action, statement, broadening)| IamChange {
        resource,
        action,
        statement,
        broadening,
    })
    .collect();
    // A statement replaced by a narrower one (fewer actions or resources, same principal,
    // effect and condition) shows as a remove plus an add; the add does not broaden.
    let removed: Vec<(String, Statement)> = iam
        .iter()
        .filter(|c| c.action == Action::Remove)
        .map(|c| (c.resource.clone(), c.statement.clone()))
        .collect();
    for c in iam
        .iter_mut()
        .filter(|c| c.action == Action::Add && c.broadening)
    {
        if removed
            .iter()
            .any(|(r, old)| *r == c.resource && covers(old, &c.statement))
        {
            c.broadening = false;
        }
    }
    let security_groups = set_changes(&sg_rules(old), &sg_rules(new), |_| true)
        .into_iter()
        .map(|(resource, action, rule, broadening)| SecurityGroupChange {
            resource,
            action,
            rule,
            broadening,
        })
        .collect();
    StackDiff {
        resources,
        iam,
        security_groups,
        outputs,
        other,
    }
}

/// Whether `wide` allows everything `narrow` does: same effect, principal and condition, and
/// a superset of its actions and resources.
fn covers(wide: &Statement, narrow: &Statement) -> bool {
    let superset = |a: &[String], b: &[String]| {
        b.iter()
            .all(|x| a.contains(x) || a.iter().any(|y| y == "*"))
    };
    wide.effect == narrow.effect
        && wide.principal == narrow.principal
        && wide.condition == narrow.condition
        && superset(&wide.actions, &narrow.actions)
        && superset(&wide.resources, &narrow.resources)
}

/// Added and removed items of two `(resource, item)` sets; `grants(item)` says whether the item
/// grants access (an added grant broadens; a removed non-grant, i.e. a Deny, broadens too).
fn set_changes<T: Ord + Clone>(
    old: &BTreeSet<(String, T)>,
    new: &BTreeSet<(String, T)>,
    grants: impl Fn(&T) -> bool,
) -> Vec<(String, Action, T, bool)> {
    let mut out = Vec::new();
    for (r, item) in new.difference(old) {
        out.push((r.clone(), Action::Add, item.clone(), grants(item)));
    }
    for (r, item) in old.difference(new) {
        out.push((r.clone(), Action::Remove, item.clone(), !grants(item)));
    }
    out
}

fn diff_resource(id: &str, o: &ResourceEntry, n: &ResourceEntry) -> Option<ResourceChange> {
    let mut changes = Vec::new();
    if o.type_name != n.type_name {
        changes.push(PropertyChange {
            path: "Type".into(),
            old: Some(Json::String(o.type_name.clone())),
            new: Some(Json::String(n.type_name.clone())),
            replacement: Replacement::Always,
        });
    }
    let info = resource_info(&n.type_name);
    let old_props = normalize(&o.properties, info.map(|i| i.unordered_arrays));
    let new_props = normalize(&n.properties, info.map(|i| i.unordered_arrays));
    let mut leaves = Vec::new();
    changed_leaves(
        Some(&old_props),
        Some(&new_props),
        &mut Vec::new(),
        &mut leaves,
    );
    for segments in leaves {
        let replacement = match info {
            Some(info) if o.type_name == n.type_name => {
                if pointer_hit(info.create_only, &segments) {
                    Replacement::Always
                } else if pointer_hit(info.conditional_create_only, &segments) {
                    Replacement::Conditional
                } else {
                    Replacement::Never
                }
            }
            // A type the model does not know: CloudFormation decides; say it may replace.
            None if o.type_name == n.type_name => Replacement::Conditional,
            _ => Replacement::Always,
        };
        changes.push(PropertyChange {
            path: format!("Properties{}", render_path(&segments)),
            old: lookup(&old_props, &segments).cloned(),
            new: lookup(&new_props, &segments).cloned(),
            replacement,
        });
    }
    let attr = |name: &str, a: Option<Json>, b: Option<Json>, changes: &mut Vec<PropertyChange>| {
        if a != b {
            changes.push(PropertyChange {
                path: name.to_owned(),
                old: a,
                new: b,
                replacement: Replacement::Never,
            });
        }
    };
    let json = |v: &dyn erased::ToJson| v.to_json();
    attr(
        "DeletionPolicy",
        json(&o.deletion_policy),
        json(&n.deletion_policy),
        &mut changes,
    );
    attr(
        "UpdateReplacePolicy",
        json(&o.update_replace_policy),
        json(&n.update_replace_policy),
        &mut changes,
    );
    let deps = |d: &[String]| {
        let mut v = d.to_vec();
        v.sort();
        (!v.is_empty()).then(|| Json::from(v))
    };
    attr(
        "DependsOn",
        deps(&o.depends_on),
        deps(&n.depends_on),
        &mut changes,
    );
    attr(
        "Condition",
        o.condition.clone().map(Json::String),
        n.condition.clone().map(Json::String),
        &mut changes,
    );
    attr(
        "UpdatePolicy",
        o.update_policy.clone(),
        n.update_policy.clone(),
        &mut changes,
    );
    attr(
        "CreationPolicy",
        o.creation_policy.clone(),
        n.creation_policy.clone(),
        &mut changes,
    );
    if changes.is_empty() {
        return None;
    }
    let replacement = changes
        .iter()
        .map(|c| c.replacement)
        .max()
        .unwrap_or(Replacement::Never);
    Some(ResourceChange {
        logical_id: id.to_owned(),
        type_name: n.type_name.clone(),
        action: Action::Modify,
        replacement,
        retained: false,
        changes,
    })
}

mod erased {
    use serde::Serialize;
    use serde_json::Value as Json;

    pub(super) trait ToJson {
        fn to_json(&self) -> Option<Json>;
    }

    impl<T: Serialize> ToJson for Option<T> {
        fn to_json(&self) -> Option<Json> {
            self.as_ref().and_then(|v| serde_json::to_value(v).ok())
        }
    }
}

/// A path segment: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(segments: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segments {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn lookup<'a>(v: &'a Json, segments: &[Seg]) -> Option<&'a Json> {
    let mut cur = v;
    for seg in segments {
        cur = match (seg, cur) {
            (Seg::Key(k), Json::Object(m)) => m.get(k)?,
            (Seg::Index(i), Json::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The paths (under `Properties`) whose values differ. Objects are compared key by key and
/// arrays of equal length item by item; anything else that differs is one leaf.
fn changed_leaves(
    a: Option<&Json>,
    b: Option<&Json>,
    path: &mut Vec<Seg>,
    out: &mut Vec<Vec<Seg>>,
) {
    match (a, b) {
        (Some(Json::Object(x)), Some(Json::Object(y))) if !is_intrinsic(x) && !is_intrinsic(y) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                path.push(Seg::Key(k.clone()));
                changed_leaves(x.get(k), y.get(k), path, out);
                path.pop();
            }
        }
        (Some(Json::Array(x)), Some(Json::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                path.push(Seg::Index(i));
                changed_leaves(Some(p), Some(q), path, out);
                path.pop();
            }
        }
        (a, b) => {
            if !loosely_equal(a, b) {
                out.push(path.clone());
            }
        }
    }
}

/// CloudFormation stores scalars as strings in places (`"5"` vs `5`, `"true"` vs `true`): a
/// deployed template read back may differ from the synthesized one in nothing else.
fn loosely_equal(a: Option<&Json>, b: Option<&Json>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) if x == y => true,
        (Some(Json::String(s)), Some(other)) | (Some(other), Some(Json::String(s)))
            if matches!(other, Json::Number(_) | Json::Bool(_)) =>
        {
            match other {
                Json::Bool(b) => s == if *b { "true" } else { "false" },
                Json::Number(n) => s.parse::<serde_json::Number>().is_ok_and(|m| m == *n),
                _ => false,
            }
        }
        (None, None) => true,
        _ => false,
    }
}

fn is_intrinsic(m: &serde_json::Map<String, Json>) -> bool {
    m.len() == 1
        && m.keys()
            .next()
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

/// Whether a changed leaf falls under (or contains) one of the schema's JSON pointers
/// (`/properties/KeySchema`, `/properties/Foo/*/Bar`).
fn pointer_hit(pointers: &[&str], leaf: &[Seg]) -> bool {
    pointers.iter().any(|p| {
        let Some(rest) = p.strip_prefix("/properties/") else {
            return false;
        };
        let ptr: Vec<&str> = rest.split('/').collect();
        ptr.iter().zip(leaf).all(|(p, seg)| match seg {
            Seg::Key(k) => p == k,
            Seg::Index(i) => *p == "*" || *p == i.to_string(),
        })
    })
}

/// Sorts the arrays the schema says are unordered, so a reordering is no change.
fn normalize(props: &Json, unordered: Option<&[&str]>) -> Json {
    let mut v = props.clone();
    for p in unordered.unwrap_or(&[]) {
        if let Some(rest) = p.strip_prefix("/properties/") {
            let segs: Vec<&str> = rest.split('/').collect();
            sort_at(&mut v, &segs);
        }
    }
    v
}

fn sort_at(v: &mut Json, segs: &[&str]) {
    match segs.split_first() {
        None => {
            if let Json::Array(a) = v {
                a.sort_by_key(|x| x.to_string());
            }
        }
        Some((&"*", rest)) => {
            if let Json::Array(a) = v {
                for item in a {
                    sort_at(item, rest);
                }
            }
        }
        Some((k, rest)) => {
            if let Json::Object(m) = v
                && let Some(child) = m.get_mut(*k)
            {
                sort_at(child, rest);
            }
        }
    }
}

/// A value for reading: strings as they are, `${Res}` for a Ref, `${Res.Attr}` for a GetAtt,
/// the template of a Sub, joins joined; anything else as compact JSON.
pub fn render_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Object(m) if m.len() == 1 => {
            let Some((k, arg)) = m.iter().next() else {
                return v.to_string();
            };
            match (k.as_str(), arg) {
                ("Ref", Json::String(r)) => format!("${{{r}}}"),
                ("Fn::GetAtt", Json::Array(a)) => {
                    let parts: Vec<String> = a.iter().map(render_value).collect();
                    format!("${{{}}}", parts.join("."))
                }
                ("Fn::GetAtt", Json::String(s)) => format!("${{{s}}}"),
                ("Fn::Sub", Json::String(s)) => s.clone(),
                ("Fn::Sub", Json::Array(a)) if !a.is_empty() => render_value(&a[0]),
                ("Fn::Join", Json::Array(a)) if a.len() == 2 => {
                    let sep = a[0].as_str().unwrap_or("");
                    match &a[1] {
                        Json::Array(items) => {
                            items.iter().map(render_value).collect::<Vec<_>>().join(sep)
                        }
                        other => render_value(other),
                    }
                }
                ("Fn::ImportValue", x) => format!("import({})", render_value(x)),
                _ => v.to_string(),
            }
        }
        _ => v.to_string(),
    }
}

fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Json::Array(a)) => {
            let mut out: Vec<String> = a.iter().map(render_value).collect();
            out.sort();
            out
        }
        Some(x) => vec![render_value(x)],
    }
}

fn render_principal(p: Option<&Json>) -> String {
    match p {
        None => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Object(m)) if !is_intrinsic(m) => {
            let mut parts = Vec::new();
            for (kind, who) in m {
                for w in strings(Some(who)) {
                    parts.push(format!("{kind}:{w}"));
                }
            }
            parts.sort();
            parts.join(", ")
        }
        Some(x) => render_value(x),
    }
}

fn statements_of(doc: Option<&Json>, identity: Option<&str>) -> Vec<Statement> {
    let stmts = match doc.and_then(|d| d.get("Statement")) {
        Some(Json::Array(a)) => a.clone(),
        Some(s @ Json::Object(_)) => vec![s.clone()],
        _ => return Vec::new(),
    };
    stmts
        .iter()
        .map(|s| {
            let principal = match identity {
                Some(who) => who.to_owned(),
                None => {
                    let p = render_principal(s.get("Principal"));
                    match s.get("NotPrincipal") {
                        Some(np) => format!("NOT {}", render_principal(Some(np))),
                        None => p,
                    }
                }
            };
            let mut actions = strings(s.get("Action"));
            actions.extend(
                strings(s.get("NotAction"))
                    .into_iter()
                    .map(|a| format!("NOT {a}")),
            );
            let mut resources = strings(s.get("Resource"));
            resources.extend(
                strings(s.get("NotResource"))
                    .into_iter()
                    .map(|r| format!("NOT {r}")),
            );
            Statement {
                effect: s
                    .get("Effect")
                    .and_then(Json::as_str)
                    .unwrap_or("Allow")
                    .to_owned(),
                principal,
                actions,
                resources,
                condition: s.get("Condition").map(Json::to_string),
            }
        })
        .collect()
}

/// Every IAM statement of a template, by the resource that holds it.
fn iam_statements(t: &Template) -> BTreeSet<(String, Statement)> {
    let mut out = BTreeSet::new();
    for (id, r) in &t.resources {
        let p = &r.properties;
        let mut add = |stmts: Vec<Statement>| {
            for s in stmts {
                out.insert((id.clone(), s));
            }
        };
        match r.type_name.as_str() {
            "AWS::IAM::Role" => {
                add(statements_of(p.get("AssumeRolePolicyDocument"), None));
                let me = format!("${{{id}}}");
                if let Some(Json::Array(policies)) = p.get("Policies") {
                    for pol in policies {
                        add(statements_of(pol.get("PolicyDocument"), Some(&me)));
                    }
                }
                for arn in strings(p.get("ManagedPolicyArns")) {
                    add(vec![Statement {
                        effect: "Allow".into(),
                        principal: me.clone(),
                        actions: vec![format!("managed policy {arn}")],
                        resources: Vec::new(),
                        condition: None,
                    }]);
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                let mut who: Vec<String> = Vec::new();
                for (key, kind) in [("Roles", "role"), ("Users", "user"), ("Groups", "group")] {
                    who.extend(
                        strings(p.get(key))
                            .into_iter()
                            .map(|w| format!("{kind} {w}")),
                    );
                }
                let who = if who.is_empty() {
                    format!("${{{id}}}")
                } else {
                    who.join(", ")
                };
                add(statements_of(p.get("PolicyDocument"), Some(&who)));
            }
            "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" | "AWS::S3::BucketPolicy" => {
                add(statements_of(p.get("PolicyDocument"), None))
            }
            "AWS::KMS::Key" => add(statements_of(p.get("KeyPolicy"), None)),
            "AWS::Lambda::Permission" => add(vec![Statement {
                effect: "Allow".into(),
                principal: p.get("Principal").map(render_value).unwrap_or_default(),
                actions: strings(p.get("Action")),
                resources: strings(p.get("FunctionName")),
                condition: p.get("SourceArn").map(|s| {
                    serde_json::json!({"ArnLike": {"AWS:SourceArn": render_value(s)}}).to_string()
                }),
            }]),
            _ => {}
        }
    }
    out
}

fn sg_rule(group: String, direction: &str, rule: &Json) -> SecurityGroupRule {
    let protocol = match rule.get("IpProtocol").map(render_value).as_deref() {
        Some("-1") | Some("all") | None => "all".to_owned(),
        Some(p) => p.to_owned(),
    };
    let from = rule.get("FromPort").map(render_value);
    let to = rule.get("ToPort").map(render_value);
    let ports = match (from.as_deref(), to.as_deref()) {
        _ if protocol == "all" => "all".to_owned(),
        (Some("-1"), _) | (None, None) => "all".to_owned(),
        (Some(f), Some(t)) if f == t => f.to_owned(),
        (Some(f), Some(t)) => format!("{f}-{t}"),
        (Some(f), None) | (None, Some(f)) => f.to_owned(),
    };
    let peer = [
        "CidrIp",
        "CidrIpv6",
        "SourceSecurityGroupId",
        "DestinationSecurityGroupId",
        "SourcePrefixListId",
        "DestinationPrefixListId",
        "SourceSecurityGroupName",
    ]
    .iter()
    .find_map(|k| rule.get(*k).map(render_value))
    .unwrap_or_else(|| "?".to_owned());
    SecurityGroupRule {
        group,
        direction: direction.to_owned(),
        protocol,
        ports,
        peer,
    }
}

/// Every security-group rule of a template, by the resource that holds it.
fn sg_rules(t: &Template) -> BTreeSet<(String, SecurityGroupRule)> {
    let mut out = BTreeSet::new();
    for (id, r) in &t.resources {
        let p = &r.properties;
        match r.type_name.as_str() {
            "AWS::EC2::SecurityGroup" => {
                for (key, dir) in [
                    ("SecurityGroupIngress", "ingress"),
                    ("SecurityGroupEgress", "egress"),
                ] {
                    if let Some(Json::Array(rules)) = p.get(key) {
                        for rule in rules {
                            out.insert((
                                id.clone(),
                                sg_rule(format!("${{{id}.GroupId}}"), dir, rule),
                            ));
                        }
                    }
                }
            }
            "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => {
                let dir = if r.type_name.ends_with("Ingress") {
                    "ingress"
                } else {
                    "egress"
                };
                let group = p
                    .get("GroupId")
                    .or_else(|| p.get("GroupName"))
                    .map(render_value)
                    .unwrap_or_default();
                out.insert((id.clone(), sg_rule(group, dir, p)));
            }
            _ => {}
        }
    }
    out
}

/// How to show a diff to a person.
pub struct RenderOptions<'a> {
    /// Colours the markers (`[+]`, `[-]`, `[~]`) when given.
    pub style: &'a dyn Fn(&str, banca_synth::cli::Style) -> String,
}

fn short(v: Option<&Json>) -> String {
    match v {
        None => "(unset)".to_owned(),
        Some(v) => {
            let s = match v {
                Json::String(s) => format!("{s:?}"),
                other => render_or_json(other),
            };
            if s.chars().count() > 120 {
                let cut: String = s.chars().take(117).collect();
                format!("{cut}...")
            } else {
                s
            }
        }
    }
}

fn render_or_json(v: &Json) -> String {
    match v {
        Json::Object(m) if is_intrinsic(m) => render_value(v),
        _ => v.to_string(),
    }
}

/// A plain-text table: header, rule, rows, columns padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = String::new();
    out.push_str(&line(header.to_vec()));
    out.push('\n');
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

impl StackDiff {
    /// The diff as text, the way `banca diff` prints it.
    pub fn render(&self, opts: &RenderOptions<'_>) -> String {
        use banca_synth::cli::Style;
        let st = opts.style;
        if self.is_empty() {
            return "There were no differences\n".to_owned();
        }
        let mut out = String::new();
        if !self.iam.is_empty() {
            out.push_str("IAM statement changes\n");
            let rows: Vec<Vec<String>> = self
                .iam
                .iter()
                .map(|c| {
                    let s = &c.statement;
                    vec![
                        marker(c.action, st),
                        if c.broadening {
                            st("broadening", Style::Red)
                        } else {
                            String::new()
                        },
                        c.resource.clone(),
                        s.effect.clone(),
                        s.principal.clone(),
                        s.actions.join(", "),
                        s.resources.join(", "),
                        s.condition.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "",
                    "",
                    "holder",
                    "effect",
                    "principal",
                    "action",
                    "resource",
                    "condition",
                ],
                &rows,
            ));
            out.push('\n');
        }
        if !self.security_groups.is_empty() {
            out.push_str("Security group changes\n");
            let rows: Vec<Vec<String>> = self
                .security_groups
                .iter()
                .map(|c| {
                    let r = &c.rule;
                    vec![
                        marker(c.action, st),
                        if c.broadening {
                            st("broadening", Style::Red)
                        } else {
                            String::new()
                        },
                        r.group.clone(),
                        r.direction.clone(),
                        r.protocol.clone(),
                        r.ports.clone(),
                        r.peer.clone(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["", "", "group", "dir", "protocol", "ports", "peer"],
                &rows,
            ));
            out.push('\n');
        }
        if !self.other.is_empty() {
            out.push_str(&format!("Changed sections: {}\n\n", self.other.join(", ")));
        }
        if !self.resources.is_empty() {
            out.push_str("Resources\n");
            for r in &self.resources {
                let note = match (r.action, r.replacement, r.retained) {
                    (Action::Modify, Replacement::Always, _) => st(" replace", Style::Red),
                    (Action::Modify, Replacement::Conditional, _) => {
                        st(" may replace", Style::Yellow)
                    }
                    (Action::Remove, _, true) => st(" (retained)", Style::Dim),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "{} {} {}{note}\n",
                    marker(r.action, st),
                    r.type_name,
                    r.logical_id
                ));
                for c in &r.changes {
                    let why = match c.replacement {
                        Replacement::Always => st(" (replaces)", Style::Red),
                        Replacement::Conditional => st(" (may replace)", Style::Yellow),
                        Replacement::Never => String::new(),
                    };
                    out.push_str(&format!(
                        "    [~] {}{why}: {} -> {}\n",
                        c.path,
                        short(c.old.as_ref()),
                        short(c.new.as_ref())
                    ));
                }
            }
        }
        if !self.outputs.is_empty() {
            out.push_str("Outputs\n");
            for o in &self.outputs {
                out.push_str(&format!("{} Output {}\n", marker(o.action, st), o.name));
            }
        }
        out
    }
}

fn marker(a: Action, st: &dyn Fn(&str, banca_synth::cli::Style) -> String) -> String {
    use banca_synth::cli::Style;
    match a {
        Action::Add => st("[+]", Style::Green),
        Action::Remove => st("[-]", Style::Red),
        Action::Modify => st("[~]", Style::Yellow),
    }
}

#[cfg(test)]
mod tests;
