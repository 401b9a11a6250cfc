//! Micro-benchmarks of the pieces on Forge's request path, each measured per request or per
//! stream chunk: `cargo bench -p forge-bench` (a filter after `--` picks groups, e.g.
//! `cargo bench -p forge-bench -- sse`). Fixtures are built once outside the timed loops.
//! No assertion here is about time: the figures are read, not checked.

// Fixture set-up may unwrap: a broken fixture should stop the benchmark loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forge_bench::bodies::{DONE_EVENT, chat_chunk_event, chat_request};
use forge_core::anthropic::stream_decode::StreamDecoder;
use forge_core::anthropic::stream_encode::{StreamEncoder, encode_sse};
use forge_core::json::RawObject;
use forge_core::openai::convert::ChunkRenderer;
use forge_core::sse::{SseEvent, SseParser, encode_event};
use forge_provider_openai::{Endpoint, OpenAiAdapter};
use forge_server::auth::key_cache::{AuthContext, KeyCache, Lookup, ResolvedProvider};
use forge_server::auth::last_used::LastUsed;
use forge_server::proxy::framer::EventFramer;
use forge_server::proxy::resolve::resolve;
use forge_storage::apikey::digest_forge_key;
use forge_storage::crypto::{SecretBox, provider_key_aad};
use forge_storage::{NewForgeKey, NewProviderKey, NewUser, Store};
use futures_util::FutureExt;
use zeroize::Zeroizing;

const FORGE_KEY: &str = "forge-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const MODEL: &str = "bench/instant";

fn provider(id: i64, name: &str) -> ResolvedProvider {
    ResolvedProvider {
        id,
        name: name.to_owned(),
        name_lower: name.to_lowercase(),
        api_key: Zeroizing::new("sk-bench-0123456789".to_owned()),
        base_url: Some("http://127.0.0.1:9200/v1".to_owned()),
        model_mapping: BTreeMap::from([("fast".to_owned(), "gpt-4o-mini".to_owned())]),
        config: BTreeMap::new(),
        family: forge_server::proxy::family::ProviderFamily::of(&name.to_lowercase()),
    }
}

/// A caller with a handful of provider keys, as a typical account has.
fn auth_context() -> AuthContext {
    AuthContext {
        key_id: 1,
        user_id: 1,
        scope: None,
        providers: ["openai", "groq", "openrouter", "anthropic", "bench"]
            .iter()
            .zip(1..)
            .map(|(name, id)| provider(id, name))
            .collect(),
        gateway: None,
        limits: Default::default(),
    }
}

/// A real key cache over a scratch SQLite store holding one user, one provider key and one
/// Forge key, warmed by a first lookup so the benchmark measures the hit path.
fn warm_key_cache() -> (Store, SecretBox, KeyCache, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secrets = SecretBox::new([7u8; 32]);
    let cache = KeyCache::default();
    let store = runtime.block_on(async {
        Store::run_migrations(&url).unwrap();
        let store = Store::connect(&url).await.unwrap();
        let user = store
            .create_user(&NewUser {
                username: "bench",
                email: "bench@example.com",
                hashed_password: "unused",
            })
            .await
            .unwrap();
        let sealed = secrets
            .encrypt(b"sk-bench", &provider_key_aad(user.id, "bench"))
            .unwrap();
        store
            .create_provider_key(&NewProviderKey {
                user_id: user.id,
                provider_name: "bench",
                encrypted_api_key: &sealed,
                base_url: Some("http://127.0.0.1:9200/v1"),
                model_mapping: None,
                config: None,
            })
            .await
            .unwrap();
        let digest = digest_forge_key(FORGE_KEY);
        store
            .create_forge_key(&NewForgeKey {
                user_id: user.id,
                name: Some("bench"),
                key_digest: &digest,
                key_suffix: "cdef",
                scope: None,
            })
            .await
            .unwrap();
        let first = cache.lookup(&store, &secrets, &digest).await.unwrap();
        assert!(matches!(first, Lookup::Valid(_)));
        store
    });
    (store, secrets, cache, dir)
}

