//! Synthesis: aspects, compliance, token resolution, stack dependencies, templates.

use std::collections::{BTreeMap, BTreeSet};

use banca_model::template::{Output, Template};
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use crate::aspects::{AspectKind, Finding, StackView};
use crate::compliance::Compliance;
use crate::error::SynthError;
use crate::tree::{
    App, AppState, Environment, LambdaAsset, ResourceNode, StackId, Token, tags_for,
};

/// The shortest suppression reason accepted (cdk-nag asks for 10 characters too).
pub const MIN_SUPPRESSION_REASON_CHARS: usize = 10;

/// Everything the cloud assembly writer needs, per stack, in deployment order.
#[derive(Debug, Clone)]
pub struct SynthOutput {
    /// Stacks, each after the stacks it depends on.
    pub stacks: Vec<SynthStack>,
}

impl SynthOutput {
    /// The stack named `name`.
    pub fn stack(&self, name: &str) -> Option<&SynthStack> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

/// One synthesized stack.
#[derive(Debug, Clone)]
pub struct SynthStack {
    /// The CloudFormation stack name, `<app>-<stage>-<id>`.
    pub name: String,
    /// The construct path, `<app>/<stage>/<id>`.
    pub path: String,
    /// The stage id.
    pub stage: String,
    /// Account and region.
    pub environment: Environment,
    /// The finished template (aspects applied, compliance passed, references resolved).
    pub template: Template,
    /// Names of the stacks that must deploy first (from references and explicit dependencies).
    pub dependencies: Vec<String>,
    /// Termination protection.
    pub termination_protection: bool,
    /// Tags for the stack itself (CloudFormation propagates them to resources it supports).
    pub tags: BTreeMap<String, String>,
    /// The Lambda code assets the template references, for the asset manifest.
    pub assets: Vec<LambdaAsset>,
    /// Findings that were suppressed, with their reasons (for reports).
    pub suppressed: Vec<(Finding, String)>,
}

/// A reference a consuming stack makes to another stack's resource.
enum Link {
    Export(String),
    CrossRegion { output: String },
}

impl App {
    /// Synthesizes every stack: runs the app's deferred checks, applies tags and aspects
    /// (mutating, then read-only, then compliance), resolves references between stacks into
    /// exports/imports or `Fn::GetStackOutput`, and validates each template.
    pub fn synth(&self) -> Result<SynthOutput, SynthError> {
        let state = self.state.borrow();
        let mut errors = Vec::new();
        for v in &state.validations {
            if let Some(e) = v(&state) {
                errors.push(e);
            }
        }
        for s in &state.suppressions {
            if s.reason.trim().chars().count() < MIN_SUPPRESSION_REASON_CHARS {
                errors.push(SynthError::SuppressionReason {
                    path: s.path.clone(),
                    rule: s.rule.clone(),
                    reason: s.reason.clone(),
                    min: MIN_SUPPRESSION_REASON_CHARS,
                });
            }
        }
        if !errors.is_empty() {
            return Err(flatten(errors));
        }

        let mut stacks: Vec<IndexMap<String, ResourceNode>> =
            state.stacks.iter().map(|s| s.resources.clone()).collect();
        for nodes in &mut stacks {
            for node in nodes.values_mut() {
                apply_tags(node, &tags_for(&state.tags, &node.path));
            }
        }
        let suppressed = run_aspects(&state, &mut stacks)?;
        for nodes in &mut stacks {
            for node in nodes.values_mut() {
                write_metadata(&state, node);
            }
        }
        resolve(&state, stacks, suppressed)
    }
}

fn flatten(mut errors: Vec<SynthError>) -> SynthError {
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        SynthError::Many(errors)
    }
}

fn env_of(state: &AppState, stack: StackId) -> &Environment {
    &state.stages[state.stacks[stack.0].stage.0].env
}

