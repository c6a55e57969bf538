//! One insta JSON snapshot per stack of the example `banca.yaml` app: any change to a
//! synthesized template shows up as a reviewed diff (`cargo insta review`).

#[path = "app_common/mod.rs"]
mod common;

#[test]
fn every_stack_matches_its_snapshot() {
    for (name, template) in common::templates() {
        insta::assert_json_snapshot!(name.as_str(), template);
    }
}
