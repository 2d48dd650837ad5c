//! The load harness: `cargo bench --bench load`.
//!
//! Starts Portico on SQLite, Portico on PostgreSQL and the `oidc-provider` peer in memory
//! and on PostgreSQL (each a separate process), drives every workload over keep-alive
//! connections for a fixed time, and reports throughput, p50/p99 latency, errors, the
//! server's CPU time (and PostgreSQL's) and memory, and the ratios to the peer.
//! Settings (environment): `BENCH_SECONDS` (10), `BENCH_WARMUP` (2), `BENCH_CONNECTIONS`
//! (64), `BENCH_TARGETS` (`sqlite,postgres,peer,peer-pg`), `BENCH_WORKLOADS` (a substring
//! filter),
//! `PORTICO_BENCH_POSTGRES_URL` (`postgres://postgres@127.0.0.1:5432/postgres`).

mod client;
mod targets;
mod workloads;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use targets::{Target, cpu_seconds, memory_mib, postgres_cpu_seconds};
use workloads::{Worker, Workload};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct Measured {
    target: String,
    workload: Workload,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    first_error: Option<String>,
    cpu_seconds: f64,
    /// CPU of the PostgreSQL server processes meanwhile (PostgreSQL target only).
    database_cpu_seconds: Option<f64>,
    rss_mib: f64,
    /// Lowest and highest resident memory sampled during the measured time.
    rss_range: (f64, f64),
    /// The first and last samples: their difference is the trend.
    rss_first_last: (f64, f64),
    /// Password login only: what argon2id alone allows, measured just before and just
    /// after the login workload (the machine is shared, and drifts within minutes).
    argon2_ceiling: Option<(f64, f64)>,
}

async fn measure(
    t: &Arc<Target>,
    w: Workload,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Measured {
    let mut setups = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let t = t.clone();
        setups.spawn(async move { Worker::setup(&t, w).await });
    }
    let mut workers = Vec::new();
    while let Some(r) = setups.join_next().await {
        match r.unwrap() {
            Ok(worker) => workers.push(worker),
            Err(e) => panic!("{} {}: setup failed: {e}", t.name, w.name()),
        }
    }
    let pid = t.child.id();
    let start = Instant::now() + warmup;
    let end = start + duration;
    let on_postgres = t.name.contains("PostgreSQL");
    let database_cpu = move || on_postgres.then(postgres_cpu_seconds);
    // Read once, by the first operation of the measured time (an atomic check after).
    let cpu_at_start = Arc::new(std::sync::OnceLock::<(f64, Option<f64>)>::new());
    let mut runs = tokio::task::JoinSet::new();
    for mut worker in workers {
        let cpu_at_start = cpu_at_start.clone();
        let t = t.clone();
        runs.spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let result = worker.run(&t, w).await;
                if began >= start {
                    cpu_at_start.get_or_init(|| (cpu_seconds(pid), database_cpu()));
                    match result {
                        Ok(()) => hist.saturating_record(began.elapsed().as_micros() as u64),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                } else if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (hist, errors, first_error)
        });
    }
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let mut range = (f64::MAX, 0.0f64);
        let mut samples = Vec::new();
        while Instant::now() < end {
            let rss = memory_mib(pid).0;
            samples.push(rss);
            range = (range.0.min(rss), range.1.max(rss));
            tokio::time::sleep(
                Duration::from_secs(5).min(end.saturating_duration_since(Instant::now())),
            )
            .await;
        }
        (
            range,
            samples.first().copied().unwrap_or(0.0),
            samples.last().copied().unwrap_or(0.0),
        )
    });
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut errors, mut first_error) = (0, None);
    while let Some(r) = runs.join_next().await {
        let (h, e, f) = r.unwrap();
        hist.add(h).unwrap();
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let (rss_range, first, last) = sampler.await.unwrap_or(((0.0, 0.0), 0.0, 0.0));
    let (cpu_start, database_cpu_start) = cpu_at_start.get().copied().unwrap_or((0.0, None));
    let cpu = cpu_seconds(pid) - cpu_start;
    let database_cpu_seconds = database_cpu()
        .zip(database_cpu_start)
        .map(|(end, start)| end - start);
    let elapsed = duration.as_secs_f64();
    Measured {
        target: t.name.clone(),
        workload: w,
        ops_per_sec: hist.len() as f64 / elapsed,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
        errors,
        first_error,
        cpu_seconds: cpu,
        database_cpu_seconds,
        rss_mib: memory_mib(pid).0,
        rss_range,
        rss_first_last: (first, last),
        argon2_ceiling: None,
    }
}

