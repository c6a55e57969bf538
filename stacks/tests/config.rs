//! `banca.yaml`: the example is valid, and every bad input is rejected with the field path, the
//! value and what is allowed.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use banca_stacks::config::Config;

const EXAMPLE: &str = include_str!("../../banca.yaml");

fn with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "the example has {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

/// Parses `yaml` and returns the error text (or "ok").
fn check(yaml: &str) -> String {
    match Config::parse(yaml) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_example_is_valid_and_complete() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.regions.primary, "us-east-1");
    assert_eq!(c.regions.dr, "us-west-2");
    assert_eq!(c.geo_allow_list, ["EC"]);
    assert_eq!(
        (c.otp.length, c.otp.ttl_seconds, c.otp.max_attempts),
        (6, 180, 5)
    );
    assert!(
        !c.features.opensearch_audit && !c.features.shield_advanced,
        "costly features are off by default"
    );
}

#[test]
fn bad_configs_name_the_field_the_value_and_the_rule() {
    let cases: Vec<(String, &str)> = vec![
        (
            with("dr: us-west-2", "dr: us-east-1"),
            "regions.dr: must differ from regions.primary, got us-east-1\nhint: a warm standby in the same region does not survive a regional outage",
        ),
        (
            with("primary: us-east-1", "primary: useast1"),
            "regions.primary: must be an AWS region like us-east-1, got \"useast1\"",
        ),
        (
            with("172.16.0.0/16,", "172.16.0/16,"),
            "on_premise.cidrs[0]: must be a CIDR block like 172.16.0.0/16, got \"172.16.0/16\"",
        ),
        (
            with("172.17.0.0/16]", "172.17.0.1/16]"),
            "on_premise.cidrs[1]: host bits are set (the network is 172.17.0.0/16), got \"172.17.0.1/16\"",
        ),
        (
            with("172.16.0.0/16,", "172.16.0.0/33,"),
            "on_premise.cidrs[0]: the prefix length must be 0 to 32, got \"172.16.0.0/33\"",
        ),
        (
            with("  length: 6", "  length: 4"),
            "otp.length: must be 6 to 10 digits, got 4\nhint: shorter codes can be guessed within the attempt limit",
        ),
        (
            with("  ttl_seconds: 180", "  ttl_seconds: 3600"),
            "otp.ttl_seconds: must be 60 to 600, got 3600",
        ),
        (
            with("account: \"111111111111\"", "account: \"1111\""),
            "account: must be a 12-digit AWS account id, got \"1111\"",
        ),
        (
            with("[200.1.1.10, 200.1.1.11]", "[200.1.1.10]"),
            "on_premise.vpn_peer_ips: must list exactly 2 addresses (one per on-premise VPN device, for HA), got 1",
        ),
        (
            with("[200.1.1.10, 200.1.1.11]", "[10.0.0.1, 200.1.1.11]"),
            "on_premise.vpn_peer_ips[0]: must be a public IPv4 address, got 10.0.0.1",
        ),
        (
            with(
                "\"https://core.bank.internal\"",
                "\"http://core.bank.internal\"",
            ),
            "existing_systems.core.base_url: must be an https:// URL, got \"http://core.bank.internal\"",
        ),
        (
            with("geo_allow_list: [EC]", "geo_allow_list: [ecuador]"),
            "geo_allow_list[0]: must be an ISO 3166-1 alpha-2 code like EC, got \"ecuador\"",
        ),
        (
            with(
                "rate_limit_per_5_minutes: 2000",
                "rate_limit_per_5_minutes: 5",
            ),
            "waf.rate_limit_per_5_minutes: must be 10 to 2000000000, got 5",
        ),
    ];
    for (yaml, expected) in cases {
        assert_eq!(check(&yaml), expected);
    }
}

#[test]
fn unknown_and_mistyped_fields_are_rejected_with_their_path() {
    let typo = check(&with("  length: 6", "  lenght: 6"));
    assert!(typo.starts_with("otp.lenght: unknown field `lenght`, expected one of `length`, `ttl_seconds`, `max_attempts`"), "{typo}");
    let wrong_type = check(&with("  ttl_seconds: 180", "  ttl_seconds: three minutes"));
    assert!(
        wrong_type
            .starts_with("otp.ttl_seconds: invalid type: string \"three minutes\", expected u32"),
        "{wrong_type}"
    );
    let top = check(&format!("{EXAMPLE}\nregion: us-east-1\n"));
    assert!(
        top.starts_with("banca.yaml: unknown field `region`")
            || top.starts_with("region: unknown field"),
        "{top}"
    );
    let missing = check(&EXAMPLE.replace("account: \"111111111111\"\n", ""));
    assert!(missing.contains("missing field `account`"), "{missing}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = with("dr: us-west-2", "dr: us-east-1").replacen("  length: 6", "  length: 5", 1);
    let err = check(&yaml);
    assert_eq!(
        err.lines().filter(|l| !l.starts_with("hint:")).count(),
        2,
        "{err}"
    );
}

#[test]
fn the_json_schema_is_generated_from_the_types_and_committed() {
    let schema = Config::json_schema();
    let props = schema["properties"].as_object().unwrap();
    for field in [
        "project",
        "account",
        "regions",
        "otp",
        "transfers",
        "capacity",
        "features",
        "tags",
    ] {
        assert!(props.contains_key(field), "schema lacks {field}");
    }
    let text = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../banca.schema.json"))
            .unwrap_or_default();
    assert!(
        committed == text,
        "banca.schema.json is stale\nhint: cargo run -p banca-stacks -- schema > banca.schema.json"
    );
}