fn run_aspects(
    state: &AppState,
    stacks: &mut [IndexMap<String, ResourceNode>],
) -> Result<Vec<Vec<(Finding, String)>>, SynthError> {
    let mut mutating: Vec<_> = state
        .aspects
        .iter()
        .filter_map(|a| match &a.kind {
            AspectKind::Mutating(m) => Some((a, m)),
            AspectKind::ReadOnly(_) => None,
        })
        .collect();
    mutating.sort_by_key(|(a, _)| a.priority);
    for (entry, aspect) in mutating {
        for nodes in stacks.iter_mut() {
            for node in nodes.values_mut() {
                if entry.applies_to(&node.path) {
                    aspect.visit(node);
                }
            }
        }
    }

    let mut checks: Vec<(i32, &str, &dyn crate::aspects::Check)> = state
        .aspects
        .iter()
        .filter_map(|a| match &a.kind {
            AspectKind::ReadOnly(c) => Some((a.priority, a.scope.as_str(), c.as_ref())),
            AspectKind::Mutating(_) => None,
        })
        .collect();
    let compliance = Compliance;
    if state.compliance {
        checks.push((
            crate::aspects::PRIORITY_READONLY,
            state.id.as_str(),
            &compliance,
        ));
    }
    checks.sort_by_key(|(p, _, _)| *p);

    let mut findings = Vec::new();
    let mut suppressed = vec![Vec::new(); stacks.len()];
    for (i, nodes) in stacks.iter().enumerate() {
        let view = StackView::new(
            StackId(i),
            &state.stacks[i].name,
            env_of(state, StackId(i)),
            nodes,
        );
        for (_, scope, check) in &checks {
            for node in nodes.values() {
                if !(node.path == *scope || node.path.starts_with(&format!("{scope}/"))) {
                    continue;
                }
                for f in check.check(node, &view) {
                    match suppression_for(state, &f) {
                        Some(reason) => suppressed[i].push((f, reason)),
                        None => findings.push(f),
                    }
                }
            }
        }
    }
    if findings.is_empty() {
        Ok(suppressed)
    } else {
        Err(SynthError::Compliance(findings))
    }
}

fn suppression_for(state: &AppState, f: &Finding) -> Option<String> {
    state
        .suppressions
        .iter()
        .find(|s| {
            s.rule == f.rule && (f.path == s.path || f.path.starts_with(&format!("{}/", s.path)))
        })
        .map(|s| s.reason.clone())
}