fn key_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("auth");
    g.bench_function("digest_forge_key", |b| {
        b.iter(|| digest_forge_key(black_box(FORGE_KEY)))
    });
    let (store, secrets, cache, _dir) = warm_key_cache();
    let digest = digest_forge_key(FORGE_KEY);
    // A hit never awaits, so the future completes on its first poll: no runtime in the loop.
    g.bench_function("key_cache_hit", |b| {
        b.iter(|| {
            cache
                .lookup(&store, &secrets, black_box(&digest))
                .now_or_never()
                .unwrap()
                .unwrap()
        })
    });
    let last_used = LastUsed::default();
    g.bench_function("authenticate_hit (digest + cache + last_used)", |b| {
        b.iter(|| {
            let digest = digest_forge_key(black_box(FORGE_KEY));
            let lookup = cache
                .lookup(&store, &secrets, &digest)
                .now_or_never()
                .unwrap()
                .unwrap();
            if let Lookup::Valid(ctx) = &lookup {
                last_used.mark(ctx.key_id);
            }
            lookup
        })
    });
    g.finish();
}

fn request_rewrite(c: &mut Criterion) {
    let body = chat_request(MODEL, false).into_bytes();
    let ctx = auth_context();
    let mut g = c.benchmark_group("request");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("parse_1k_body (RawObject + model + stream)", |b| {
        b.iter(|| {
            let object = RawObject::parse(black_box(&body)).unwrap();
            let model = object.get_str("model").unwrap();
            let stream = object.get_bool("stream").unwrap();
            (object.keys().count(), model, stream)
        })
    });
    g.bench_function("resolve_prefix", |b| {
        b.iter(|| resolve(&ctx, black_box(MODEL)).unwrap().upstream_model)
    });
    g.bench_function("parse_resolve_rewrite_1k (to upstream bytes)", |b| {
        b.iter(|| {
            let mut object = RawObject::parse(black_box(&body)).unwrap();
            let model = object.get_str("model").unwrap().unwrap();
            let _stream = object.get_bool("stream").unwrap();
            let route = resolve(&ctx, &model).unwrap();
            object.set_str("model", &route.upstream_model);
            object.to_vec()
        })
    });
    g.bench_function(
        "full_request_prep_1k (rewrite + adapter + upstream request)",
        |b| {
            b.iter(|| {
                let mut object = RawObject::parse(black_box(&body)).unwrap();
                let model = object.get_str("model").unwrap().unwrap();
                let route = resolve(&ctx, &model).unwrap();
                object.set_str("model", &route.upstream_model);
                let p = route.provider;
                let forge_server::proxy::family::ProviderFamily::OpenAi(info) = &p.family else {
                    unreachable!("the bench provider is OpenAI-compatible")
                };
                let adapter = OpenAiAdapter::new(info, p.base_url.as_deref(), &p.api_key).unwrap();
                adapter.passthrough(Endpoint::ChatCompletions, Bytes::from(object.to_vec()))
            })
        },
    );
    g.finish();
}

/// A realistic middle chunk of an OpenAI stream, as one upstream read.
fn middle_event() -> Vec<u8> {
    chat_chunk_event("gpt-4o-mini", 5, 20).into_bytes()
}

fn sse_relay(c: &mut Criterion) {
    let event = middle_event();
    let mut g = c.benchmark_group("sse_relay");
    g.throughput(Throughput::Elements(1));
    g.bench_function("event_framer_per_chunk (whole event per read)", |b| {
        let mut framer = EventFramer::default();
        b.iter(|| framer.push(black_box(&event)))
    });
    let (head, tail) = event.split_at(event.len() / 2);
    g.bench_function("event_framer_per_chunk (event split over two reads)", |b| {
        let mut framer = EventFramer::default();
        b.iter(|| {
            let none = framer.push(black_box(head));
            (none, framer.push(black_box(tail)))
        })
    });
    let stream: Vec<u8> = (0..20)
        .flat_map(|i| chat_chunk_event("gpt-4o-mini", i, 20).into_bytes())
        .chain(DONE_EVENT.bytes())
        .collect();
    g.throughput(Throughput::Elements(21));
    g.bench_function("event_framer_whole_stream_one_read (21 events)", |b| {
        b.iter(|| {
            let mut framer = EventFramer::default();
            (framer.push(black_box(&stream)), framer.done_seen())
        })
    });
    g.finish();
}

