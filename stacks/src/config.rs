//! `banca.yaml`: everything that differs between deployments of the bank's platform. Its JSON
//! Schema is generated from these types (`banca schema`), so editors complete and check it.
//! A bad file is rejected with the field's path, the value received and what is allowed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Prefix of every stack name (`<project>-<region role>-<stack>`); lowercase letters,
    /// digits and hyphens.
    pub project: String,
    /// The 12-digit AWS account both regions deploy to.
    pub account: String,
    /// The two regions.
    pub regions: Regions,
    /// The public domain and its hosted zone.
    pub domain: Domain,
    /// The bank's on-premise network, reached through the site-to-site VPN.
    pub on_premise: OnPremise,
    /// The existing systems' base URLs and the Secrets Manager names of their credentials.
    pub existing_systems: ExistingSystems,
    /// Notification senders.
    pub notifications: Notifications,
    /// Web application firewall.
    #[serde(default)]
    pub waf: Waf,
    /// Countries allowed at the edge (ISO 3166-1 alpha-2); by regulation, Ecuador only.
    #[serde(default = "default_geo")]
    pub geo_allow_list: Vec<String>,
    /// One-time passwords per transfer.
    #[serde(default)]
    pub otp: Otp,
    /// Transfer processing retries and reconciliation.
    #[serde(default)]
    pub transfers: Transfers,
    /// Capacity per region role: the primary serves, the DR region is a warm standby.
    #[serde(default)]
    pub capacity: CapacityByRole,
    /// Alarm thresholds.
    #[serde(default)]
    pub alarms: Alarms,
    /// Optional features, all off by default because each costs money.
    #[serde(default)]
    pub features: Features,
    /// Tags on every resource that takes them.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn default_geo() -> Vec<String> {
    vec!["EC".to_owned()]
}

/// The primary region and the warm-standby disaster-recovery region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// Serves traffic (default us-east-1).
    #[serde(default = "default_primary")]
    pub primary: String,
    /// Warm standby (default us-west-2); must differ from primary.
    #[serde(default = "default_dr")]
    pub dr: String,
}

fn default_primary() -> String {
    "us-east-1".into()
}
fn default_dr() -> String {
    "us-west-2".into()
}

/// The public domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// The apex, e.g. `banca.example.ec`; the app is at `app.<name>`, the API at `api.<name>`.
    pub name: String,
    /// The Route 53 hosted zone id of `name`.
    pub hosted_zone_id: String,
}

/// The on-premise side of the VPN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnPremise {
    /// Networks where the existing systems live (CIDR), routed through the VPN.
    pub cidrs: Vec<String>,
    /// Public IPs of the two on-premise VPN devices (HA: one customer gateway each).
    pub vpn_peer_ips: Vec<String>,
    /// The on-premise BGP ASN.
    #[serde(default = "default_asn")]
    pub bgp_asn: u32,
}

fn default_asn() -> u32 {
    65000
}

/// One existing system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistingSystem {
    /// Base URL; must be https.
    pub base_url: String,
    /// Secrets Manager name holding its credentials (never the credentials themselves).
    pub secret_name: String,
}

/// The systems outside banca.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistingSystems {
    /// Core banking platform.
    pub core: ExistingSystem,
    /// Independent customer system.
    pub independent: ExistingSystem,
    /// The bank's OAuth2 server.
    pub uaa: ExistingSystem,
    /// Twilio (SMS).
    pub twilio: ExistingSystem,
}

/// Notification senders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// The verified SES sender address.
    pub email_sender: String,
    /// The Twilio sender (E.164 number or messaging service SID).
    pub sms_sender: String,
}

/// Web application firewall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waf {
    /// Requests per 5 minutes per client IP before blocking (AWS WAF allows 10 to 2,000,000,000).
    pub rate_limit_per_5_minutes: u64,
}

impl Default for Waf {
    fn default() -> Self {
        Self {
            rate_limit_per_5_minutes: 2000,
        }
    }
}

/// One-time passwords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Otp {
    /// Digits (6 to 10).
    pub length: u8,
    /// Seconds a code lives (60 to 600).
    pub ttl_seconds: u32,
    /// Wrong codes allowed before lockout (1 to 10).
    pub max_attempts: u8,
}

impl Default for Otp {
    fn default() -> Self {
        Self {
            length: 6,
            ttl_seconds: 180,
            max_attempts: 5,
        }
    }
}