/// Writes the construct path and the suppressions that cover the resource into its Metadata,
/// in cdk-nag's shape so cdk-nag, cfn-guard reports and reviewers read the same thing.
fn write_metadata(state: &AppState, node: &mut ResourceNode) {
    let mut meta = match node.entry.metadata.take() {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("aws:cdk:path".into(), Json::String(node.path.clone()));
    let mut rules: Vec<Json> = Vec::new();
    for s in &state.suppressions {
        if node.path == s.path || node.path.starts_with(&format!("{}/", s.path)) {
            let item = json!({"id": s.rule, "reason": s.reason});
            if !rules.contains(&item) {
                rules.push(item);
            }
        }
    }
    if !rules.is_empty() {
        meta.insert("cdk_nag".into(), json!({ "rules_to_suppress": rules }));
    }
    node.entry.metadata = Some(Json::Object(meta));
}

/// Types whose tags are a `{key: value}` map rather than a list of `{Key, Value}`.
const MAP_TAG_TYPES: &[&str] = &["AWS::SSM::Parameter"];

fn apply_tags(node: &mut ResourceNode, tags: &BTreeMap<String, String>) {
    if tags.is_empty() {
        return;
    }
    let Some(info) = banca_model::l1::resource_info(&node.entry.type_name) else {
        return;
    };
    let Some(prop) = info.tag_property.filter(|_| info.taggable) else {
        return;
    };
    let prop = prop.trim_start_matches("/properties/");
    let type_name = node.entry.type_name.clone();
    let Some(obj) = node.entry.properties.as_object_mut() else {
        return;
    };
    if MAP_TAG_TYPES.contains(&type_name.as_str()) {
        let current = obj
            .entry(prop.to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if let Some(m) = current.as_object_mut() {
            for (k, v) in tags {
                m.entry(k.clone())
                    .or_insert_with(|| Json::String(v.clone()));
            }
        }
        return;
    }
    let current = obj
        .entry(prop.to_owned())
        .or_insert_with(|| Json::Array(Vec::new()));
    let Some(list) = current.as_array_mut() else {
        return;
    };
    let asg = type_name == "AWS::AutoScaling::AutoScalingGroup";
    for (k, v) in tags {
        if list
            .iter()
            .any(|t| t.get("Key").and_then(Json::as_str) == Some(k))
        {
            continue;
        }
        if asg {
            list.push(json!({"Key": k, "Value": v, "PropagateAtLaunch": true}));
        } else {
            list.push(json!({"Key": k, "Value": v}));
        }
    }
    list.sort_by(|a, b| {
        let ka = a.get("Key").and_then(Json::as_str).unwrap_or_default();
        let kb = b.get("Key").and_then(Json::as_str).unwrap_or_default();
        ka.cmp(kb)
    });
}

fn output_name(prefix: &str, t: &Token) -> String {
    let attr: String = t
        .attribute
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    match &t.attribute {
        None => format!("{prefix}Ref{}", t.logical_id),
        Some(_) => format!("{prefix}FnGetAtt{}{attr}", t.logical_id),
    }
}

fn local_value(t: &Token) -> Json {
    match &t.attribute {
        None => json!({"Ref": t.logical_id}),
        Some(a) => json!({"Fn::GetAtt": [t.logical_id, a]}),
    }
}

struct Resolver<'a> {
    state: &'a AppState,
    consumer: StackId,
    /// Producer stack -> output name -> (value, export name).
    outputs: &'a mut Vec<BTreeMap<String, (Json, Option<String>)>>,
    deps: BTreeSet<StackId>,
    errors: Vec<SynthError>,
}

impl Resolver<'_> {
    fn link(&mut self, t: &Token, path: &str) -> Option<Link> {
        let producer = &self.state.stacks[t.stack.0];
        if !producer.resources.contains_key(&t.logical_id) {
            self.errors.push(SynthError::DanglingToken {
                path: path.to_owned(),
                target: t.logical_id.clone(),
                stack: producer.name.clone(),
            });
            return None;
        }
        let penv = env_of(self.state, t.stack);
        let cenv = env_of(self.state, self.consumer);
        if penv.account != cenv.account {
            self.errors.push(SynthError::CrossAccountReference {
                path: path.to_owned(),
                target: t.logical_id.clone(),
                producer: format!("{} (account {})", producer.name, penv.account),
                consumer: format!(
                    "{} (account {})",
                    self.state.stacks[self.consumer.0].name, cenv.account
                ),
            });
            return None;
        }
        self.deps.insert(t.stack);
        let outs = &mut self.outputs[t.stack.0];
        if penv.region == cenv.region {
            let name = output_name("ExportsOutput", t);
            let export = format!("{}:{name}", producer.name);
            outs.insert(name, (local_value(t), Some(export.clone())));
            Some(Link::Export(export))
        } else {
            let name = output_name("CrossRegion", t);
            outs.insert(name.clone(), (local_value(t), None));
            Some(Link::CrossRegion { output: name })
        }
    }

    fn resolve(&mut self, v: &mut Json, path: &str) {
        if let Some(t) = Token::from_json(v) {
            *v = if t.stack == self.consumer {
                local_value(&t)
            } else {
                match self.link(&t, path) {
                    Some(Link::Export(name)) => json!({"Fn::ImportValue": name}),
                    Some(Link::CrossRegion { output }) => {
                        let producer = &self.state.stacks[t.stack.0];
                        json!({"Fn::GetStackOutput": {
                            "StackName": producer.name,
                            "OutputName": output,
                            "Region": env_of(self.state, t.stack).region,
                        }})
                    }
                    None => Json::Null,
                }
            };
            return;
        }
        match v {
            Json::Array(a) => a.iter_mut().for_each(|x| self.resolve(x, path)),
            Json::Object(m) => m.values_mut().for_each(|x| self.resolve(x, path)),
            _ => {}
        }
    }
}

