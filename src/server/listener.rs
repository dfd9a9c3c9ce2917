//! The listening socket, and the descriptor limit it needs.

use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use super::StartError;

/// Listen backlog: room for a burst of connects while workers are busy.
const BACKLOG: i32 = 1024;

/// Binds `addr` (socket2: SO_REUSEADDR, backlog 1024, nonblocking).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
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
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(BACKLOG).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    Ok(socket.into())
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