/// Transfer processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfers {
    /// Retries of a retryable core-platform error before FAIL (0 to 10).
    pub max_retries: u8,
    /// Backoff base in milliseconds (full jitter: random(0, min(cap, base * 2^n))).
    pub backoff_base_ms: u32,
    /// Backoff cap in milliseconds.
    pub backoff_cap_ms: u32,
    /// Seconds a movement may take to appear in the core platform before "not found" holds.
    pub settle_window_seconds: u32,
    /// Seconds after which a transfer still ambiguous goes to review (and alarms).
    pub review_deadline_seconds: u32,
}

impl Default for Transfers {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff_base_ms: 200,
            backoff_cap_ms: 5_000,
            settle_window_seconds: 15,
            review_deadline_seconds: 900,
        }
    }
}

/// The shortest settle window the transfer processor accepts, in seconds.
pub const MIN_SETTLE_WINDOW_SECONDS: u32 = 11;

/// How NAT gateways are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NatLayout {
    /// One per availability zone (no cross-AZ dependency).
    PerAz,
    /// One for the region (cheaper; a standby's choice).
    Single,
}

/// Capacity of one region role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Availability zones (2 or 3).
    pub availability_zones: u8,
    /// NAT gateway layout.
    pub nat: NatLayout,
    /// RDS instance class.
    pub db_instance_class: String,
    /// ElastiCache node type.
    pub cache_node_type: String,
    /// Reserved concurrency of the transfer processor (0 = unreserved).
    pub transfer_reserved_concurrency: u32,
    /// Provisioned concurrency of the synchronous handlers (0 = none).
    pub api_provisioned_concurrency: u32,
    /// UAA servers (Auto Scaling group minimum).
    pub uaa_min_instances: u32,
}

/// Capacity per region role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityByRole {
    /// The serving region.
    pub primary: Capacity,
    /// The warm standby.
    pub standby: Capacity,
}

impl Default for CapacityByRole {
    fn default() -> Self {
        Self {
            primary: Capacity {
                availability_zones: 2,
                nat: NatLayout::PerAz,
                db_instance_class: "db.r6g.large".into(),
                cache_node_type: "cache.r6g.large".into(),
                transfer_reserved_concurrency: 50,
                api_provisioned_concurrency: 5,
                uaa_min_instances: 2,
            },
            standby: Capacity {
                availability_zones: 2,
                nat: NatLayout::Single,
                db_instance_class: "db.t4g.medium".into(),
                cache_node_type: "cache.t4g.small".into(),
                transfer_reserved_concurrency: 5,
                api_provisioned_concurrency: 0,
                uaa_min_instances: 1,
            },
        }
    }
}

/// Alarm thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    /// Percent of transfers ending in FAIL over 5 minutes.
    pub transfer_fail_rate_percent: u8,
    /// RDS CPU percent.
    pub rds_cpu_percent: u8,
    /// API Gateway 5xx responses per 5 minutes.
    pub api_5xx_per_5_minutes: u32,
    /// E-mail address subscribed to the ops topic (none: subscribe later).
    #[serde(default)]
    pub ops_email: Option<String>,
}

impl Default for Alarms {
    fn default() -> Self {
        Self {
            transfer_fail_rate_percent: 5,
            rds_cpu_percent: 80,
            api_5xx_per_5_minutes: 10,
            ops_email: None,
        }
    }
}

/// Optional features; each is off by default and says what it costs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// Audit events also indexed in OpenSearch (ingestion pipeline + domain; roughly
    /// USD 400+/month for two r6g.large data nodes and the pipeline's OCUs).
    #[serde(default)]
    pub opensearch_audit: bool,
    /// A Cognito user pool in front of the UAA (per monthly active user pricing).
    #[serde(default)]
    pub cognito: bool,
    /// An AWS Private CA for internal TLS (USD 400/month per CA).
    #[serde(default)]
    pub private_ca: bool,
    /// AWS Shield Advanced on the edge (USD 3,000/month plus data transfer; 1-year commitment).
    #[serde(default)]
    pub shield_advanced: bool,
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    /// One line per problem: `field.path: what is wrong, got value` (+ `hint:` lines).
    pub problems: Vec<String>,
}

