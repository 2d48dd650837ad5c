//! The gateway call (a contract, issue 21): POST JSON `{"to", "text"}` (with `sender`
//! when configured) and `Authorization: Bearer <token>`, within the timeout. Any
//! non-2xx is a failure. A connection error is tried again `connect_retries` times; an
//! answer, whatever it is, never is (the message may have gone).

use std::time::Duration;

use crate::config::SmsGateway;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the gateway answered {0}")]
    Status(u16),
    #[error("the gateway did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the gateway could not be reached: {0}")]
    Unreachable(String),
}

pub async fn send(
    http: &reqwest::Client,
    gateway: &SmsGateway,
    sender: Option<&str>,
    timeout: Duration,
    to: &str,
    text: &str,
) -> Result<(), SendError> {
    let (url, token, retries) = match gateway {
        SmsGateway::Log => {
            // Development only (configured explicitly): the code is in the text.
            tracing::warn!(to, text, "sms_otp gateway = \"log\": message not sent");
            return Ok(());
        }
        SmsGateway::Http {
            url,
            token,
            connect_retries,
        } => (url, token, *connect_retries),
    };
    let mut body = serde_json::json!({ "to": to, "text": text });
    if let Some(sender) = sender {
        body["sender"] = sender.into();
    }
    let mut tries = 0;
    loop {
        let answer = http
            .post(url.clone())
            .bearer_auth(token.expose())
            .timeout(timeout)
            .json(&body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => return Err(SendError::Status(r.status().as_u16())),
            Err(e) if e.is_connect() && tries < retries => tries += 1,
            Err(e) if e.is_timeout() => return Err(SendError::Timeout(timeout)),
            Err(e) => return Err(SendError::Unreachable(e.without_url().to_string())),
        }
    }
}
