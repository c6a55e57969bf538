//! `banca diagram`: views generated from the synthesized model, never drawn by hand.
//!
//! * `deployment`: one box per region (and the global edge), one node per stack with its
//!   resource count, arrows for stack dependencies (what deploys first).
//! * `containers`: a C4-style container view: the people, the edge, the API, each Lambda
//!   handler, the stores and queues it uses, and the existing systems; arrows come from the
//!   templates (event sources, subscriptions, and resources named in a function's environment).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use banca_constructs::SynthOutput;
use serde_json::Value as Json;

/// Output syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Mermaid flowchart (renders in GitHub and most wikis).
    Mermaid,
    /// Graphviz dot.
    Dot,
}

/// Which view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// Regions, stacks and their dependencies.
    Deployment,
    /// Handlers, stores, queues and the systems around them.
    Containers,
}

struct Graph {
    groups: BTreeMap<String, Vec<(String, String)>>,
    edges: BTreeSet<(String, String, String)>,
}

fn id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn render(g: &Graph, format: Format, title: &str) -> String {
    let mut out = String::new();
    match format {
        Format::Mermaid => {
            writeln!(out, "---\ntitle: {title}\n---\nflowchart LR").ok();
            for (group, nodes) in &g.groups {
                writeln!(out, "  subgraph {}[\"{group}\"]", id(group)).ok();
                for (n, label) in nodes {
                    writeln!(out, "    {}[\"{label}\"]", id(n)).ok();
                }
                writeln!(out, "  end").ok();
            }
            for (a, b, label) in &g.edges {
                if label.is_empty() {
                    writeln!(out, "  {} --> {}", id(a), id(b)).ok();
                } else {
                    writeln!(out, "  {} -->|{label}| {}", id(a), id(b)).ok();
                }
            }
        }
        Format::Dot => {
            writeln!(out, "digraph banca {{\n  label=\"{title}\";\n  rankdir=LR;\n  node [shape=box, style=rounded];").ok();
            for (group, nodes) in &g.groups {
                writeln!(
                    out,
                    "  subgraph cluster_{} {{\n    label=\"{group}\";",
                    id(group)
                )
                .ok();
                for (n, label) in nodes {
                    writeln!(
                        out,
                        "    {} [label=\"{}\"];",
                        id(n),
                        label.replace('"', "'")
                    )
                    .ok();
                }
                writeln!(out, "  }}").ok();
            }
            for (a, b, label) in &g.edges {
                writeln!(out, "  {} -> {} [label=\"{label}\"];", id(a), id(b)).ok();
            }
            writeln!(out, "}}").ok();
        }
    }
    out
}

/// The diagram of `view` in `format`.
pub fn diagram(out: &SynthOutput, view: View, format: Format) -> String {
    match view {
        View::Deployment => render(&deployment(out), format, "banca deployment view"),
        View::Containers => render(
            &containers(out),
            format,
            "banca container view (primary region)",
        ),
    }
}

fn deployment(out: &SynthOutput) -> Graph {
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    for s in &out.stacks {
        let group = format!("{} ({})", s.stage, s.environment.region);
        groups.entry(group).or_default().push((
            s.name.clone(),
            format!("{}<br/>{} resources", s.name, s.template.resources.len()),
        ));
        for d in &s.dependencies {
            edges.insert((d.clone(), s.name.clone(), String::new()));
        }
    }
    Graph { groups, edges }
}

/// Logical ids a JSON value references (Ref, GetAtt, Sub placeholders).
fn referenced_ids(v: &Json, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(m) if m.len() == 1 => {
            if let Some(Json::String(r)) = m.get("Ref") {
                out.insert(r.clone());
            } else if let Some(Json::Array(a)) = m.get("Fn::GetAtt") {
                if let Some(Json::String(r)) = a.first() {
                    out.insert(r.clone());
                }
            } else if let Some(Json::String(s)) = m.get("Fn::Sub") {
                for p in banca_model::template::sub_placeholders(s) {
                    out.insert(p.split('.').next().unwrap_or(p).to_owned());
                }
            } else {
                m.values().for_each(|x| referenced_ids(x, out));
            }
        }
        Json::Object(m) => m.values().for_each(|x| referenced_ids(x, out)),
        Json::Array(a) => a.iter().for_each(|x| referenced_ids(x, out)),
        _ => {}
    }
}

fn kind(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "AWS::SQS::Queue" => "queue",
        "AWS::SNS::Topic" => "topic",
        "AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable" => "table",
        "AWS::RDS::DBInstance" => "MySQL",
        "AWS::ElastiCache::ReplicationGroup" => "Redis",
        "AWS::S3::Bucket" => "bucket",
        "AWS::StepFunctions::StateMachine" => "workflow",
        "AWS::ApiGateway::RestApi" => "REST API",
        "AWS::CloudFront::Distribution" => "CloudFront",
        _ => return None,
    })
}

