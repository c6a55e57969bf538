//! `data`: the transfer store (RDS MySQL, Multi-AZ, isolated subnets; a cross-region read
//! replica in dr), the Redis cache of basic customer info and OTPs (encrypted at rest and in
//! transit, AUTH), and the DynamoDB global tables of face records and audit events (PITR,
//! customer-managed keys, replicas in dr).
//!
//! The database's master password lives in the replicated `transfer-db` secret instead of an
//! RDS-managed one: the transfer processor reads `{username, password, host, port, dbname}`
//! from the secret, and RDS-managed secrets hold no host. A `SecretTargetAttachment` adds host
//! and port once the instance exists. When dr is promoted, the replicated secret still names
//! the primary's host: the promotion runbook (`banca dr promote`) must point it at the
//! promoted replica.

use banca_constructs::data::{Database, DatabaseProps, RedisCluster, RedisClusterProps};
use banca_constructs::dynamodb::{Attribute, Table, TableProps, TableReplica};
use banca_constructs::{Scope, SynthError};
use serde_json::{Value as Json, json};

use super::network::{Network, REDIS_PORT};
use super::secrets::{Secrets, resolve};
use super::security::Security;
use super::{Region, Role, global_name};

/// The data services of one region.
pub(crate) struct Data {
    /// `rediss://:<token>@<host>:<port>` (see the gap noted in the module docs of `backend`).
    pub redis_url: Json,
    /// The face-records table's name (the same in every region).
    pub face_table: String,
    /// The audit-events table's name.
    pub audit_table: String,
    /// The MySQL instance (the primary, or the dr read replica).
    pub database: Database,
}

/// Builds the stack. `dr_security` (primary only) holds the replica keys of the global
/// tables; `primary` (dr only) is the primary's data, whose database the dr region replicates.
pub(crate) fn build(
    r: &Region<'_>,
    sec: &Security,
    net: &Network,
    secrets: &Secrets,
    dr_security: Option<&Security>,
    primary: Option<&Data>,
) -> Result<Data, SynthError> {
    let s = r.stack("data", "transfer store, cache and global tables")?;
    let face_table = global_name(r.config, "face-records");
    let audit_table = global_name(r.config, "audit-events");

    let database = match (r.role, primary) {
        (Role::Primary, _) => {
            tables(r, &s, sec, dr_security, &face_table, &audit_table)?;
            let db = Database::new(
                &s,
                "TransferDb",
                DatabaseProps {
                    instance_class: r.capacity.db_instance_class.clone(),
                    ..DatabaseProps::new(&net.vpc, sec.data_key.clone())
                },
            )?;
            let secret = &secrets.database;
            db.resource().remove_property("ManageMasterUserPassword");
            db.resource().remove_property("MasterUserSecret");
            db.resource().set_property(
                "MasterUserPassword",
                resolve_arn(&secret.secret.arn().to_json(), "password"),
            );
            s.add_resource(
                "TransferDbSecretAttachment",
                "AWS::SecretsManager::SecretTargetAttachment",
                json!({
                    "SecretId": secret.secret.arn(),
                    "TargetId": db.resource().reference(),
                    "TargetType": "AWS::RDS::DBInstance",
                }),
            )?;
            db
        }
        (Role::Dr, Some(p)) => {
            let db =
                Database::read_replica(&s, "TransferDb", &p.database, &net.vpc, &sec.data_key)?;
            // Standby capacity: a smaller class than the primary's until promotion.
            db.resource()
                .set_property("DBInstanceClass", json!(r.capacity.db_instance_class));
            db
        }
        (Role::Dr, None) => {
            return Err(SynthError::InvalidProps {
                path: s.path().to_owned(),
                field: "primary",
                message: "the dr data stack replicates the primary's database".to_owned(),
            });
        }
    };
    database.allow_from(&net.app_sg, "handlers of the transfer store")?;

    let redis = RedisCluster::new(
        &s,
        "Cache",
        RedisClusterProps {
            node_type: r.capacity.cache_node_type.clone(),
            ..RedisClusterProps::new(
                &net.vpc,
                sec.data_key.clone(),
                secrets.redis_auth.secret.clone(),
            )
        },
    )?;
    let token = resolve(&secrets.redis_auth.name, "password");
    // Both regions read the token by name, so dr resolves its replica of the secret instead of
    // a cross-region ARN; the reference is not a token, so state the order explicitly.
    redis.resource().set_property("AuthToken", token.clone());
    s.add_dependency(secrets.redis_auth.secret.resource().stack())?;
    redis.allow_from(&net.app_sg, "handlers using the cache")?;
    let redis_url = json!({"Fn::Join": ["", ["rediss://:", token, "@", redis.endpoint(), format!(":{REDIS_PORT}")]]});

    Ok(Data {
        redis_url,
        face_table,
        audit_table,
        database,
    })
}

fn resolve_arn(arn: &Json, field: &str) -> Json {
    json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", arn, format!(":SecretString:{field}}}}}")]]})
}

/// The global tables, primary only (the replicas are part of the same resource).
fn tables(
    r: &Region<'_>,
    s: &Scope,
    sec: &Security,
    dr: Option<&Security>,
    face_table: &str,
    audit_table: &str,
) -> Result<(), SynthError> {
    let (Some(mr), Some(dr_keys)) = (&sec.multi_region, dr.and_then(|d| d.replicas.clone())) else {
        return Err(SynthError::InvalidProps {
            path: s.path().to_owned(),
            field: "keys",
            message: "global tables need the multi-region data key and its dr replica".to_owned(),
        });
    };
    let replicas = vec![TableReplica {
        region: r.config.regions.dr.clone(),
        key: dr_keys.data.clone(),
    }];
    Table::new(
        s,
        "FaceRecords",
        TableProps {
            replicas: replicas.clone(),
            table_name: Some(face_table.to_owned()),
            ..TableProps::new(Attribute::string("userId"), mr.data.clone())
        },
    )?;
    let audit = Table::new(
        s,
        "AuditEvents",
        TableProps {
            replicas,
            table_name: Some(audit_table.to_owned()),
            ..TableProps::new(Attribute::string("eventId"), mr.data.clone())
        },
    )?;
    // Queries by user and time (the audit handler's `byUser` index); TableProps has no
    // secondary indexes, so they are added to the resource.
    audit.resource().with_entry(|e| {
        if let Some(defs) = e
            .properties
            .get_mut("AttributeDefinitions")
            .and_then(Json::as_array_mut)
        {
            defs.push(json!({"AttributeName": "userId", "AttributeType": "S"}));
            defs.push(json!({"AttributeName": "occurredKey", "AttributeType": "S"}));
        }
        e.properties["GlobalSecondaryIndexes"] = json!([{
            "IndexName": "byUser",
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "occurredKey", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }]);
    });
    Ok(())
}