/// What argon2id at the configured cost allows on this machine: every core verifying.
async fn argon2_ceiling(duration: Duration) -> f64 {
    let config = portico::config::Config::from_parts("", &[])
        .unwrap()
        .password;
    let pool = portico::crypto::password::PasswordHasherPool::new(&config).unwrap();
    let hash = pool
        .hash(&portico::secret::Secret::new(targets::PASSWORD))
        .await
        .unwrap();
    let end = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..config.max_concurrent_hashes * 2 {
        let (pool, hash) = (pool.clone(), hash.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < end {
                assert!(
                    pool.verify(
                        &portico::secret::Secret::new(targets::PASSWORD),
                        Some(&hash)
                    )
                    .await
                    .unwrap()
                );
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap();
    }
    total as f64 / duration.as_secs_f64()
}

async fn create_postgres_database(admin: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!(
        "portico_bench_{}",
        &portico::ids::new_uuid().replace('-', "")[..12]
    );
    let mut c = sqlx::PgConnection::connect(admin)
        .await
        .expect("PORTICO_BENCH_POSTGRES_URL connects");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&name);
    // Both servers reach the database the same way: in the clear over loopback (Portico
    // would otherwise negotiate TLS, which node-postgres does not by default).
    if !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    (url.to_string(), name)
}

async fn drop_postgres_database(admin: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await;
    }
}

fn peer_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer")
}

fn ensure_peer_installed() -> bool {
    let dir = peer_dir();
    if ["oidc-provider", "pg"]
        .iter()
        .all(|package| dir.join("node_modules").join(package).exists())
    {
        return true;
    }
    std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let seconds = Duration::from_secs(env("BENCH_SECONDS", 10));
    let warmup = Duration::from_secs(env("BENCH_WARMUP", 2));
    let connections: usize = env("BENCH_CONNECTIONS", 64);
    let targets: String = env("BENCH_TARGETS", "sqlite,postgres,peer,peer-pg".to_owned());
    let filter: String = env("BENCH_WORKLOADS", String::new());
    let admin: String = env(
        "PORTICO_BENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    );
    let workloads: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| w.name().contains(filter.as_str()))
        .collect();

    let mut results: Vec<Measured> = Vec::new();
    let mut idle = Vec::new();
    for name in targets.split(',').map(str::trim) {
        let (target, pg) = match name {
            "sqlite" => (targets::portico("Portico (SQLite)", None).await, None),
            "postgres" => {
                let (url, db) = create_postgres_database(&admin).await;
                (
                    targets::portico("Portico (PostgreSQL)", Some(url)).await,
                    Some(db),
                )
            }
            "peer" => {
                if !ensure_peer_installed() {
                    eprintln!("skipping the peer: `npm ci` in benches/peer failed");
                    continue;
                }
                (targets::peer(&peer_dir(), None).await, None)
            }
            "peer-pg" => {
                if !ensure_peer_installed() {
                    eprintln!("skipping the peer: `npm ci` in benches/peer failed");
                    continue;
                }
                let (url, db) = create_postgres_database(&admin).await;
                (targets::peer(&peer_dir(), Some(url)).await, Some(db))
            }
            other => panic!("unknown target {other}"),
        };
        let target = Arc::new(target);
        tokio::time::sleep(Duration::from_millis(500)).await;
        idle.push((target.name.clone(), memory_mib(target.child.id()).0));
        for w in &workloads {
            if target.kind == targets::Kind::Peer && !w.for_peer() {
                continue;
            }
            let login = *w == Workload::PasswordLogin;
            let before = if login {
                Some(argon2_ceiling(Duration::from_secs(5)).await)
            } else {
                None
            };
            let mut m = measure(&target, *w, connections, warmup, seconds).await;
            if let Some(before) = before {
                m.argon2_ceiling = Some((before, argon2_ceiling(Duration::from_secs(5)).await));
            }
            eprintln!(
                "{:<22} {:<42} {:>9.0}/s p50 {:>7.2} ms p99 {:>7.2} ms errors {} cpu {:.1}s rss {:.0} MiB{}",
                m.target,
                w.name(),
                m.ops_per_sec,
                m.p50_ms,
                m.p99_ms,
                m.errors,
                m.cpu_seconds,
                m.rss_mib,
                m.first_error
                    .as_deref()
                    .map(|e| format!(" first error: {e}"))
                    .unwrap_or_default()
            );
            results.push(m);
        }
        let peak = memory_mib(target.child.id()).1;
        idle.push((format!("{} peak", target.name), peak));
        drop(Arc::try_unwrap(target).ok().expect("workers are done"));
        if let Some(db) = pg {
            drop_postgres_database(&admin, &db).await;
        }
    }
    let report = report(&results, &idle, connections, seconds);
    println!("{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.md"), &report).unwrap();
    let failed = results.iter().any(|m| m.errors > 0);
    if failed {
        eprintln!("errors occurred: see the table");
        std::process::exit(1);
    }
}

