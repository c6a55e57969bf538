# shellcheck shell=bash
# Sourced by scripts/*: where the services and the build cache live. Every value can be overridden.

# One target directory between runs and checkouts (CI clones main into another folder on the
# same machine): a warm cache turns a ~1,000 CPU-s build into an incremental one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/banca-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Real stand-ins on loopback: MariaDB for RDS MySQL, Redis for ElastiCache, moto for AWS APIs.
export BANCA_MYSQL_URL="${BANCA_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
export BANCA_REDIS_URL="${BANCA_REDIS_URL:-redis://127.0.0.1:6379}"
export BANCA_MOTO_PORT="${BANCA_MOTO_PORT:-5055}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:${BANCA_MOTO_PORT}}"
# moto accepts any credentials; these never leave the machine.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_EC2_METADATA_DISABLED=true

# Pinned tool versions (checked against the registries on 2026-11-28).
export BANCA_CFN_LINT_VERSION="1.51.0"
export BANCA_MOTO_VERSION="5.2.1"
export BANCA_CDK_CLI_VERSION="2.1148.1"
# The AWS CDK CLI, only to prove it reads our cloud assemblies (`cdk ls --app cdk.out`).
export BANCA_NPM_PREFIX="${BANCA_NPM_PREFIX:-/var/tmp/banca-npm}"
export BANCA_CDK_CLI="${BANCA_CDK_CLI:-$BANCA_NPM_PREFIX/node_modules/.bin/cdk}"
# Keep the CDK CLI off the network: no notices, no version check, no telemetry.
export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=true
