//! The load generator's HTTP/1.1 client: one keep-alive connection per worker, a tiny
//! cookie jar, nothing else. Raw hyper, so that the client costs as little CPU as it can
//! on a machine it shares with the server: the connection is driven in the worker's own
//! task (no connection task, no channel and wake-up between two tasks per request).

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;

pub struct Response {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }
}

type Io = TokioIo<tokio::net::TcpStream>;

pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    connection: Connection<Io, Full<Bytes>>,
    host: String,
    pub cookies: BTreeMap<String, String>,
}

impl Conn {
    pub async fn open(addr: &str) -> Conn {
        Self::open_checked(addr).await.expect("connect")
    }

    pub async fn open_checked(addr: &str) -> Option<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        Some(Conn {
            sender,
            connection,
            host: addr.to_owned(),
            cookies: BTreeMap::new(),
        })
    }

    /// One request; `path` may be absolute (its path and query are used). Cookies go
    /// out and come back through the jar.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Response, String> {
        let path = match path.find("://") {
            Some(i) => {
                &path[path[i + 3..]
                    .find('/')
                    .map(|j| i + 3 + j)
                    .unwrap_or(path.len())..]
            }
            None => path,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let has_body = body.is_some();
        if has_body {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        drive(&mut self.connection, self.sender.ready())
            .await?
            .map_err(|e| e.to_string())?;
        let response = drive(&mut self.connection, self.sender.send_request(req))
            .await?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        for v in response.headers().get_all(header::SET_COOKIE) {
            if let Some((pair, _)) = v
                .to_str()
                .unwrap_or_default()
                .split_once(';')
                .or(Some((v.to_str().unwrap_or_default(), "")))
            {
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() {
                        self.cookies.remove(k.trim());
                    } else {
                        self.cookies.insert(k.trim().to_owned(), v.to_owned());
                    }
                }
            }
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = drive(&mut self.connection, response.into_body().collect())
            .await?
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Response {
            status,
            location,
            body,
        })
    }

    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
        self.send(Method::GET, path, headers, None).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Response, String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(Method::POST, path, headers, Some(body)).await
    }
}

/// Runs `step` while polling the connection that carries it.
async fn drive<F: Future>(
    connection: &mut Connection<Io, Full<Bytes>>,
    step: F,
) -> Result<F::Output, String> {
    tokio::select! {
        biased;
        done = step => Ok(done),
        closed = connection => Err(format!("connection closed: {closed:?}")),
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The value of a query parameter in a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of a hidden form input.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
