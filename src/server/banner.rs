//! What the server says when it starts: the one stdout line, then on
//! stderr the notes (how the folder was chosen, other listeners, the
//! exposure warning with the Local / Network URLs), and `--open`.
//!
//! All of it is written before the workers start, so it comes before any
//! access-log line, and a script that got its first response has it all.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::Origin;
use crate::log;
use crate::settings::{DEFAULT_DIR, DirChoice};

/// A listener as startup describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// Where a client on this machine reaches it (a wildcard's loopback).
    pub local: SocketAddr,
}

/// Everything said at startup, in order. The stdout line names the first
/// listener, by an address that works on this machine (`127.0.0.1` for
/// `0.0.0.0`), so a script can connect to it.
/// `resets`: the listeners share their port (`--reuse-port`) on a kernel
/// that resets connections queued on a listener as it closes (see
/// [`restart_resets`]).
pub fn announce(
    bound: &[Bound],
    origin: Origin,
    root: &Path,
    choice: DirChoice,
    open: bool,
    resets: bool,
) {
    let Some(first) = bound.first() else {
        return;
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ferry: serving {} at {}",
            root.display(),
            url_for(first.local)
        );
        let _ = out.flush();
    }
    let wildcard = bound.iter().any(|b| b.addr.ip().is_unspecified());
    let lan = if wildcard { lan_addrs() } else { Vec::new() };
    let notes = notes(bound, origin, root, choice, &lan, resets);
    // One write: the block stays together.
    let _ = std::io::stderr().write_all(notes.as_bytes());
    if open {
        open_browser(first.local);
    }
}

/// Said with `--reuse-port` when `net.ipv4.tcp_migrate_req` is 0.
const RESETS_NOTE: &str = "ferry: note: net.ipv4.tcp_migrate_req is 0, so when a process \
     sharing this port stops, a connection that arrives just as it closes its listener can be \
     reset; `sysctl net.ipv4.tcp_migrate_req=1` hands such connections to the process that stays";

/// Whether a listener closed while sharing its port would reset the
/// connections queued on it: the sysctl's value (`"0\n"` resets; a
/// missing file, before Linux 5.14, has no migration either).
pub fn restart_resets(migrate_req: Option<&str>) -> bool {
    migrate_req.is_none_or(|v| v.trim() == "0")
}

/// The stderr text after the stdout line; `lan` are this machine's
/// addresses other than loopback and link-local.
fn notes(
    bound: &[Bound],
    origin: Origin,
    root: &Path,
    choice: DirChoice,
    lan: &[IpAddr],
    resets: bool,
) -> String {
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    if choice == DirChoice::Static {
        line(format!(
            "ferry: no DIR given and {DEFAULT_DIR} is a folder: serving it \
             (`ferry .` serves the current folder)"
        ));
    }
    if origin == Origin::Inherited {
        line(format!(
            "ferry: serving on {} socket{} passed by the supervisor",
            bound.len(),
            if bound.len() == 1 { "" } else { "s" }
        ));
    }
    for b in &bound[1..] {
        line(format!("ferry: also listening at {}", url_for(b.local)));
    }
    if resets {
        line(RESETS_NOTE.to_owned());
    }
    let open: Vec<IpAddr> = bound
        .iter()
        .map(|b| b.addr.ip())
        .filter(|ip| !ip.is_loopback())
        .collect();
    if open.is_empty() {
        return text;
    }
    let names: Vec<String> = open.iter().map(IpAddr::to_string).collect();
    let exposure = format!(
        "anyone who can reach this machine can read {} (ferry has no TLS and no authentication)",
        root.display()
    );
    let wildcards: Vec<&Bound> = bound
        .iter()
        .filter(|b| b.addr.ip().is_unspecified())
        .collect();
    if wildcards.is_empty() {
        let (verb, what) = match names.len() {
            1 => ("is", "a loopback address"),
            _ => ("are", "loopback addresses"),
        };
        line(format!(
            "ferry: warning: {} {verb} not {what}: {exposure}",
            names.join(", ")
        ));
        return text;
    }
    line(format!(
        "ferry: warning: listening on all addresses ({}): {exposure}",
        names.join(", ")
    ));
    let mut local: Vec<SocketAddr> = Vec::new();
    for w in &wildcards {
        if !local.contains(&w.local) {
            local.push(w.local);
        }
    }
    let mut network: Vec<SocketAddr> = Vec::new();
    for &ip in lan {
        // The wildcard that takes this family: `0.0.0.0` takes IPv4,
        // `::` IPv6, and IPv4 too when it is dual-stack (its local
        // address is then IPv4).
        let takes = wildcards
            .iter()
            .find(|w| w.addr.is_ipv4() == ip.is_ipv4() || (ip.is_ipv4() && w.local.is_ipv4()));
        if let Some(w) = takes {
            let addr = SocketAddr::new(ip, w.addr.port());
            if !network.contains(&addr) {
                network.push(addr);
            }
        }
    }
    // IPv4 first: the shorter URLs, the ones people type.
    network.sort_by_key(|a| a.is_ipv6());
    block(&mut line, "Local:", &local);
    if network.is_empty() {
        line("  Network: none (no interface but loopback has an address)".to_owned());
    } else {
        block(&mut line, "Network:", &network);
    }
    text
}

/// `  Label:   URL`, then one URL a line, aligned.
fn block(line: &mut impl FnMut(String), label: &str, addrs: &[SocketAddr]) {
    for (i, addr) in addrs.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        line(format!("  {label:<9}{}", url_for(*addr)));
    }
}

