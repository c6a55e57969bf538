//! Shared helpers of the app tests (each `app_*` test file includes this module).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use banca_constructs::{LambdaAsset, SynthOutput};
use banca_stacks::app::{HANDLERS, build};
use banca_stacks::config::Config;
use serde_json::Value as Json;

/// The example configuration at the repository root.
pub fn config() -> Config {
    Config::parse(include_str!("../../../banca.yaml")).expect("banca.yaml parses")
}

/// One fake asset per handler: 64 hex digits derived from the handler's index.
pub fn assets() -> BTreeMap<String, LambdaAsset> {
    HANDLERS
        .iter()
        .enumerate()
        .map(|(i, (_, name))| {
            let sha = format!("{:02x}", i + 1).repeat(32);
            ((*name).to_owned(), LambdaAsset::new(*name, sha))
        })
        .collect()
}

/// Builds and synthesizes the app in a thread with a large stack (debug builds of the whole
/// app need more than a test thread's 2 MiB).
pub fn synth_with(config: Config) -> SynthOutput {
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let app = build(&config, &assets()).unwrap_or_else(|e| panic!("build: {e}"));
            app.synth().unwrap_or_else(|e| panic!("synth: {e}"))
        })
        .expect("spawn")
        .join()
        .expect("synth thread")
}

/// Every template of the example config's app, by stack name, as JSON (synthesized once).
pub fn templates() -> &'static BTreeMap<String, Json> {
    static T: OnceLock<BTreeMap<String, Json>> = OnceLock::new();
    T.get_or_init(|| {
        synth_with(config())
            .stacks
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    serde_json::to_value(&s.template).expect("template json"),
                )
            })
            .collect()
    })
}

/// The template of stack `name` (`banca-primary-messaging`).
pub fn template(name: &str) -> &'static Json {
    templates()
        .get(name)
        .unwrap_or_else(|| panic!("no stack {name}; stacks are {:?}", templates().keys()))
}

/// (stack, logical id, resource) for every resource of `type_name` in every stack.
pub fn resources(type_name: &str) -> Vec<(&'static str, &'static str, &'static Json)> {
    let mut out = Vec::new();
    for (stack, t) in templates() {
        if let Some(rs) = t["Resources"].as_object() {
            for (id, r) in rs {
                if r["Type"] == type_name {
                    out.push((stack.as_str(), id.as_str(), r));
                }
            }
        }
    }
    out
}

/// Resources of `type_name` in one stack.
pub fn resources_in(stack: &str, type_name: &str) -> Vec<(&'static str, &'static Json)> {
    resources(type_name)
        .into_iter()
        .filter(|(s, _, _)| *s == stack)
        .map(|(_, id, r)| (id, r))
        .collect()
}

/// Whether `v` (anywhere inside) references the logical id `id` by Ref or GetAtt.
pub fn refers_to(v: &Json, id: &str) -> bool {
    match v {
        Json::Object(m) => {
            if m.get("Ref").and_then(Json::as_str) == Some(id) {
                return true;
            }
            if let Some(Json::Array(a)) = m.get("Fn::GetAtt")
                && a.first().and_then(Json::as_str) == Some(id)
            {
                return true;
            }
            m.values().any(|x| refers_to(x, id))
        }
        Json::Array(a) => a.iter().any(|x| refers_to(x, id)),
        _ => false,
    }
}