fn stream_translation(c: &mut Criterion) {
    let event = middle_event();
    let adapter = OpenAiAdapter::new(
        &forge_provider_openai::lookup("openai"),
        None,
        "sk-bench-0123456789",
    )
    .unwrap();
    let mut g = c.benchmark_group("stream_translation");
    g.throughput(Throughput::Elements(1));
    g.bench_function("openai_chunk_parse (SSE + JSON -> canonical)", |b| {
        let mut parser = SseParser::new();
        let mut events: Vec<SseEvent> = Vec::with_capacity(2);
        b.iter(|| {
            events.clear();
            parser.push(black_box(&event), &mut events);
            events
                .iter()
                .map(|ev| adapter.parse_stream_event(ev).unwrap().len())
                .sum::<usize>()
        })
    });
    g.bench_function(
        "openai_chunk_roundtrip (-> canonical -> chunk -> SSE)",
        |b| {
            let mut parser = SseParser::new();
            let mut renderer = ChunkRenderer::new();
            let mut events: Vec<SseEvent> = Vec::with_capacity(2);
            b.iter(|| {
                events.clear();
                parser.push(black_box(&event), &mut events);
                let mut out = Vec::new();
                for ev in &events {
                    for canonical in adapter.parse_stream_event(ev).unwrap() {
                        if let Some(chunk) = renderer.render(&canonical) {
                            let json = serde_json::to_string(&chunk).unwrap();
                            out.push(encode_event(None, &json));
                        }
                    }
                }
                out
            })
        },
    );
    g.finish();
}

const ANTHROPIC_START: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",",
    "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-bench\",\"content\":[],",
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":182,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,",
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
);
const ANTHROPIC_DELTA: &str = concat!(
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,",
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"word5 \"}}\n\n"
);

/// Both directions of the Anthropic translation, per text chunk, each with its stream already
/// started (the per-stream opening events are set up once, outside the timed loop).
fn anthropic_translation(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream_translation");
    g.throughput(Throughput::Elements(1));
    let event = middle_event();
    let adapter = OpenAiAdapter::new(
        &forge_provider_openai::lookup("openai"),
        None,
        "sk-bench-0123456789",
    )
    .unwrap();
    g.bench_function(
        "openai_to_anthropic_chunk (SSE -> canonical -> Anthropic SSE)",
        |b| {
            let mut parser = SseParser::new();
            let mut encoder = StreamEncoder::new("claude-bench");
            let mut opening = Vec::new();
            parser.push(
                chat_chunk_event("gpt-4o-mini", 0, 20).as_bytes(),
                &mut opening,
            );
            for ev in &opening {
                for canonical in adapter.parse_stream_event(ev).unwrap() {
                    encoder.push(&canonical);
                }
            }
            let mut events: Vec<SseEvent> = Vec::with_capacity(2);
            b.iter(|| {
                events.clear();
                parser.push(black_box(&event), &mut events);
                let mut wire = Vec::new();
                for ev in &events {
                    for canonical in adapter.parse_stream_event(ev).unwrap() {
                        wire.extend(encoder.push(&canonical));
                    }
                }
                encode_sse(&wire)
            })
        },
    );
    g.bench_function(
        "anthropic_to_openai_chunk (SSE -> canonical -> OpenAI SSE)",
        |b| {
            let mut parser = SseParser::new();
            let mut decoder = StreamDecoder::with_created(1_700_000_000);
            let mut renderer = ChunkRenderer::new();
            let mut opening = Vec::new();
            parser.push(ANTHROPIC_START.as_bytes(), &mut opening);
            for ev in &opening {
                for canonical in decoder.push(ev).unwrap() {
                    renderer.render(&canonical);
                }
            }
            assert!(renderer.started());
            let mut events: Vec<SseEvent> = Vec::with_capacity(2);
            b.iter(|| {
                events.clear();
                parser.push(black_box(ANTHROPIC_DELTA.as_bytes()), &mut events);
                let mut out = Vec::new();
                for ev in &events {
                    for canonical in decoder.push(ev).unwrap() {
                        if let Some(chunk) = renderer.render(&canonical) {
                            let json = serde_json::to_string(&chunk).unwrap();
                            out.push(encode_event(None, &json));
                        }
                    }
                }
                assert_eq!(out.len(), 1);
                out
            })
        },
    );
    g.finish();
}

criterion_group!(
    benches,
    key_lookup,
    request_rewrite,
    sse_relay,
    stream_translation,
    anthropic_translation
);
criterion_main!(benches);