/// This machine's addresses a phone on the LAN could use: every
/// interface's, but loopback and link-local (`169.254.0.0/16`,
/// `fe80::/10`: not usable in a URL without a zone).
fn lan_addrs() -> Vec<IpAddr> {
    let Ok(ifaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    ifaces
        .iter()
        .map(if_addrs::Interface::ip)
        .filter(|ip| {
            let link_local = match ip {
                IpAddr::V4(v4) => v4.is_link_local(),
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            };
            !ip.is_loopback() && !ip.is_unspecified() && !link_local
        })
        .collect()
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
    let url = url_for(local);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str, local: &str) -> Bound {
        Bound {
            addr: addr.parse().unwrap(),
            local: local.parse().unwrap(),
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    const ROOT: &str = "/srv/site";
    const EXPOSED: &str = "anyone who can reach this machine can read /srv/site \
                           (ferry has no TLS and no authentication)";

    fn say(bound: &[Bound], choice: DirChoice, lan: &[IpAddr]) -> String {
        notes(bound, Origin::Bound, Path::new(ROOT), choice, lan, false)
    }

    #[test]
    fn sharing_a_port_without_migration_is_noted() {
        assert!(restart_resets(Some("0\n")));
        assert!(restart_resets(None));
        assert!(!restart_resets(Some("1\n")));
        let one = [at("127.0.0.1:8000", "127.0.0.1:8000")];
        let text = notes(
            &one,
            Origin::Bound,
            Path::new(ROOT),
            DirChoice::Given,
            &[],
            true,
        );
        assert_eq!(
            text,
            "ferry: note: net.ipv4.tcp_migrate_req is 0, so when a process sharing this port \
             stops, a connection that arrives just as it closes its listener can be reset; \
             `sysctl net.ipv4.tcp_migrate_req=1` hands such connections to the process that stays\n"
        );
    }

    #[test]
    fn loopback_alone_says_nothing_on_stderr() {
        let one = [at("127.0.0.1:8000", "127.0.0.1:8000")];
        assert_eq!(say(&one, DirChoice::Given, &[]), "");
        assert_eq!(say(&one, DirChoice::Current, &[]), "");
    }

    #[test]
    fn the_default_static_folder_is_named() {
        let one = [at("127.0.0.1:8000", "127.0.0.1:8000")];
        assert_eq!(
            say(&one, DirChoice::Static, &[]),
            "ferry: no DIR given and ./static is a folder: serving it \
             (`ferry .` serves the current folder)\n"
        );
    }

    #[test]
    fn ipv4_wildcard_lists_local_then_the_ipv4_lan_urls() {
        let lan = ips(&["192.168.1.20", "fd00::1", "10.0.0.5"]);
        let text = say(
            &[at("0.0.0.0:8000", "127.0.0.1:8000")],
            DirChoice::Given,
            &lan,
        );
        assert_eq!(
            text,
            format!(
                "ferry: warning: listening on all addresses (0.0.0.0): {EXPOSED}\n\
                 \x20 Local:   http://127.0.0.1:8000/\n\
                 \x20 Network: http://192.168.1.20:8000/\n\
                 \x20          http://10.0.0.5:8000/\n"
            )
        );
    }

    #[test]
    fn dual_stack_wildcard_lists_ipv4_and_ipv6_lan_urls() {
        let lan = ips(&["fd00::1", "192.168.1.20"]);
        let text = say(&[at("[::]:8000", "127.0.0.1:8000")], DirChoice::Given, &lan);
        assert_eq!(
            text,
            format!(
                "ferry: warning: listening on all addresses (::): {EXPOSED}\n\
                 \x20 Local:   http://127.0.0.1:8000/\n\
                 \x20 Network: http://192.168.1.20:8000/\n\
                 \x20          http://[fd00::1]:8000/\n"
            )
        );
    }

    #[test]
    fn ipv6_only_wildcard_beside_ipv4_lists_each_family_once() {
        let lan = ips(&["fd00::1", "192.168.1.20"]);
        let bound = [
            at("0.0.0.0:8000", "127.0.0.1:8000"),
            at("[::]:8000", "[::1]:8000"),
        ];
        assert_eq!(
            say(&bound, DirChoice::Given, &lan),
            format!(
                "ferry: also listening at http://[::1]:8000/\n\
                 ferry: warning: listening on all addresses (0.0.0.0, ::): {EXPOSED}\n\
                 \x20 Local:   http://127.0.0.1:8000/\n\
                 \x20          http://[::1]:8000/\n\
                 \x20 Network: http://192.168.1.20:8000/\n\
                 \x20          http://[fd00::1]:8000/\n"
            )
        );
    }

    #[test]
    fn a_wildcard_without_a_lan_says_so() {
        let text = say(&[at("0.0.0.0:80", "127.0.0.1:80")], DirChoice::Given, &[]);
        assert!(
            text.ends_with(
                "  Local:   http://127.0.0.1:80/\n\
                 \x20 Network: none (no interface but loopback has an address)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_named_non_loopback_address_is_warned_about_without_a_block() {
        let bound = [at("192.168.1.20:8000", "192.168.1.20:8000")];
        assert_eq!(
            say(&bound, DirChoice::Given, &ips(&["192.168.1.20"])),
            format!("ferry: warning: 192.168.1.20 is not a loopback address: {EXPOSED}\n")
        );
    }
}
