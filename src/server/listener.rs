//! The listening sockets: inherited from a supervisor (socket activation:
//! `LISTEN_FDS`/`LISTEN_PID`, as systemd passes them), or bound from
//! `--bind` (repeatable; a host name resolves to all its addresses; `::`
//! is dual-stack unless an IPv4 address is bound too). With `--port 0`
//! every listener takes the port the first one got.
//!
//! Each socket is shared by all workers: every worker's epoll set holds it
//! with `EPOLLEXCLUSIVE`, so one worker wakes per connection (see
//! `worker`). `TCP_NODELAY` is set on the listener, which accepted
//! sockets inherit, so a connection costs no `setsockopt`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::StartError;

/// Listen backlog: room for a burst of connects while workers are busy.
const BACKLOG: i32 = 1024;

/// A listening socket and the address it is bound to.
pub struct Listener {
    pub socket: TcpListener,
    pub addr: SocketAddr,
    /// Where a client on this machine reaches it: `addr`, or for a
    /// wildcard the loopback address of a family it takes.
    pub local: SocketAddr,
}

/// Where the listeners came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Bound,
    /// Passed by a supervisor (socket activation).
    Inherited,
}

/// The listeners to serve on: the supervisor's, if it passed any, else
/// the `--bind` addresses at `port`.
pub fn open(
    binds: &[String],
    port: u16,
    reuse_port: bool,
) -> Result<(Vec<Listener>, Origin), StartError> {
    let inherited = inherit()?;
    if !inherited.is_empty() {
        return Ok((inherited, Origin::Inherited));
    }
    let addrs = resolve(binds, port)?;
    // `::` serves IPv4 too, unless an IPv4 address is bound beside it
    // (the two would collide on the port).
    let dual_stack = !addrs.iter().any(SocketAddr::is_ipv4);
    let mut listeners: Vec<Listener> = Vec::with_capacity(addrs.len());
    for mut addr in addrs {
        if let (0, Some(first)) = (addr.port(), listeners.first()) {
            addr.set_port(first.addr.port());
        }
        let socket = bind(addr, reuse_port, dual_stack)?;
        let addr = socket
            .local_addr()
            .map_err(|e| StartError::Io("cannot read the bound address", e))?;
        let local = local_addr(&socket, addr);
        listeners.push(Listener {
            socket,
            addr,
            local,
        });
    }
    Ok((listeners, Origin::Bound))
}

/// The sockets a supervisor passed (none when not socket-activated).
/// As systemd's `sd_listen_fds`, only when `LISTEN_PID` names this
/// process: `LISTEN_FDS` alone (left in the environment by a parent, or
/// set by hand) passes nothing. `listenfd` takes the descriptors over
/// safely; each must be a listening TCP socket.
fn inherit() -> Result<Vec<Listener>, StartError> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return Ok(Vec::new());
    }
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Vec::new();
    for i in 0..fds.len() {
        let err = |e| StartError::Io("cannot use a socket passed by the supervisor", e);
        let Some(socket) = fds.take_tcp_listener(i).map_err(err)? else {
            continue;
        };
        if !rustix::net::sockopt::socket_acceptconn(&socket).map_err(|e| err(e.into()))? {
            return Err(StartError::NotListening(3 + i));
        }
        let socket = prepare(socket).map_err(err)?;
        let addr = socket.local_addr().map_err(err)?;
        let local = local_addr(&socket, addr);
        out.push(Listener {
            socket,
            addr,
            local,
        });
    }
    Ok(out)
}

/// The address a client on this machine connects to: a wildcard's
/// loopback (`0.0.0.0` → `127.0.0.1`; `::` → `127.0.0.1` when it takes
/// IPv4 too, which works wherever IPv4 does, else `::1`), any other
/// address itself.
fn local_addr(socket: &TcpListener, addr: SocketAddr) -> SocketAddr {
    let ip: IpAddr = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        IpAddr::V6(v6) if v6.is_unspecified() => {
            // An inherited socket may be either: ask it.
            if SockRef::from(socket).only_v6().unwrap_or(true) {
                Ipv6Addr::LOCALHOST.into()
            } else {
                Ipv4Addr::LOCALHOST.into()
            }
        }
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// `--bind` values to socket addresses: IP addresses as they are, host
/// names to every address they resolve to, without repeats.
fn resolve(binds: &[String], port: u16) -> Result<Vec<SocketAddr>, StartError> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for host in binds {
        let found: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| StartError::Resolve(host.clone(), e))?
                .collect(),
        };
        if found.is_empty() {
            return Err(StartError::Resolve(
                host.clone(),
                std::io::ErrorKind::NotFound.into(),
            ));
        }
        for addr in found {
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    Ok(out)
}

/// Binds one listener (SO_REUSEADDR; SO_REUSEPORT with `--reuse-port`).
fn bind(addr: SocketAddr, reuse_port: bool, dual_stack: bool) -> Result<TcpListener, StartError> {
    let err = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            StartError::AddrInUse(addr)
        } else {
            StartError::Bind(addr, e)
        }
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    socket.set_reuse_address(true).map_err(err)?;
    if reuse_port {
        rustix::net::sockopt::set_socket_reuseport(&socket, true).map_err(|e| err(e.into()))?;
    }
    if addr.is_ipv6() {
        let wildcard = addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        socket.set_only_v6(!(wildcard && dual_stack)).map_err(err)?;
    }
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(BACKLOG).map_err(err)?;
    prepare(socket.into()).map_err(err)
}

/// Nonblocking, with the options accepted sockets inherit.
fn prepare(socket: TcpListener) -> std::io::Result<TcpListener> {
    socket.set_nonblocking(true)?;
    rustix::net::sockopt::set_tcp_nodelay(&socket, true)?;
    Ok(socket)
}

/// Raises the open-file soft limit to the hard limit: each connection is a
/// descriptor, and the default soft limit (often 1024) is far below
/// --max-connections.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}
