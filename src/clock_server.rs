//! `headshot clock --listen ADDR`: a full-screen page (phone or laptop) showing the clock code,
//! refreshed several times a second from this process. The time is this machine's clock, the
//! reference every camera is corrected to. The page makes no external request: it fetches
//! `/code.svg` from this server and nothing else.

use std::net::SocketAddr;

use tiny_http::{Header, Request, Response, Server};

use crate::clock_code::{self, ClockReading};

/// The page: the code as large as the screen allows, the time under it.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>headshot clock</title>
<style>
html, body { margin: 0; height: 100%; background: #fff; color: #000; font: 5vmin system-ui, sans-serif; }
body { display: flex; flex-direction: column; align-items: center; justify-content: center; }
#code, #code svg { width: 88vmin; height: 88vmin; }
#time { margin-top: 1vmin; font-variant-numeric: tabular-nums; }
</style></head>
<body><div id="code"></div><div id="time"></div>
<script>
const code = document.getElementById("code"), time = document.getElementById("time");
async function refresh() {
  try {
    const response = await fetch("/code.svg", { cache: "no-store" });
    code.innerHTML = await response.text();
    time.textContent = response.headers.get("X-Headshot-Clock") || "";
  } catch (error) {
    time.textContent = "headshot clock stopped";
  }
  setTimeout(refresh, 100);
}
refresh();
</script></body></html>
"#;

/// Why the clock page cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {message}")]
pub struct ClockServerError {
    pub address: String,
    pub message: String,
}

/// A bound clock page server; [`ClockServer::run`] serves it until the process ends.
pub struct ClockServer {
    server: Server,
}

impl ClockServer {
    /// Binds `address` (e.g. `127.0.0.1:8081`, or `0.0.0.0:8081` for a phone on the network).
    pub fn bind(address: &str) -> Result<Self, ClockServerError> {
        let server = Server::http(address).map_err(|error| ClockServerError {
            address: address.to_string(),
            message: error.to_string(),
        })?;
        Ok(Self { server })
    }

    /// The address it listens on (with the port chosen when `:0` was asked for).
    pub fn address(&self) -> Option<SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// Answers requests one at a time, forever: each is a small page or a small SVG.
    pub fn run(&self) {
        for request in self.server.incoming_requests() {
            answer(request);
        }
    }
}

fn answer(request: Request) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let response = match path.as_str() {
        "/" | "/index.html" => text_response(PAGE.to_string(), "text/html; charset=utf-8"),
        "/code.svg" => {
            let reading = ClockReading::now();
            text_response(clock_code::svg(&reading), "image/svg+xml")
                .with_header(header("X-Headshot-Clock", &reading.display_time()))
        }
        _ => text_response("not found".to_string(), "text/plain")
            .with_status_code(tiny_http::StatusCode(404)),
    };
    // A client that went away is no reason to stop the clock.
    let _ = request.respond(response);
}

fn text_response(body: String, content_type: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values here are plain ASCII")
}
