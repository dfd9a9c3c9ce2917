//! What the server says when it starts: the exposure warning and LAN URLs
//! on stderr, the one stdout line, and `--open`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use super::Origin;
use crate::log;
use crate::settings::{DEFAULT_DIR, DirChoice};

/// Everything said at startup, in order: notes on stderr first, so a
/// script that waits for the stdout line has them all. The stdout line
/// names the first listener; the others follow it on stderr, and so does
/// how the folder was chosen when no DIR was given.
pub fn announce(addrs: &[SocketAddr], origin: Origin, root: &Path, choice: DirChoice, open: bool) {
    let Some(&first) = addrs.first() else {
        return;
    };
    for addr in addrs {
        if !addr.ip().is_loopback() {
            log::note_now(format_args!(
                "warning: {} is not a loopback address: anyone who can reach this machine \
                 can read {} (ferry has no TLS and no authentication)",
                addr.ip(),
                root.display()
            ));
            break;
        }
    }
    if origin == Origin::Inherited {
        log::note_now(format_args!(
            "serving on {} socket{} passed by the supervisor",
            addrs.len(),
            if addrs.len() == 1 { "" } else { "s" }
        ));
    }
    for addr in addrs {
        if addr.ip().is_unspecified() {
            print_lan_urls(*addr);
        }
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ferry: serving {} at {}",
            root.display(),
            url_for(first)
        );
        let _ = out.flush();
    }
    if choice == DirChoice::Static {
        log::note_now(format_args!(
            "no DIR given and {DEFAULT_DIR} is a folder: serving it \
             (`ferry .` serves the current folder)"
        ));
    }
    for addr in &addrs[1..] {
        log::note_now(format_args!("also listening at {}", url_for(*addr)));
    }
    if open {
        open_browser(first);
    }
}

/// Bound to every address: list where a phone on the LAN can connect (on
/// stderr, so stdout keeps its one line).
fn print_lan_urls(local: SocketAddr) {
    let Ok(ifaces) = if_addrs::get_if_addrs() else {
        return;
    };
    for iface in ifaces {
        let ip = iface.ip();
        let link_local =
            matches!(ip, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
        if ip.is_loopback() || link_local || ip.is_ipv4() != local.is_ipv4() {
            continue;
        }
        log::note_now(format_args!(
            "also at {}",
            url_for(SocketAddr::new(ip, local.port()))
        ));
    }
}

pub fn url_for(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("http://{}:{}/", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("http://[{}]:{}/", a.ip(), a.port()),
    }
}

/// `--open`: hand the URL to the desktop's launcher; no launcher is not an
/// error. The child is reaped on a thread so it leaves no zombie.
fn open_browser(local: SocketAddr) {
    let ip = match local.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = url_for(SocketAddr::new(ip, local.port()));
    let spawned = std::process::Command::new("xdg-open")
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let _ = std::thread::Builder::new()
                .name("ferry-open".into())
                .spawn(move || child.wait());
        }
        Err(_) => log::note(format_args!(
            "--open: no browser launcher (xdg-open) found; open {url} yourself"
        )),
    }
}
