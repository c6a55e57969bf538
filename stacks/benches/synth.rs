//! Synth speed: the bank's whole app (both regions + global, handler hashes given, no handler
//! compilation) and a synthetic app of 10,000 resources. Budgets (issue 4): whole app < 100 ms,
//! 10k resources < 500 ms on the 2-core CI machine.
//!
//! `cargo bench -p banca-stacks --bench synth`

use std::collections::BTreeMap;
use std::hint::black_box;

use banca_constructs::sqs::{Queue, QueueProps};
use banca_constructs::{App, Environment, LambdaAsset, StackProps};
use banca_stacks::config::Config;
use banca_stacks::pipeline;
use criterion::{Criterion, criterion_group, criterion_main};

fn assets() -> BTreeMap<String, LambdaAsset> {
    banca_stacks::app::HANDLERS
        .iter()
        .map(|(_, h)| ((*h).to_owned(), LambdaAsset::new(*h, "ab".repeat(32))))
        .collect()
}

/// 20 stacks of 500 resources: each queue construct is a queue, its DLQ and two TLS-only
/// policies, so 125 queues per stack.
fn synthetic_10k() -> usize {
    let app = App::new("bench");
    let stage = app
        .stage("primary", Environment::new("111111111111", "us-east-1"))
        .expect("stage");
    let mut resources = 0;
    for s in 0..20 {
        let stack = app
            .stack(stage, &format!("s{s}"), StackProps::default())
            .expect("stack");
        for q in 0..125 {
            Queue::new(&stack, &format!("Q{q}"), QueueProps::default()).expect("queue");
        }
    }
    for st in app.synth().expect("synth").stacks {
        resources += st.template.resources.len();
    }
    resources
}

fn bench(c: &mut Criterion) {
    let config = Config::parse(include_str!("../../banca.yaml")).expect("example config");
    let assets = assets();
    let mut g = c.benchmark_group("synth");
    g.sample_size(20);
    g.bench_function("whole bank app (build + synth, in memory)", |b| {
        b.iter(|| black_box(pipeline::synthesize(&config, &assets).expect("synth")))
    });
    g.bench_function("whole bank app (+ templates to JSON)", |b| {
        b.iter(|| {
            let out = pipeline::synthesize(&config, &assets).expect("synth");
            black_box(
                out.stacks
                    .iter()
                    .map(|s| s.template.to_json().map(|j| j.len()).unwrap_or(0))
                    .sum::<usize>(),
            )
        })
    });
    g.sample_size(10);
    g.bench_function("synthetic 10,000 resources", |b| {
        b.iter(|| black_box(synthetic_10k()))
    });
    g.finish();
    println!("synthetic app resources: {}", synthetic_10k());
}

criterion_group!(benches, bench);
criterion_main!(benches);