fn resolve(
    state: &AppState,
    mut stacks: Vec<IndexMap<String, ResourceNode>>,
    mut suppressed: Vec<Vec<(Finding, String)>>,
) -> Result<SynthOutput, SynthError> {
    let n = stacks.len();
    let mut outputs: Vec<BTreeMap<String, (Json, Option<String>)>> = vec![BTreeMap::new(); n];
    let mut deps: Vec<BTreeSet<StackId>> = vec![BTreeSet::new(); n];
    let mut user_outputs: Vec<IndexMap<String, (Json, Option<String>)>> = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for (i, nodes) in stacks.iter_mut().enumerate() {
        let mut r = Resolver {
            state,
            consumer: StackId(i),
            outputs: &mut outputs,
            deps: BTreeSet::new(),
            errors: Vec::new(),
        };
        for node in nodes.values_mut() {
            let path = node.path.clone();
            r.resolve(&mut node.entry.properties, &path);
        }
        let mut outs = state.stacks[i].outputs.clone();
        for (name, (value, _)) in &mut outs {
            let path = format!("{}/{name}", state.stacks[i].path);
            r.resolve(value, &path);
        }
        user_outputs.push(outs);
        deps[i] = r.deps;
        deps[i].extend(state.stacks[i].explicit_deps.iter().copied());
        deps[i].remove(&StackId(i));
        errors.extend(r.errors);
    }
    for (i, data) in state.stacks.iter().enumerate() {
        for t in &data.kept_exports {
            let name = output_name("ExportsOutput", t);
            let export = format!("{}:{name}", data.name);
            outputs[i].insert(name, (local_value(t), Some(export)));
        }
    }
    if !errors.is_empty() {
        return Err(flatten(errors));
    }
    let order = topo_order(state, &deps)?;

    let mut out = Vec::with_capacity(n);
    for i in order {
        let data = &state.stacks[i];
        let stage = &state.stages[data.stage.0];
        let description = data
            .props
            .description
            .clone()
            .unwrap_or_else(|| format!("{} {} {}", state.id, stage.id, data.id));
        let mut template = Template::new().with_description(description);
        template.parameters.clone_from(&data.parameters);
        template.conditions.clone_from(&data.conditions);
        let mut errs = Vec::new();
        for (id, node) in std::mem::take(&mut stacks[i]) {
            if let Err(e) = template.add_entry(&id, node.entry) {
                errs.push(e.to_string());
            }
        }
        for (name, (value, description)) in &user_outputs[i] {
            let mut o = Output::new(banca_model::intrinsic::Expr::Str(String::new()));
            o.value = value.clone();
            if let Some(d) = description {
                o = o.description(d.clone());
            }
            if let Err(e) = template.add_output(name, o) {
                errs.push(e.to_string());
            }
        }
        for (name, (value, export)) in &outputs[i] {
            let mut o = Output::new(banca_model::intrinsic::Expr::Str(String::new()));
            o.value = value.clone();
            if let Some(export) = export {
                o = o.export(export.clone());
            }
            if let Err(e) = template.add_output(name, o) {
                errs.push(e.to_string());
            }
        }
        if let Err(e) = template.validate() {
            errs.push(e.to_string());
        }
        if !errs.is_empty() {
            errors.push(SynthError::Template {
                stack: data.name.clone(),
                message: errs.join("\n"),
            });
            continue;
        }
        out.push(SynthStack {
            name: data.name.clone(),
            path: data.path.clone(),
            stage: stage.id.clone(),
            environment: stage.env.clone(),
            template,
            dependencies: deps[i]
                .iter()
                .map(|d| state.stacks[d.0].name.clone())
                .collect(),
            termination_protection: data.props.termination_protection,
            tags: tags_for(&state.tags, &data.path),
            assets: data.assets.iter().cloned().collect(),
            suppressed: std::mem::take(&mut suppressed[i]),
        });
    }
    if !errors.is_empty() {
        return Err(flatten(errors));
    }
    Ok(SynthOutput { stacks: out })
}

/// Stacks in an order where every stack comes after its dependencies (creation order among
/// independent stacks), or the first cycle found.
fn topo_order(state: &AppState, deps: &[BTreeSet<StackId>]) -> Result<Vec<usize>, SynthError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        None,
        Visiting,
        Done,
    }
    fn visit(
        i: usize,
        deps: &[BTreeSet<StackId>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let start = stack.iter().position(|x| *x == i).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            Mark::None => {}
        }
        marks[i] = Mark::Visiting;
        stack.push(i);
        for d in &deps[i] {
            visit(d.0, deps, marks, stack, out)?;
        }
        stack.pop();
        marks[i] = Mark::Done;
        out.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::None; deps.len()];
    let mut out = Vec::with_capacity(deps.len());
    for i in 0..deps.len() {
        let mut stack = Vec::new();
        if let Err(cycle) = visit(i, deps, &mut marks, &mut stack, &mut out) {
            return Err(SynthError::DependencyCycle {
                cycle: cycle
                    .iter()
                    .map(|c| state.stacks[*c].name.clone())
                    .collect::<Vec<_>>()
                    .join(" -> "),
            });
        }
    }
    Ok(out)
}
