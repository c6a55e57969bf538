//! CDK-assertions-style helpers.
#![allow(dead_code)]

use banca_constructs::kms::{Key, KeyProps};
use banca_constructs::{App, Environment, LambdaAsset, Scope, StackProps, StageId, SynthOutput};
use serde_json::{Value as Json, json};

pub const ACCOUNT: &str = "111111111111";
pub const PRIMARY: &str = "us-east-1";
pub const DR: &str = "us-west-2";

pub struct TestApp {
    pub app: App,
    pub primary: StageId,
    pub dr: StageId,
}

pub fn app() -> TestApp {
    let app = App::new("banca");
    let primary = app
        .stage("primary", Environment::new(ACCOUNT, PRIMARY))
        .unwrap();
    let dr = app.stage("dr", Environment::new(ACCOUNT, DR)).unwrap();
    TestApp { app, primary, dr }
}

impl TestApp {
    pub fn stack(&self, id: &str) -> Scope {
        self.app
            .stack(self.primary, id, StackProps::default())
            .unwrap()
    }
    pub fn dr_stack(&self, id: &str) -> Scope {
        self.app.stack(self.dr, id, StackProps::default()).unwrap()
    }
    pub fn synth(&self) -> SynthOutput {
        match self.app.synth() {
            Ok(o) => o,
            Err(e) => panic!("synth failed:\n{e}"),
        }
    }
    /// The template of `banca-primary-<id>` as JSON.
    pub fn template(&self, id: &str) -> Json {
        template_of(&self.synth(), &format!("banca-primary-{id}"))
    }
}

pub fn template_of(out: &SynthOutput, name: &str) -> Json {
    let s = out.stack(name).unwrap_or_else(|| panic!("no stack {name}"));
    serde_json::from_str(&s.template.to_json().unwrap()).unwrap()
}

pub fn key(scope: &Scope, id: &str) -> Key {
    Key::new(scope, id, KeyProps::default()).unwrap()
}

pub fn asset(handler: &str) -> LambdaAsset {
    // Fixed hashes: the bundler computes real ones before building the app.
    let mut hex: String = handler.bytes().map(|b| format!("{b:02x}")).collect();
    hex.push_str(&"0".repeat(64));
    hex.truncate(64);
    LambdaAsset::new(handler, hex)
}

/// Whether `actual` contains `expected` (objects: every key recursively; arrays: same length,
/// element-wise; scalars: equal), like CDK's `Match.objectLike`.
pub fn matches(actual: &Json, expected: &Json) -> bool {
    match (actual, expected) {
        (Json::Object(a), Json::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|x| matches(x, v))),
        (Json::Array(a), Json::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| matches(x, y))
        }
        _ => actual == expected,
    }
}

/// Resources of `type_name`.
pub fn resources<'a>(t: &'a Json, type_name: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == type_name)
        .collect()
}

/// Asserts some resource of `type_name` has properties matching `props` (CDK's
/// `hasResourceProperties`).
pub fn has_resource_properties(t: &Json, type_name: &str, props: Json) {
    let all = resources(t, type_name);
    assert!(
        all.iter()
            .any(|(_, r)| matches(r.get("Properties").unwrap_or(&json!({})), &props)),
        "no {type_name} has properties {props:#}\nfound: {:#}",
        Json::Array(all.iter().map(|(_, r)| r["Properties"].clone()).collect())
    );
}

/// Asserts some resource of `type_name` matches `resource` (whole entry: policies, metadata).
pub fn has_resource(t: &Json, type_name: &str, resource: Json) {
    let all = resources(t, type_name);
    assert!(
        all.iter().any(|(_, r)| matches(r, &resource)),
        "no {type_name} matches {resource:#}"
    );
}

pub fn resource_count(t: &Json, type_name: &str) -> usize {
    resources(t, type_name).len()
}

/// Every IAM action in the template (roles' inline policies, policy resources).
pub fn all_actions(t: &Json) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    if k == "Action" {
                        match x {
                            Json::String(s) => out.push(s.clone()),
                            Json::Array(a) => {
                                out.extend(a.iter().filter_map(|y| y.as_str().map(str::to_owned)))
                            }
                            _ => {}
                        }
                    } else {
                        walk(x, out);
                    }
                }
            }
            Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&t["Resources"], &mut out);
    out
}