impl Config {
    /// Reads and validates a `banca.yaml`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            problems: vec![format!("{}: cannot read: {e}\nhint: pass --config PATH or create banca.yaml (see banca.example.yaml)", path.display())],
        })?;
        Self::parse(&text)
    }

    /// Parses and validates YAML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let de = serde_norway::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde_norway starts its message with the parent's path; ours is more precise.
            let message = match inner.split_once(": ") {
                Some((head, tail)) if !head.contains(' ') => tail.to_owned(),
                _ => inner,
            };
            let field = if path == "." {
                "banca.yaml".to_owned()
            } else {
                path
            };
            ConfigError {
                problems: vec![format!("{field}: {message}")],
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        let slug = |s: &str| {
            !s.is_empty()
                && s.len() <= 20
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !s.starts_with('-')
        };
        if !slug(&self.project) {
            p.push(format!(
                "project: must be 1-20 lowercase letters, digits or hyphens, got {:?}",
                self.project
            ));
        }
        if self.account.len() != 12 || !self.account.bytes().all(|b| b.is_ascii_digit()) {
            p.push(format!(
                "account: must be a 12-digit AWS account id, got {:?}",
                self.account
            ));
        }
        for (field, r) in [
            ("regions.primary", &self.regions.primary),
            ("regions.dr", &self.regions.dr),
        ] {
            if !valid_region(r) {
                p.push(format!(
                    "{field}: must be an AWS region like us-east-1, got {r:?}"
                ));
            }
        }
        if self.regions.primary == self.regions.dr {
            p.push(format!(
                "regions.dr: must differ from regions.primary, got {}\nhint: a warm standby in the same region does not survive a regional outage",
                self.regions.dr
            ));
        }
        if !self.domain.name.contains('.')
            || self.domain.name.ends_with('.')
            || self
                .domain
                .name
                .chars()
                .any(|c| c.is_ascii_uppercase() || c.is_whitespace())
        {
            p.push(format!(
                "domain.name: must be a lowercase domain like banca.example.ec, got {:?}",
                self.domain.name
            ));
        }
        if !self.domain.hosted_zone_id.starts_with('Z')
            || !self
                .domain
                .hosted_zone_id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            p.push(format!(
                "domain.hosted_zone_id: must be a Route 53 zone id like Z0123456789ABC, got {:?}",
                self.domain.hosted_zone_id
            ));
        }
        if self.on_premise.cidrs.is_empty() {
            p.push("on_premise.cidrs: must list at least one network".into());
        }
        for (i, c) in self.on_premise.cidrs.iter().enumerate() {
            if let Err(why) = parse_cidr(c) {
                p.push(format!("on_premise.cidrs[{i}]: {why}, got {c:?}"));
            }
        }
        if self.on_premise.vpn_peer_ips.len() != 2 {
            p.push(format!(
                "on_premise.vpn_peer_ips: must list exactly 2 addresses (one per on-premise VPN device, for HA), got {}",
                self.on_premise.vpn_peer_ips.len()
            ));
        }
        for (i, ip) in self.on_premise.vpn_peer_ips.iter().enumerate() {
            match ip.parse::<Ipv4Addr>() {
                Ok(a) if a.is_private() || a.is_loopback() || a.is_unspecified() => {
                    p.push(format!(
                        "on_premise.vpn_peer_ips[{i}]: must be a public IPv4 address, got {ip}"
                    ));
                }
                Ok(_) => {}
                Err(_) => p.push(format!(
                    "on_premise.vpn_peer_ips[{i}]: must be an IPv4 address, got {ip:?}"
                )),
            }
        }
        let s = &self.existing_systems;
        for (name, sys) in [
            ("core", &s.core),
            ("independent", &s.independent),
            ("uaa", &s.uaa),
            ("twilio", &s.twilio),
        ] {
            if !sys.base_url.starts_with("https://") || sys.base_url.len() <= "https://".len() {
                p.push(format!(
                    "existing_systems.{name}.base_url: must be an https:// URL, got {:?}",
                    sys.base_url
                ));
            }
            if sys.secret_name.is_empty() || sys.secret_name.len() > 512 {
                p.push(format!("existing_systems.{name}.secret_name: must be a Secrets Manager name (1-512 characters), got {:?}", sys.secret_name));
            }
        }
        let email_ok = |e: &str| {
            e.split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !e.contains(' '))
        };
        if !email_ok(&self.notifications.email_sender) {
            p.push(format!(
                "notifications.email_sender: must be an e-mail address, got {:?}",
                self.notifications.email_sender
            ));
        }
        if self.notifications.sms_sender.is_empty() {
            p.push("notifications.sms_sender: must be an E.164 number or a messaging service SID, got \"\"".into());
        }
        let rate = self.waf.rate_limit_per_5_minutes;
        if !(10..=2_000_000_000).contains(&rate) {
            p.push(format!(
                "waf.rate_limit_per_5_minutes: must be 10 to 2000000000, got {rate}"
            ));
        }
        if self.geo_allow_list.is_empty() {
            p.push("geo_allow_list: must list at least one country".into());
        }
        for (i, c) in self.geo_allow_list.iter().enumerate() {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                p.push(format!(
                    "geo_allow_list[{i}]: must be an ISO 3166-1 alpha-2 code like EC, got {c:?}"
                ));
            }
        }
        let o = &self.otp;
        if !(6..=10).contains(&o.length) {
            p.push(format!("otp.length: must be 6 to 10 digits, got {}\nhint: shorter codes can be guessed within the attempt limit", o.length));
        }
        if !(60..=600).contains(&o.ttl_seconds) {
            p.push(format!(
                "otp.ttl_seconds: must be 60 to 600, got {}",
                o.ttl_seconds
            ));
        }
        if !(1..=10).contains(&o.max_attempts) {
            p.push(format!(
                "otp.max_attempts: must be 1 to 10, got {}",
                o.max_attempts
            ));
        }
        let t = &self.transfers;
        if t.max_retries > 10 {
            p.push(format!(
                "transfers.max_retries: must be 0 to 10, got {}",
                t.max_retries
            ));
        }
        if t.backoff_base_ms == 0 || t.backoff_cap_ms < t.backoff_base_ms {
            p.push(format!(
                "transfers.backoff_cap_ms: must be >= backoff_base_ms (> 0), got base {} and cap {}",
                t.backoff_base_ms, t.backoff_cap_ms
            ));
        }
        // The processor's own floor: core timeout (5 s) + send guard (1 s) + the contract's
        // late-movement delay (5 s); below it a resend could miss a movement still appearing.
        if t.settle_window_seconds < MIN_SETTLE_WINDOW_SECONDS {
            p.push(format!(
                "transfers.settle_window_seconds: must be at least {MIN_SETTLE_WINDOW_SECONDS}, got {}\nhint: movements can appear seconds after the core platform answers; a shorter window risks a double transfer",
                t.settle_window_seconds
            ));
        }
        if t.review_deadline_seconds <= t.settle_window_seconds {
            p.push(format!(
                "transfers.review_deadline_seconds: must exceed settle_window_seconds ({}), got {}",
                t.settle_window_seconds, t.review_deadline_seconds
            ));
        }
        for (role, c) in [
            ("primary", &self.capacity.primary),
            ("standby", &self.capacity.standby),
        ] {
            if !(2..=3).contains(&c.availability_zones) {
                p.push(format!(
                    "capacity.{role}.availability_zones: must be 2 or 3, got {}",
                    c.availability_zones
                ));
            }
            if !c.db_instance_class.starts_with("db.") {
                p.push(format!("capacity.{role}.db_instance_class: must be an RDS class like db.r6g.large, got {:?}", c.db_instance_class));
            }
            if !c.cache_node_type.starts_with("cache.") {
                p.push(format!("capacity.{role}.cache_node_type: must be an ElastiCache type like cache.r6g.large, got {:?}", c.cache_node_type));
            }
            if c.uaa_min_instances == 0 {
                p.push(format!(
                    "capacity.{role}.uaa_min_instances: must be at least 1, got 0"
                ));
            }
        }
        let a = &self.alarms;
        for (field, v) in [
            ("transfer_fail_rate_percent", a.transfer_fail_rate_percent),
            ("rds_cpu_percent", a.rds_cpu_percent),
        ] {
            if !(1..=100).contains(&v) {
                p.push(format!("alarms.{field}: must be 1 to 100, got {v}"));
            }
        }
        if self.tags.len() > 40 {
            p.push(format!(
                "tags: at most 40 (AWS allows 50 per resource and banca adds its own), got {}",
                self.tags.len()
            ));
        }
        for k in self.tags.keys() {
            if k.starts_with("aws:") || k.is_empty() || k.len() > 128 {
                p.push(format!(
                    "tags.{k}: keys must be 1-128 characters and not start with aws:"
                ));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems: p })
        }
    }

    /// The JSON Schema of the file, for editors.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
    }
}

fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses `a.b.c.d/n`, requiring the address to be the network's first (no host bits).
pub fn parse_cidr(c: &str) -> Result<(Ipv4Addr, u8), String> {
    let (ip, len) = c
        .split_once('/')
        .ok_or("must be a CIDR block like 172.16.0.0/16")?;
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| "must be a CIDR block like 172.16.0.0/16".to_owned())?;
    let len: u8 = len
        .parse()
        .map_err(|_| "the prefix length must be 0 to 32".to_owned())?;
    if len > 32 {
        return Err("the prefix length must be 0 to 32".into());
    }
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    if u32::from(ip) & !mask != 0 {
        return Err(format!(
            "host bits are set (the network is {}/{len})",
            Ipv4Addr::from(u32::from(ip) & mask)
        ));
    }
    Ok((ip, len))
}