fn report(
    results: &[Measured],
    idle: &[(String, f64)],
    connections: usize,
    seconds: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{connections} connections, {}s per workload, {} cores\n",
        seconds.as_secs(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "| server | workload | ops/s | p50 ms | p99 ms | errors | server CPU s | CPU µs/op | database CPU µs/op | RSS MiB: first, last (min-max) | vs peer | vs peer on PostgreSQL |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for m in results {
        let ratio_to = |peer_name: &str| {
            let peer = results
                .iter()
                .find(|p| p.target == peer_name && p.workload == m.workload);
            match peer {
                Some(p) if !m.target.starts_with("oidc-provider") && p.ops_per_sec > 0.0 => {
                    format!("{:.1}x", m.ops_per_sec / p.ops_per_sec)
                }
                _ => String::new(),
            }
        };
        let ratio = ratio_to("oidc-provider");
        let ratio_pg = ratio_to("oidc-provider (PostgreSQL)");
        let per_op = |cpu: f64| {
            if m.ops_per_sec > 0.0 {
                cpu / (m.ops_per_sec * seconds.as_secs_f64()) * 1e6
            } else {
                0.0
            }
        };
        let cpu_per_op = per_op(m.cpu_seconds);
        let database_per_op = m
            .database_cpu_seconds
            .map(|cpu| format!("{:.0}", per_op(cpu)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {:.0} | {} | {:.0}, {:.0} ({:.0}-{:.0}) | {} | {} |",
            m.target,
            m.workload.name(),
            m.ops_per_sec,
            m.p50_ms,
            m.p99_ms,
            m.errors,
            m.cpu_seconds,
            cpu_per_op,
            database_per_op,
            m.rss_first_last.0,
            m.rss_first_last.1,
            m.rss_range.0,
            m.rss_range.1,
            ratio,
            ratio_pg
        );
    }
    let _ = writeln!(out);
    for (name, mib) in idle {
        let _ = writeln!(out, "- memory {name}: {mib:.1} MiB");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    for m in results.iter() {
        let Some((before, after)) = m.argon2_ceiling else {
            continue;
        };
        let c = (before + after) / 2.0;
        let _ = writeln!(
            out,
            "- {}: password login at {:.0}% of the argon2id ceiling, every core hashing ({c:.1} verifications/s: {before:.1} just before, {after:.1} just after)",
            m.target,
            100.0 * m.ops_per_sec / c
        );
        // The database server runs on the same cores: what hashing is left is the share
        // it does not take.
        if let Some(database) = m.database_cpu_seconds {
            let left = 1.0 - database / (cores * seconds.as_secs_f64());
            let _ = writeln!(
                out,
                "  - PostgreSQL took {:.0}% of the cores; of the ceiling on the rest ({:.1}/s): {:.0}%",
                100.0 * (1.0 - left),
                c * left,
                100.0 * m.ops_per_sec / (c * left)
            );
        }
    }
    out
}
