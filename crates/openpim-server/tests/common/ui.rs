//! The web UI's test browser: keeps cookies, never follows redirects (tests look at each hop),
//! reads CSRF fields and flash messages. Shared by the directory (`ui.rs`) and Azure
//! (`ui_azure.rs`) page tests.

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::time::Duration;

pub struct Browser {
    pub base: String,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The first form's CSRF field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).unwrap_or_else(|| panic!("no csrf field in: {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    /// The text of the page's flash message.
    pub fn flash(&self) -> String {
        let start = self.body.find("class=\"flash").unwrap_or_else(|| panic!("no flash in: {}", self.body));
        let rest = &self.body[start..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest.find("</p>").unwrap();
        rest[open..close].to_string()
    }
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self { base: base.to_string(), http, cookies: HashMap::new() }
    }

    /// A browser signed in with `token`.
    pub async fn signed_in(base: &str, token: &str) -> Self {
        let mut b = Self::new(base);
        b.sign_in(token).await;
        b
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let body = resp.text().await.unwrap();
        Page { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp =
            self.http.get(format!("{}{path}", self.base)).header("Cookie", self.cookie_header()).send().await.unwrap();
        self.finish(resp).await
    }

    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).header("Cookie", self.cookie_header()).form(form);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        self.finish(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[]).await
    }

    /// Posts a form and follows its redirect: the page with the flash message.
    pub async fn submit(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let done = self.post(path, form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{path}: {}", done.body);
        let to = done.location().to_string();
        self.get(&to).await
    }

    /// Signs in with `token` through the form; returns the page after the redirect.
    pub async fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/signin").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        let done = self.post("/signin", &[("csrf", &csrf), ("token", token)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let to = done.location().to_string();
        self.get(&to).await
    }
}