fn containers(out: &SynthOutput) -> Graph {
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    groups
        .entry("People".into())
        .or_default()
        .push(("customer".into(), "Customer<br/>SPA / mobile app".into()));
    for (n, l) in [
        ("core", "Core banking platform"),
        ("independent", "Independent customer system"),
        ("twilio", "Twilio SMS"),
        ("uaa", "UAA OAuth2 server"),
    ] {
        groups
            .entry("Existing systems".into())
            .or_default()
            .push((n.into(), l.into()));
    }
    // Only the primary region and the global stacks: the DR region repeats the same picture.
    let primary = out
        .stacks
        .first()
        .map(|s| s.stage.clone())
        .unwrap_or_default();
    let mut node_of: BTreeMap<(String, String), String> = BTreeMap::new();
    for s in out
        .stacks
        .iter()
        .filter(|s| s.stage == primary || s.stage == "global")
    {
        for (lid, r) in &s.template.resources {
            let label = if r.type_name == "AWS::Lambda::Function" {
                let key = r
                    .properties
                    .pointer("/Code/S3Key")
                    .and_then(Json::as_str)
                    .unwrap_or("");
                match s.assets.iter().find(|a| key.starts_with(&a.sha256)) {
                    Some(a) => format!("λ {}", a.handler),
                    None => continue,
                }
            } else if let Some(k) = kind(&r.type_name) {
                format!("{k}<br/>{lid}")
            } else {
                continue;
            };
            let node = format!("{}_{lid}", s.name);
            node_of.insert((s.name.clone(), lid.clone()), node.clone());
            groups
                .entry(s.name.clone())
                .or_default()
                .push((node, label));
        }
    }
    for s in out
        .stacks
        .iter()
        .filter(|s| s.stage == primary || s.stage == "global")
    {
        for (lid, r) in &s.template.resources {
            let mut refs = BTreeSet::new();
            match r.type_name.as_str() {
                "AWS::Lambda::EventSourceMapping" => {
                    let mut from = BTreeSet::new();
                    referenced_ids(
                        r.properties.get("EventSourceArn").unwrap_or(&Json::Null),
                        &mut from,
                    );
                    referenced_ids(
                        r.properties.get("FunctionName").unwrap_or(&Json::Null),
                        &mut refs,
                    );
                    for a in from
                        .iter()
                        .filter_map(|x| node_of.get(&(s.name.clone(), x.clone())))
                    {
                        for b in refs
                            .iter()
                            .filter_map(|x| node_of.get(&(s.name.clone(), x.clone())))
                        {
                            edges.insert((a.clone(), b.clone(), "triggers".into()));
                        }
                    }
                }
                "AWS::SNS::Subscription" => {
                    let mut from = BTreeSet::new();
                    referenced_ids(
                        r.properties.get("TopicArn").unwrap_or(&Json::Null),
                        &mut from,
                    );
                    referenced_ids(
                        r.properties.get("Endpoint").unwrap_or(&Json::Null),
                        &mut refs,
                    );
                    for a in from
                        .iter()
                        .filter_map(|x| node_of.get(&(s.name.clone(), x.clone())))
                    {
                        for b in refs
                            .iter()
                            .filter_map(|x| node_of.get(&(s.name.clone(), x.clone())))
                        {
                            edges.insert((a.clone(), b.clone(), "filter policy".into()));
                        }
                    }
                }
                "AWS::Lambda::Function" => {
                    let Some(f) = node_of.get(&(s.name.clone(), lid.clone())) else {
                        continue;
                    };
                    let env = r
                        .properties
                        .pointer("/Environment/Variables")
                        .cloned()
                        .unwrap_or(Json::Null);
                    referenced_ids(&env, &mut refs);
                    for b in refs
                        .iter()
                        .filter_map(|x| node_of.get(&(s.name.clone(), x.clone())))
                    {
                        edges.insert((f.clone(), b.clone(), "uses".into()));
                    }
                    if let Json::Object(vars) = &env {
                        for (var, sys) in [
                            ("CORE_BASE_URL", "core"),
                            ("INDEPENDENT_BASE_URL", "independent"),
                            ("TWILIO_BASE_URL", "twilio"),
                            ("UAA_JWKS_URL", "uaa"),
                        ] {
                            if vars.contains_key(var) {
                                edges.insert((f.clone(), sys.into(), "HTTPS".into()));
                            }
                        }
                    }
                }
                "AWS::CloudFront::Distribution" => {
                    if let Some(n) = node_of.get(&(s.name.clone(), lid.clone())) {
                        edges.insert(("customer".into(), n.clone(), "HTTPS".into()));
                    }
                }
                _ => {}
            }
        }
    }
    Graph { groups, edges }
}
