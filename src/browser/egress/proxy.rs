//! The HTTP/1.1 proxy itself (hyper): `CONNECT` tunnels and absolute-form `http://`
//! requests, each admitted by [`Shared::admit`] before any byte leaves for the host.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};

use super::admission::{Destination, EGRESS_HEADER, EgressFailure, Refused, Shared};

type Body = BoxBody<Bytes, hyper::Error>;

/// The longest a connection to a host may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Each direction's buffer in a tunnel: tokio's default 8 KiB made a 256 MiB body take
/// 4 times as many system calls (measured with examples/egress_bench.rs: 650 MiB/s).
const TUNNEL_BUFFER: usize = 64 * 1024;
/// The longest the browser may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!("egress proxy: accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .preserve_header_case(true)
                .title_case_headers(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!("egress proxy: connection ended: {e}");
            }
        });
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    if req.method() == Method::CONNECT {
        tunnel(shared, req).await
    } else {
        forward(shared, req).await
    }
}

/// `CONNECT host:port`: admitted, connected, then bytes both ways until either side closes.
async fn tunnel(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let Some(dest) = req
        .uri()
        .authority()
        .and_then(|a| Destination::tunnel(a.as_str()))
    else {
        return answer(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
    };
    let mut server = match connect(shared, &dest).await {
        Ok(stream) => stream,
        Err(refused) => return refusal(shared, &dest, refused),
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let mut client = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut client,
                    &mut server,
                    TUNNEL_BUFFER,
                    TUNNEL_BUFFER,
                )
                .await;
            }
            Err(e) => tracing::debug!("egress proxy: tunnel not upgraded: {e}"),
        }
    });
    Response::new(empty())
}

/// `GET http://host:port/path`: admitted, sent on a new connection in origin form; a
/// `101 Switching Protocols` (a `ws://` WebSocket) becomes a tunnel.
async fn forward(shared: &Shared, mut req: Request<Incoming>) -> Response<Body> {
    let Some(dest) = Destination::request(&req.uri().to_string())
        .filter(|d| d.url.scheme() == "http" || d.url.scheme() == "ws")
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            "the proxy takes absolute http:// requests and CONNECT",
        );
    };
    let server = match connect(shared, &dest).await {
        Ok(stream) => stream,
        Err(refused) => return refusal(shared, &dest, refused),
    };
    let (mut sender, connection) = match hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .title_case_headers(true)
        .handshake(TokioIo::new(server))
        .await
    {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!("egress proxy: {}: {e}", dest.origin());
            return no_answer(shared, &dest);
        }
    };
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!("egress proxy: upstream connection ended: {e}");
        }
    });
    let upgrading = req.headers().contains_key(header::UPGRADE);
    let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut req));
    let origin_form = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .unwrap_or_default();
    *req.uri_mut() = origin_form;
    strip_hop_by_hop(req.headers_mut(), upgrading);
    let mut resp = match sender.send_request(req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!("egress proxy: {}: {e}", dest.origin());
            return no_answer(shared, &dest);
        }
    };
    // Only the proxy's own answers may say why a host was not reached.
    resp.headers_mut().remove(EGRESS_HEADER);
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let server_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(client), Ok(server)) = tokio::join!(client_upgrade, server_upgrade) {
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut TokioIo::new(client),
                    &mut TokioIo::new(server),
                    TUNNEL_BUFFER,
                    TUNNEL_BUFFER,
                )
                .await;
            }
        });
    }
    resp.map(|b| b.boxed())
}

/// Opens a connection to the first of `dest`'s admitted addresses that answers.
async fn connect(shared: &Shared, dest: &Destination) -> Result<TcpStream, Refused> {
    let addrs: Vec<SocketAddr> = shared.admit(dest).await?;
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addrs[..])).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(Refused::Unreachable(e)),
        Err(_) => Err(Refused::Unreachable(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer from {} in {CONNECT_TIMEOUT:?}", dest.origin()),
        ))),
    }
}

/// Headers meant for the proxy or this one connection, not for the site (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut hyper::HeaderMap, upgrading: bool) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .filter(|name| !(upgrading && name == header::UPGRADE))
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        "proxy-connection",
        "proxy-authorization",
        "keep-alive",
        "te",
        "trailer",
    ] {
        headers.remove(name);
    }
    if upgrading {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::CONNECTION);
        headers.remove(header::UPGRADE);
    }
}

/// The proxy's answer when `dest` was not reached: recorded for the tab (a failed
/// `CONNECT` shows the browser nothing but `ERR_TUNNEL_CONNECTION_FAILED`) and said in
/// the [`EGRESS_HEADER`] (an `http://` page is the proxy's own `502`).
fn refusal(shared: &Shared, dest: &Destination, refused: Refused) -> Response<Body> {
    let failure = refused.failure();
    shared.record_failure(dest, failure);
    let resp = match refused {
        Refused::Blocked(kind) => answer(
            StatusCode::FORBIDDEN,
            &format!(
                "gleaner: outside the connector's domains ({})",
                kind.label()
            ),
        ),
        Refused::NotResolved(e) | Refused::Unreachable(e) => {
            tracing::debug!(
                "egress proxy: {} cannot be reached ({}): {e}",
                dest.origin(),
                failure.header_value()
            );
            answer(
                StatusCode::BAD_GATEWAY,
                "gleaner: the host cannot be reached",
            )
        }
    };
    with_reason(resp, failure)
}

/// The site closed the connection without an answer.
fn no_answer(shared: &Shared, dest: &Destination) -> Response<Body> {
    shared.record_failure(dest, EgressFailure::NoAnswer);
    with_reason(
        answer(StatusCode::BAD_GATEWAY, "the site did not answer"),
        EgressFailure::NoAnswer,
    )
}

fn with_reason(mut resp: Response<Body>, failure: EgressFailure) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&failure.header_value()) {
        resp.headers_mut().insert(EGRESS_HEADER, value);
    }
    resp
}

fn answer(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(text.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}
