//! Connection and request limits (issue 22, finding 3): slow or idle clients are cut
//! off on time and cannot hold the slots that real requests need.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Reads until the server closes the connection; what it sent, and when it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&seen).into_owned(),
        started.elapsed(),
    )
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test]
async fn rfc9112_9_5_slowloris_partial_headers_are_cut_at_header_read_timeout() {
    let server = TestServer::start_with("[server]\nheader_read_timeout = \"2s\"\n").await;
    let mut slow = connect(&server).await;
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();

    // Meanwhile the server answers others, on fresh connections each time.
    for _ in 0..3 {
        let r = reqwest::Client::new()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(6)).await;
    let elapsed = started.elapsed();
    assert!(answer.is_empty(), "no answer to half a request: {answer}");
    assert!(
        elapsed >= Duration::from_millis(1800) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}, configured 2 s"
    );
    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn rfc9112_9_5_idle_keep_alive_connection_is_closed_at_idle_timeout() {
    let server =
        TestServer::start_with("[server]\nheader_read_timeout = \"1s\"\nidle_timeout = \"3s\"\n")
            .await;
    let mut conn = connect(&server).await;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The answer arrives, and the connection then stays open, idle, for the idle
    // timeout: longer than the header timeout, which only runs once a request begins.
    let (answer, elapsed) = read_until_closed(&mut conn, Duration::from_secs(8)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_secs(6),
        "idle connection closed after {elapsed:?}, configured 3 s"
    );
    server.stop().await;
}

#[tokio::test]
async fn rfc9112_9_5_connections_beyond_max_connections_wait_for_a_slot() {
    let server =
        TestServer::start_with("[server]\nheader_read_timeout = \"2s\"\nmax_connections = 1\n")
            .await;
    // Holds the only slot, saying nothing, until the header deadline frees it.
    let _silent = connect(&server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500),
        "served after {waited:?}, before the only slot was free"
    );
    server.stop().await;
}

#[tokio::test]
async fn rfc9110_15_5_9_request_body_not_sent_within_request_timeout_answers_408_and_closes() {
    let server = TestServer::start_with("[server]\nrequest_timeout = \"1s\"\n").await;
    let mut conn = connect(&server).await;
    // Headers complete, body promised but trickled: the request deadline applies.
    conn.write_all(
        b"POST /token HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
          grant_type=",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut conn, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(started.elapsed() >= Duration::from_millis(800));
    // The server goes on answering.
    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}
