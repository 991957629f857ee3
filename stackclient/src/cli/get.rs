//! `stackclient get URL [-o FILE]`: an HTTP/1.1 GET with hyper over the userspace stack's
//! `TcpStream`, to stdout or a file, with a progress bar when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use reqwest::Url;
use stackclient::runtime::TcpStream;

use super::{Global, Up, bring_up, run_until};

/// How long a connection may take to establish.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `get`'s options.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The URL, e.g. http://192.168.10.1:8000/file or http://name.test/ (names through DNS).
    pub url: String,
    /// Write the body to this file instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Where a URL points: the host (an address, or a name to resolve), the port, the `Host`
/// header and the request target.
#[derive(Debug, PartialEq)]
struct Target {
    host: Result<IpAddr, String>,
    port: u16,
    host_header: String,
    path: String,
}

/// Parses an http:// URL.
fn target(url: &str) -> anyhow::Result<Target> {
    let u = Url::parse(url).map_err(|e| anyhow::anyhow!("bad URL {url:?}: {e}"))?;
    match u.scheme() {
        "http" => {}
        "https" => bail!("bad URL {url:?}: https is not supported (no TLS yet); use http://"),
        s => bail!("bad URL {url:?}: scheme {s:?}; only http:// is supported"),
    }
    let host = match u.host() {
        Some(url::Host::Ipv4(a)) => Ok(a.into()),
        Some(url::Host::Ipv6(a)) => Ok(a.into()),
        Some(url::Host::Domain(d)) => Err(d.to_string()),
        None => bail!("bad URL {url:?}: no host"),
    };
    let port = u.port().unwrap_or(80);
    let host_header = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    };
    let mut path = u.path().to_string();
    if let Some(q) = u.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(Target {
        host,
        port,
        host_header,
        path,
    })
}

/// Runs `get`.
pub async fn run(g: &Global, a: &GetArgs) -> anyhow::Result<()> {
    let t = target(&a.url)?;
    if let Err(name) = &t.host {
        g.check_resolvable(name)?;
    }
    let out: Box<dyn Write + Send> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut up = bring_up(g).await?;
    let result = fetch(&mut up, a, t, out).await;
    up.finish().await;
    result
}

async fn fetch(
    up: &mut Up,
    a: &GetArgs,
    t: Target,
    mut out: Box<dyn Write + Send>,
) -> anyhow::Result<()> {
    let ip = match &t.host {
        Ok(ip) => *ip,
        Err(name) => up.lookup_host(name).await?,
    };
    let server = SocketAddr::new(ip, t.port);
    let (host, path) = (t.host_header, t.path);
    let stack = up.stack.clone();
    let url = a.url.clone();
    let done = run_until(up, async move {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&stack, server))
            .await
        {
            Err(_) => bail!(
                "connecting to {server}: no answer in {} s (is the host up and on a network we \
                 reach?)",
                CONNECT_TIMEOUT.as_secs()
            ),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                bail!("connecting to {server}: connection refused (nothing listens on that port)")
            }
            Ok(Err(e)) => bail!("connecting to {server}: {e}"),
            Ok(Ok(s)) => s,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("HTTP connection: {e}");
            }
        });
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, host)
            .header(
                hyper::header::USER_AGENT,
                concat!("stackclient/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .context("building the request")?;
        let resp = sender
            .send_request(req)
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let length = resp
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let bar = progress_bar(length);
        let mut body = resp.into_body();
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.with_context(|| format!("reading the body of {url}"))?;
            if let Some(data) = frame.data_ref() {
                out.write_all(data).context("writing the body")?;
                total += data.len() as u64;
                if let Some(b) = &bar {
                    b.set_position(total);
                }
            }
        }
        out.flush().context("writing the body")?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        if !status.is_success() {
            bail!("{url}: the server answered {status}");
        }
        tracing::info!("{url}: {status}, {total} bytes");
        Ok(())
    })
    .await?;
    if done.is_none() {
        bail!("interrupted");
    }
    Ok(())
}

/// A bar (known length) or a byte counter, only when stderr is a terminal.
fn progress_bar(length: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match length {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .ok()?,
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}").ok()?,
        ),
    };
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_http_and_give_an_address_or_a_name() {
        let t = target("http://10.0.0.1:8000/a/b?c=d").unwrap();
        assert_eq!((t.host, t.port), (Ok("10.0.0.1".parse().unwrap()), 8000));
        assert_eq!(t.host_header, "10.0.0.1:8000");
        assert_eq!(t.path, "/a/b?c=d");
        let t = target("http://[fd00::1]").unwrap();
        assert_eq!((t.host, t.port), (Ok("fd00::1".parse().unwrap()), 80));
        assert_eq!(
            (t.host_header.as_str(), t.path.as_str()),
            ("[fd00::1]", "/")
        );
        let t = target("http://www.example.test:8080/x").unwrap();
        assert_eq!(t.host, Err("www.example.test".to_string()));
        assert_eq!(t.host_header, "www.example.test:8080");
        for (bad, why) in [
            ("https://10.0.0.1/", "https is not supported"),
            ("10.0.0.1/x", "bad URL"),
            ("ftp://10.0.0.1/", "only http://"),
        ] {
            let e = target(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
