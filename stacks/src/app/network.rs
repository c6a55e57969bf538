//! `network`: the VPC (public / private / isolated subnets over the configured AZs), NAT
//! gateways (one per AZ in the primary, one in dr), PrivateLink endpoints for every AWS API the
//! handlers call, S3 and DynamoDB gateway endpoints, flow logs, the HA site-to-site VPN to the
//! on-premise network (two customer gateways, two connections), and the security group of
//! the handlers that reach the database and the cache.
//!
//! The regions get disjoint address blocks (10.0/16 primary, 10.1/16 dr) so both can route to
//! the on-premise networks and to each other without overlap.

use banca_constructs::SynthError;
use banca_constructs::ec2::{
    NatGateways, SecurityGroup, SecurityGroupProps, Vpc, VpcProps, VpnProps,
};
use serde_json::json;

use super::security::Security;
use super::{Region, Role};
use crate::config::NatLayout;

/// The MySQL port (not the engine default: compliance rule RDS11).
pub const MYSQL_PORT: u16 = 3307;
/// The Redis port (not the engine default: compliance rule AEC5).
pub const REDIS_PORT: u16 = 6380;

/// The network of one region.
pub(crate) struct Network {
    pub vpc: Vpc,
    /// Handlers in the VPC: HTTPS anywhere (AWS endpoints, partners through NAT or VPN),
    /// MySQL and Redis inside the VPC.
    pub app_sg: SecurityGroup,
    /// The VPC's address block.
    pub cidr: String,
}

/// Builds the stack.
pub(crate) fn build(r: &Region<'_>, sec: &Security) -> Result<Network, SynthError> {
    let s = r.stack(
        "network",
        "VPC, endpoints, flow logs and the VPN to the bank",
    )?;
    let cidr = match r.role {
        Role::Primary => "10.0.0.0/16",
        Role::Dr => "10.1.0.0/16",
    }
    .to_owned();
    let on_prem = &r.config.on_premise;
    let vpc = Vpc::new(
        &s,
        "Vpc",
        VpcProps {
            cidr: cidr.clone(),
            max_azs: u32::from(r.capacity.availability_zones),
            nat_gateways: match r.capacity.nat {
                NatLayout::PerAz => NatGateways::PerAz,
                NatLayout::Single => NatGateways::Single,
            },
            vpn: Some(VpnProps {
                customer_gateway_ips: on_prem.vpn_peer_ips.clone(),
                bgp_asn: on_prem.bgp_asn,
            }),
            ..VpcProps::new(sec.logs_key.clone())
        },
    )?;
    let app_sg = SecurityGroup::new(
        &s,
        "HandlerSecurityGroup",
        SecurityGroupProps::new(
            &vpc,
            "Lambda handlers: HTTPS out, MySQL and Redis inside the VPC",
        ),
    )?;
    // The construct only opens HTTPS egress; the handlers also reach the database and the
    // cache, inside the VPC only.
    let vpc_cidr = vpc.cidr();
    app_sg.resource().with_entry(|e| {
        if let Some(rules) = e
            .properties
            .get_mut("SecurityGroupEgress")
            .and_then(|v| v.as_array_mut())
        {
            for (port, what) in [(MYSQL_PORT, "MySQL"), (REDIS_PORT, "Redis")] {
                rules.push(json!({
                    "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                    "CidrIp": vpc_cidr.to_json(), "Description": format!("{what} inside the VPC"),
                }));
            }
        }
    });
    Ok(Network { vpc, app_sg, cidr })
}
