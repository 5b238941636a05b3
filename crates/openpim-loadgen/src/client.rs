//! One keep-alive HTTP/1.1 connection (hyper's low-level client), reconnected after a failure.
//! Each load worker owns one, so the connection count is exactly the worker count.

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request the workers send: method, path-and-query, headers, body.
#[derive(Clone, Debug)]
pub struct Plan {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

pub struct Conn {
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// Splits `http://host:port/path?q` into the authority and the path-and-query.
pub fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let uri: Uri = url.parse().with_context(|| format!("'{url}' is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(anyhow!("'{url}': only http:// URLs are supported"));
    }
    let authority = uri.authority().ok_or_else(|| anyhow!("'{url}' has no host"))?.to_string();
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    Ok((authority, path))
}

impl Conn {
    pub fn new(authority: &str) -> Self {
        Self { authority: authority.to_string(), sender: None }
    }

    async fn connect(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let stale = match &self.sender {
            Some(s) => s.is_closed(),
            None => true,
        };
        if stale {
            let stream = TcpStream::connect(&self.authority)
                .await
                .with_context(|| format!("connecting to {}", self.authority))?;
            // Small requests and responses: waiting for Nagle would add latency, not throughput.
            stream.set_nodelay(true)?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected just above"))
    }

    /// Sends one request and reads the whole response. On a transport error the connection is
    /// dropped, and the next call opens a new one.
    pub async fn send(&mut self, plan: &Plan) -> anyhow::Result<Reply> {
        let authority = self.authority.clone();
        let result = async {
            let sender = self.connect().await?;
            sender.ready().await?;
            let mut req = Request::builder().method(plan.method.clone()).uri(&plan.path).header("host", authority);
            for (k, v) in &plan.headers {
                req = req.header(k, v);
            }
            if plan.body.is_some() {
                req = req.header("content-type", "application/json");
            }
            let req = req.body(Full::new(plan.body.clone().unwrap_or_default()))?;
            let resp = sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, anyhow::Error>(Reply { status, body })
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (a, p) = split_url("http://127.0.0.1:8080/v1.0/openpim/accessCheck?action=x").unwrap();
        assert_eq!(a, "127.0.0.1:8080");
        assert_eq!(p, "/v1.0/openpim/accessCheck?action=x");
        assert_eq!(split_url("http://localhost:1").unwrap().1, "/");
        assert!(split_url("https://x/").is_err());
        assert!(split_url("not a url").is_err());
    }
}
