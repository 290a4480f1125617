//! Binding the listeners: both loopback addresses for `localhost`, one address otherwise.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

pub async fn bind(host: &str, port: u16) -> io::Result<Vec<TcpListener>> {
    if host.eq_ignore_ascii_case("localhost") {
        // IPv4 first: with port 0 it picks the port, which IPv6 then reuses so both
        // addresses serve the one advertised endpoint.
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let port = v4.local_addr()?.port();
        let mut listeners = vec![v4];
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
            Ok(v6) => listeners.push(v6),
            Err(err) => tracing::warn!(%err, port, "not listening on ::1; IPv4 only"),
        }
        return Ok(listeners);
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![TcpListener::bind(SocketAddr::new(ip, port)).await?]);
    }
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, format!("{host} did not resolve"));
    for addr in tokio::net::lookup_host((host, port)).await? {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(vec![listener]),
            Err(err) => last_err = err,
        }
    }
    Err(last_err)
}
