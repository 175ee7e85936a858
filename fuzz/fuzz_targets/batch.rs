#![no_main]
//! Several documents of a few sources through the whole batch path, the
//! one with the stages that compare documents (lines repeated in a
//! source, copies of one story counted once, near-duplicate clusters):
//! no panic, every document's audit trail restores its text, and neither
//! the thread count nor holding the text between the phases (rather
//! than reading it again) changes the output.

use std::sync::{Arc, LazyLock};

use chaff::input::{Inputs, Unit, UnitKind};
use chaff::sink::Collect;
use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

mod audit;

/// One thread, two, and two with no text held. Built once: a pool
/// dropped after each input left its threads exiting while the leak
/// check ran, and their thread-local buffers were reported as leaks.
/// (The run's scoped threads still end that way, so this target runs
/// with `-detect_leaks=0`: see `fuzz/regressions/README.md`.)
static PIPELINES: LazyLock<[Pipeline; 3]> = LazyLock::new(|| {
    [(1, 2 << 30), (2, 2 << 30), (2, 0)].map(|(threads, hold)| {
        Pipeline::builder()
            .threads(threads)
            .hold_text_bytes(hold)
            .build()
            .unwrap()
    })
});

fuzz_target!(|data: &[u8]| {
    // A 0xFF byte (never part of UTF-8) ends a document; the documents
    // take turns among three sources.
    let texts: Vec<String> = data
        .split(|&b| b == 0xff)
        .take(32)
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .collect();
    let mut records = String::new();
    for (i, text) in texts.iter().enumerate() {
        let source = format!("s{}", i % 3);
        let record = serde_json::json!({ "text": text, "source": source });
        records.push_str(&record.to_string());
        records.push('\n');
    }
    let inputs = Inputs {
        units: vec![Unit {
            path: "-".into(),
            rel: "-".into(),
            source: "stdin".into(),
            kind: UnitKind::JsonLinesBytes(Arc::new(records.into_bytes())),
        }],
        errors: Vec::new(),
    };
    let mut outs = Vec::new();
    for pipeline in PIPELINES.iter() {
        let mut sink = Collect::default();
        pipeline.run(&inputs, &mut sink).unwrap();
        outs.push((sink.documents, sink.clusters));
    }
    assert_eq!(outs[0], outs[1], "1 thread against 2");
    assert_eq!(outs[1], outs[2], "text held against read again");
    let (documents, _) = &outs[0];
    assert_eq!(documents.len(), texts.len());
    for (doc, text) in documents.iter().zip(&texts) {
        audit::assert_restores(doc, text);
    }
});
